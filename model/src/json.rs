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
        text,
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
    text: &'a str,
    b: &'a [u8],
    i: usize,
    depth: usize,
    too_deep: bool,
}

impl Reader<'_> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
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

    /// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, kept as its text.
    fn number(&mut self) -> Option<Json> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return None,
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !self.digits() {
                return None;
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !self.digits() {
                return None;
            }
        }
        Some(Json::Num(self.text.get(start..self.i)?.to_string()))
    }

    /// Skips ASCII digits; whether there was one.
    fn digits(&mut self) -> bool {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i > start
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut n = 0;
        for &c in self.b.get(self.i..self.i + 4)? {
            n = n * 16 + (c as char).to_digit(16)?;
        }
        self.i += 4;
        Some(n)
    }

    fn string(&mut self) -> Option<String> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        let mut out = String::new();
        loop {
            // Plain text up to the next quote or backslash, copied as it is (it is UTF-8 already).
            let start = self.i;
            while self.b.get(self.i).is_some_and(|&c| c != b'"' && c != b'\\') {
                self.i += 1;
            }
            out.push_str(self.text.get(start..self.i)?);
            let c = *self.b.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return Some(out),
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
                    out.push(ch);
                }
                _ => return None,
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
pub fn push_u64(out: &mut String, n: u64) {
    if n >= 10 {
        push_u64(out, n / 10);
    }
    out.push((b'0' + (n % 10) as u8) as char);
}

/// String concatenation without `format!` (which costs kilobytes of wasm).
pub fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
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
    fn reads_what_json_stringify_writes_and_writes_it_back() {
        for text in [
            r#"{"a":[1,-2.5,3e-7,-0.5E+3,0,true,false,null],"b":{"c":"d\"e\\f\n\u0001/"},"é":"😀"}"#,
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
            "01",
            "1.e5",
            "--1",
            "1e5e5",
            "1+2",
            "+1",
            ".5",
            "1e",
            "[-]",
        ] {
            assert_eq!(parse(bad, 64), None, "{bad:?}");
        }
        assert!(parse(&format!("{}{}", "[".repeat(3), "]".repeat(3)), 3).is_some());
        assert!(parse(&format!("{}{}", "[".repeat(4), "]".repeat(4)), 3).is_none());
    }
}
