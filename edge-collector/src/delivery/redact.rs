//! Personal data kept out of log lines: Mindbox's validation messages (and other answers) can quote
//! the emails and phones of the event they refuse, and a log is read by more people than the ledger.

/// `text` with every email-like word (`a@b`) masked as `***@***` and every run of seven or more
/// digits (with spaces, `-`, `.`, `(`, `)` and a leading `+` inside it, as phones are written) masked
/// but for its last two.
pub fn mask_personal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in split_keeping(text) {
        if word.contains('@') && !word.starts_with('@') && !word.ends_with('@') {
            out.push_str("***@***");
        } else {
            out.push_str(word);
        }
    }
    mask_digits(&out)
}

/// Splits `text` into words and the separators between them, both kept, so they join back to it.
fn split_keeping(text: &str) -> Vec<&str> {
    let boundary = |c: char| c.is_whitespace() || "\"'<>,;[]{}=".contains(c);
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if boundary(c) {
            if start < i {
                parts.push(&text[start..i]);
            }
            parts.push(&text[i..i + c.len_utf8()]);
            start = i + c.len_utf8();
        }
    }
    if start < text.len() {
        parts.push(&text[start..]);
    }
    parts
}

/// Whether `c` may sit between the digits of a phone.
fn inside_phone(c: char) -> bool {
    " \u{a0}\t-.()".contains(c)
}

/// Masks runs of seven or more digits (a phone, with its usual punctuation) but for the last two.
fn mask_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            || (matches!(chars[i], '+' | '(')
                && chars.get(i + 1).is_some_and(char::is_ascii_digit));
        if !starts {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < chars.len() && (chars[j].is_ascii_digit() || inside_phone(chars[j])) {
            j += 1;
        }
        // What follows the last digit is not the phone's.
        while j > i + 1 && !chars[j - 1].is_ascii_digit() {
            j -= 1;
        }
        let digits: Vec<char> = chars[i..j]
            .iter()
            .copied()
            .filter(char::is_ascii_digit)
            .collect();
        if digits.len() >= 7 {
            out.push_str("***");
            out.extend(&digits[digits.len() - 2..]);
        } else {
            out.extend(&chars[i..j]);
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_phones_are_masked_and_the_rest_kept() {
        let said = r#"Mindbox ValidationError: [{"message":"Клиент victim@example.com уже существует","location":"/customer/email"},{"message":"Телефон +7 (912) 345-67-89 / 79123456789 / 8 912 345 67 89 занят"}] HTTP 503, attempt 12"#;
        let masked = mask_personal(said);
        assert!(
            !masked.contains("victim") && !masked.contains("example.com"),
            "{masked}"
        );
        assert!(
            !masked.contains("79123456789") && !masked.contains("345-67"),
            "{masked}"
        );
        assert!(
            !masked.contains("912") && !masked.contains("345 67"),
            "{masked}"
        );
        assert!(
            masked.contains("***@***") && masked.contains("***89"),
            "{masked}"
        );
        assert!(
            masked.contains("/customer/email") && masked.contains("HTTP 503, attempt 12"),
            "{masked}"
        );
        assert_eq!(mask_personal("no data here: 42"), "no data here: 42");
    }
}
