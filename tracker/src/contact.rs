//! Phones and emails in the one spelling Mindbox gets, so the same shopper is never two profiles and
//! what a ticket check compares is what Mindbox reads.
//!
//! * Phones: spaces, `(`, `)`, `-` and `+` are dropped (Mindbox's Bitrix module does the same); what is
//!   left must be ASCII digits (`٧` or `７` are not digits here, though .NET's `char.IsDigit` says they
//!   are); an 11-digit number starting with `8` becomes `7…`, a 10-digit one gets a leading `7` (Russian
//!   numbers, as a third-party Mindbox module does it; our reading). 5 to 15 digits (E.164).
//! * Emails: trimmed and lower-cased (Mindbox compares them without case; our reading); one `@` with
//!   something on both sides and no whitespace. Lower case is ASCII and Cyrillic (`А`–`Я`, `Ё`) only:
//!   the other scripts' case tables would cost the tracker kilobytes, and the tracker and the collector
//!   must spell an address the same way.
//!
//! Both functions are idempotent (a normalised value normalises to itself), and the tracker (typed
//! and raw calls) and the collector (every route) call these same two functions.

/// A phone in Mindbox's spelling (digits only, international), or why it is not a phone.
pub fn normalize_phone(raw: &str) -> Result<String, &'static str> {
    let mut digits = String::with_capacity(raw.len() + 1);
    for c in raw.bytes() {
        match c {
            b'0'..=b'9' => digits.push(c as char),
            b' ' | b'(' | b')' | b'-' | b'+' => {}
            _ => return Err("a phone holds only the digits 0-9 and spaces, +, (, ), -"),
        }
    }
    // Written without `replace_range`/`insert`, which cost the tracker half a kilobyte.
    let national = match digits.len() {
        11 if digits.starts_with('8') => &digits[1..],
        10 => &digits[..],
        _ => "",
    };
    if !national.is_empty() {
        let mut seven = String::with_capacity(11);
        seven.push('7');
        seven.push_str(national);
        digits = seven;
    }
    if !(5..=15).contains(&digits.len()) {
        return Err("a phone has 5 to 15 digits");
    }
    Ok(digits)
}

/// An email in Mindbox's spelling (trimmed, lower case), or why it is not an email.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let email: String = raw.trim_ascii().chars().map(lower).collect();
    let b = email.as_bytes();
    let at = b.iter().position(|&c| c == b'@').unwrap_or(0);
    let one_at = b.iter().filter(|&&c| c == b'@').count() == 1;
    if at > 0 && at + 1 < b.len() && one_at && !email.chars().any(blank) {
        Ok(email)
    } else {
        Err("an email is name@domain, without spaces")
    }
}

/// The blanks an email never holds: ASCII whitespace and the no-break space (Unicode's full
/// whitespace table would cost the tracker bytes for characters no keyboard types into an address).
/// Only ASCII whitespace is trimmed from the ends; a no-break space anywhere is refused.
fn blank(c: char) -> bool {
    c.is_ascii_whitespace() || c == '\u{a0}'
}

/// ASCII and Cyrillic lower case (`Ё` → `ё`); every other character as it is.
fn lower(c: char) -> char {
    match c {
        'A'..='Z' | 'А'..='Я' => char::from_u32(c as u32 + 32).unwrap_or(c),
        'Ё' => 'ё',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn cyrillic_addresses_are_lower_cased_too() {
        assert_eq!(
            normalize_email("Ёлка@Пример.РФ"),
            Ok("ёлка@пример.рф".into())
        );
    }

    #[test]
    fn phones_in_every_spelling_become_one() {
        for p in [
            "79001112233",
            "+7 (900) 111-22-33",
            "8 900 111 22 33",
            "9001112233",
            " +79001112233 ",
            "+7(900)111-22-33",
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
            "\t79001112233",
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
        for e in [
            "",
            "anna",
            "@x.ru",
            "a@",
            "a@@x.ru",
            "a b@x.ru",
            "a@x@y",
            "a\u{a0}b@x.ru",
            "a@x.ru\u{a0}b",
        ] {
            assert!(normalize_email(e).is_err(), "{e:?}");
        }
    }
}

/// Property tests (host only: proptest does not build for the browser tests).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn normalising_a_phone_twice_changes_nothing_and_leaves_digits_only(raw in "[ 0-9()+\\-]{0,20}|\\PC{0,20}") {
            if let Ok(once) = normalize_phone(&raw) {
                prop_assert!(once.bytes().all(|b| b.is_ascii_digit()), "{once:?}");
                prop_assert!((5..=15).contains(&once.len()));
                prop_assert_eq!(normalize_phone(&once), Ok(once.clone()));
            }
        }

        #[test]
        fn normalising_an_email_twice_changes_nothing(raw in "\\PC{0,12}@\\PC{0,12}|[ A-Za-zА-ЯЁа-яё.]{1,8}@[A-Za-zА-Я.]{1,8} ?") {
            if let Ok(once) = normalize_email(&raw) {
                prop_assert_eq!(normalize_email(&once), Ok(once.clone()));
                prop_assert_eq!(once.trim_ascii(), once.as_str());
                prop_assert!(!once.chars().any(|c| c.is_ascii_uppercase() || ('А'..='Я').contains(&c) || c == 'Ё'));
            }
        }
    }
}
