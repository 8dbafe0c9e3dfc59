//! Phones and emails in the one spelling Mindbox gets, so the same shopper is never two profiles and
//! what a ticket check compares is what Mindbox reads.
//!
//! * Phones: spaces, `(`, `)`, `-` and `+` are dropped (Mindbox's Bitrix module does the same); what is
//!   left must be ASCII digits (`٧` or `７` are not digits here, though .NET's `char.IsDigit` says they
//!   are); an 11-digit number starting with `8` becomes `7…`, a 10-digit one gets a leading `7` (Russian
//!   numbers, as a third-party Mindbox module does it; our reading). 5 to 15 digits (E.164).
//! * Emails: trimmed and lower-cased (Mindbox compares them without case; our reading); one `@` with
//!   something on both sides and no whitespace.

/// A phone in Mindbox's spelling (digits only, international), or why it is not a phone.
pub fn normalize_phone(raw: &str) -> Result<String, &'static str> {
    let mut digits = String::with_capacity(raw.len());
    for c in raw.trim().chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '(' | ')' | '-' | '+' => {}
            _ => return Err("a phone holds only the digits 0-9 and spaces, +, (, ), -"),
        }
    }
    if digits.len() == 11 && digits.starts_with('8') {
        digits.replace_range(0..1, "7");
    } else if digits.len() == 10 {
        digits.insert(0, '7');
    }
    if !(5..=15).contains(&digits.len()) {
        return Err("a phone has 5 to 15 digits");
    }
    Ok(digits)
}

/// An email in Mindbox's spelling (trimmed, lower case), or why it is not an email.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let email = raw.trim().to_lowercase();
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(email)
    } else {
        Err("an email is name@domain, without spaces")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_in_every_spelling_become_one() {
        for p in [
            "79001112233",
            "+7 (900) 111-22-33",
            "8 900 111 22 33",
            "9001112233",
            " +79001112233 ",
        ] {
            assert_eq!(normalize_phone(p), Ok("79001112233".into()), "{p}");
        }
        assert_eq!(
            normalize_phone("+44 20 7946 0958"),
            Ok("442079460958".into())
        );
    }

    #[test]
    fn only_ascii_digits_are_digits() {
        for p in [
            "٧٩٠٠١١١٢٢٣٣",
            "７９００１１１２２３３",
            "7900111223३",
            "7900111a233",
            "79001112233\u{200b}",
            "",
            "+",
            "1234",
            "1234567890123456",
        ] {
            assert!(normalize_phone(p).is_err(), "{p:?}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email("  Anna.Petrova@Example.RU "),
            Ok("anna.petrova@example.ru".into())
        );
        for e in ["", "anna", "@x.ru", "a@", "a@@x.ru", "a b@x.ru", "a@x@y"] {
            assert!(normalize_email(e).is_err(), "{e:?}");
        }
    }
}
