//! A tiny JSON tree for the typed API's arguments and the payloads the tracker builds, with a reader
//! and a writer for JSON text.
//!
//! The browser build carries no `serde_json`. The page's arguments arrive as JSON text (the JS shell's
//! `JSON.stringify`), are read into a [`Json`] tree ([`parse`]), and payloads are written back as text
//! ([`write`]). Numbers keep their JSON text ([`Json::Num`]), so the wasm needs neither float parsing
//! nor float formatting. Host tests check all of it against `serde_json`.

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, as its JSON text (`12`, `0.5`, `-3e-7`).
    Num(String),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, in insertion order.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An object from `(key, value)` pairs.
    pub fn obj(pairs: Vec<(&str, Json)>) -> Json {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    /// A string value.
    pub fn str(s: &str) -> Json {
        Json::Str(s.to_string())
    }

    /// A field of an object (the first of that name), or `None`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A field that is present and not `null`.
    pub fn field(&self, key: &str) -> Option<&Json> {
        self.get(key).filter(|v| **v != Json::Null)
    }

    /// A string, or a number's text (pages often give ids as numbers).
    pub fn text(&self) -> Option<&str> {
        match self {
            Json::Str(s) | Json::Num(s) => Some(s),
            _ => None,
        }
    }
}

/// Reads JSON text as `JSON.stringify` writes it, nesting at most `max_depth` levels. A `\uD800`–
/// `\uDFFF` escape that is not half of a pair (an emoji cut in half by `slice`) becomes U+FFFD.
/// `None` for anything that is not one JSON value ([`parse_or_why`] says why).
pub fn parse(text: &str, max_depth: usize) -> Option<Json> {
    parse_or_why(text, max_depth).ok()
}

/// [`parse`], with the reason when it fails: `"nests too deeply"` or `"is not JSON"`.
pub fn parse_or_why(text: &str, max_depth: usize) -> Result<Json, &'static str> {
    let mut r = Reader {
        b: text.as_bytes(),
        i: 0,
        depth: max_depth,
        too_deep: false,
    };
    let v = r.value();
    r.ws();
    match v {
        Some(v) if r.i == r.b.len() => Ok(v),
        _ if r.too_deep => Err("nests too deeply"),
        _ => Err("is not JSON"),
    }
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
    too_deep: bool,
}

impl Reader<'_> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(|c| b" \t\n\r".contains(c)) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.b.get(self.i) == Some(&c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn word(&mut self, w: &[u8], v: Json) -> Option<Json> {
        self.b[self.i..].starts_with(w).then(|| {
            self.i += w.len();
            v
        })
    }

    fn value(&mut self) -> Option<Json> {
        self.ws();
        match *self.b.get(self.i)? {
            b'n' => self.word(b"null", Json::Null),
            b't' => self.word(b"true", Json::Bool(true)),
            b'f' => self.word(b"false", Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' | b'{' => {
                if self.depth == 0 {
                    self.too_deep = true;
                    return None;
                }
                self.depth -= 1;
                let v = self.container();
                self.depth += 1;
                v
            }
            _ => self.number(),
        }
    }

    fn container(&mut self) -> Option<Json> {
        let object = self.b[self.i] == b'{';
        self.i += 1;
        let close = if object { b'}' } else { b']' };
        let (mut items, mut fields) = (Vec::new(), Vec::new());
        if !self.eat(close) {
            loop {
                if object {
                    self.ws();
                    let k = self.string()?;
                    if !self.eat(b':') {
                        return None;
                    }
                    fields.push((k, self.value()?));
                } else {
                    items.push(self.value()?);
                }
                if self.eat(close) {
                    break;
                }
                if !self.eat(b',') {
                    return None;
                }
            }
        }
        Some(if object {
            Json::Obj(fields)
        } else {
            Json::Arr(items)
        })
    }

    fn number(&mut self) -> Option<Json> {
        let start = self.i;
        while self
            .b
            .get(self.i)
            .is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
        {
            self.i += 1;
        }
        let t = core::str::from_utf8(&self.b[start..self.i]).ok()?;
        let digits = t.trim_start_matches('-');
        let ok = digits.starts_with(|c: char| c.is_ascii_digit())
            && t.ends_with(|c: char| c.is_ascii_digit());
        ok.then(|| Json::Num(t.to_string()))
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = core::str::from_utf8(self.b.get(self.i..self.i + 4)?).ok()?;
        self.i += 4;
        u32::from_str_radix(h, 16).ok()
    }

    fn string(&mut self) -> Option<String> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = *self.b.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = *self.b.get(self.i)?;
                    self.i += 1;
                    let ch = match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => self.unicode()?,
                        b'"' | b'\\' | b'/' => e as char,
                        _ => return None,
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c => out.push(c),
            }
        }
    }

    /// After `\u`: one character, a surrogate pair, or U+FFFD for a lone surrogate.
    fn unicode(&mut self) -> Option<char> {
        let u = self.hex4()?;
        if (0xD800..0xDC00).contains(&u) && self.b[self.i..].starts_with(b"\\u") {
            let at = self.i;
            self.i += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                return char::from_u32(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
            }
            self.i = at;
        }
        Some(char::from_u32(u).unwrap_or('\u{fffd}'))
    }
}

/// Appends `v` as JSON text.
pub fn write(out: &mut String, v: &Json) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Num(n) => out.push_str(n),
        Json::Str(s) => push_str(out, s),
        Json::Arr(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, x);
            }
            out.push(']');
        }
        Json::Obj(fields) => {
            out.push('{');
            for (i, (k, x)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_str(out, k);
                out.push(':');
                write(out, x);
            }
            out.push('}');
        }
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
    fn reads_what_json_stringify_writes_and_writes_it_back() {
        for text in [
            r#"{"a":[1,-2.5,3e-7,true,false,null],"b":{"c":"d\"e\\f\n\u0001/"},"é":"😀"}"#,
            r#"[]"#,
            r#"{}"#,
            r#""s""#,
            r#"0"#,
        ] {
            let v = parse(text, 64).unwrap_or_else(|| panic!("{text}"));
            let mut out = String::new();
            write(&mut out, &v);
            let a: serde_json::Value = serde_json::from_str(text).unwrap();
            let b: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(a, b, "{text} → {out}");
        }
        let v = parse(r#" { "k" : [ 1 , "\ud83d\ude00" ] } "#, 64).unwrap();
        assert_eq!(
            v.get("k"),
            Some(&Json::Arr(vec![Json::Num("1".into()), Json::str("😀")]))
        );
        assert_eq!(
            parse(r#""cut \ud83d""#, 64),
            Some(Json::str("cut \u{fffd}"))
        );
        assert_eq!(
            parse(r#""\ude00\ud83dx""#, 64),
            Some(Json::str("\u{fffd}\u{fffd}x"))
        );
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\"}",
            "nul",
            "1 2",
            "-",
            "1.",
            "\"a",
            "{\"a\":1,}",
        ] {
            assert_eq!(parse(bad, 64), None, "{bad:?}");
        }
        assert!(parse(&format!("{}{}", "[".repeat(3), "]".repeat(3)), 3).is_some());
        assert!(parse(&format!("{}{}", "[".repeat(4), "]".repeat(4)), 3).is_none());
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
