//! A tiny JSON tree for the payloads the tracker builds, and a writer for JSON text.
//!
//! The browser build carries no `serde_json`: the typed API builds a [`Json`] tree (numbers stay `f64`
//! and are turned into JS numbers, so the wasm needs no float formatting), and batches are written as
//! text with [`push_str`] / [`push_u64`]. Host tests check both against `serde_json`.

/// A JSON value built by the tracker.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number.
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, in insertion order.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An object from `(key, value)` pairs.
    pub fn obj<const N: usize>(pairs: [(&str, Json); N]) -> Json {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    /// A string value.
    pub fn str(s: &str) -> Json {
        Json::Str(s.to_string())
    }
}

/// Appends `s` as a JSON string literal (quotes, escapes).
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends an unsigned integer.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(core::str::from_utf8(&buf[i..]).unwrap_or("0"));
}

/// Makes JSON text (as `JSON.stringify` writes it) safe for the collector's reader: a `\\uD800`–`\\uDFFF`
/// escape that is not half of a pair (an emoji cut in half by `slice`) becomes `\\ufffd`. Returns the
/// fixed text when something was replaced, `None` when the text was fine, and an error when it nests
/// deeper than `max_depth`.
pub fn well_formed(text: &str, max_depth: usize) -> Result<Option<String>, &'static str> {
    let b = text.as_bytes();
    let unit = |i: usize| -> Option<u16> {
        let hex = text.get(i + 2..i + 6)?;
        (b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u'))
            .then(|| u16::from_str_radix(hex, 16).ok())
            .flatten()
    };
    let mut lone: Vec<usize> = Vec::new();
    let (mut depth, mut in_str, mut i) = (0usize, false, 0usize);
    while i < b.len() {
        match b[i] {
            b'"' => in_str = !in_str,
            b'\\' if in_str => {
                if let Some(u) = unit(i) {
                    if (0xD800..0xDC00).contains(&u)
                        && unit(i + 6).is_some_and(|l| (0xDC00..0xE000).contains(&l))
                    {
                        i += 12;
                        continue;
                    }
                    if (0xD800..0xE000).contains(&u) {
                        lone.push(i);
                    }
                    i += 6;
                    continue;
                }
                i += 1;
            }
            b'{' | b'[' if !in_str => {
                depth += 1;
                if depth > max_depth {
                    return Err("data nests too deeply");
                }
            }
            b'}' | b']' if !in_str => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    if lone.is_empty() {
        return Ok(None);
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for at in lone {
        out.push_str(&text[from..at]);
        out.push_str("\\ufffd");
        from = at + 6;
    }
    out.push_str(&text[from..]);
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_like_serde_json() {
        for s in [
            "plain",
            "кириллица",
            "q\"b\\s",
            "a\nb\tc\r",
            "\u{1}\u{1f}",
            "😀",
        ] {
            let mut out = String::new();
            push_str(&mut out, s);
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
        }
    }

    #[test]
    fn integers() {
        for n in [0u64, 7, 10, 1_795_000_000_000, u64::MAX] {
            let mut out = String::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        let fixed = |t: &str| well_formed(t, 64).unwrap();
        assert_eq!(fixed(r#"{"a":"ok 😀"}"#), None);
        assert_eq!(fixed(r#"{"a":"\ud83d\ude00"}"#), None);
        assert_eq!(
            fixed(r#"{"a":"cut \ud83d"}"#).as_deref(),
            Some(r#"{"a":"cut \ufffd"}"#)
        );
        assert_eq!(
            fixed(r#"{"a":"\ude00x\ud83d\ud83d\ude00"}"#).as_deref(),
            Some(r#"{"a":"\ufffdx\ufffd\ud83d\ude00"}"#)
        );
        // An escaped backslash followed by "ud83d" is text, not an escape.
        assert_eq!(fixed(r#"{"a":"\\ud83d"}"#), None);
        let out = fixed(r#"{"a":"\udc00"}"#).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&out).unwrap()["a"],
            "\u{fffd}"
        );
        assert!(serde_json::from_str::<serde_json::Value>(r#"{"a":"\udc00"}"#).is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = |n: usize| format!("{{\"a\":{}1{}}}", "[".repeat(n), "]".repeat(n));
        assert!(well_formed(&deep(63), 64).is_ok());
        assert!(well_formed(&deep(64), 64).is_err());
        assert!(
            well_formed(r#"{"a":"[[[[[["}"#, 2).is_ok(),
            "brackets in strings do not count"
        );
    }
}
