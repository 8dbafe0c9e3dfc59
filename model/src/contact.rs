//! Phones and emails in the one spelling Mindbox gets, so the same shopper is never two profiles and
//! what a ticket check compares is what Mindbox reads.
//!
//! * Phones: spaces (also tab and no-break space), `(`, `)`, `-` and `.` are dropped (Mindbox's Bitrix
//!   module drops the first few too); what is left must be ASCII digits (`٧` or `７` are not digits here,
//!   though .NET's `char.IsDigit` says they are), with at most a `+` before them. Written with `+`, or
//!   after the international prefix `00` or Russia's `8 10`, a number is international as it stands.
//!   Without, it is read as Russian: 11 digits starting with `8` become `7…`, 10 digits get a leading
//!   `7` (as a third-party Mindbox module does it; our reading). An international number that would
//!   read as another one once its `+` is gone (10 digits, or 11 starting with `8`: `+84 912 345 678`
//!   would become the Russian `74912345678`) is refused rather than sent as someone else's. 5 to 15
//!   digits (E.164).
//! * Emails: trimmed of ASCII whitespace and lower-cased (Mindbox compares them without case; our
//!   reading); one `@` with something on both sides; at most 256 bytes; only ASCII (no blanks or
//!   control characters) and the Russian Cyrillic letters. Other scripts are refused, not guessed at:
//!   their case rules (`K` for Kelvin, dotless `ı`, `ſ`) would cost the tracker kilobytes of tables, and
//!   a letter Mindbox might fold to another address's must not pass a ticket check for this one.
//!
//! Both functions are idempotent (a normalised value normalises to itself), and the tracker (typed
//! and raw calls) and the collector (every route) call these same two functions.

/// A phone in Mindbox's spelling (digits only, international), or why it is not a phone.
pub fn normalize_phone(raw: &str) -> Result<String, &'static str> {
    let mut digits = String::with_capacity(raw.len() + 1);
    let mut plus = false;
    for c in raw.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() && !plus => plus = true,
            ' ' | '\t' | '\u{a0}' | '(' | ')' | '-' | '.' => {}
            _ => return Err(
                "a phone holds only the digits 0-9 (after at most one +) and spaces, (, ), -, .",
            ),
        }
    }
    let phone = if plus { digits } else { national(digits) };
    if national(phone.clone()) != phone {
        return Err("an international number of 10 digits, or of 11 starting with 8, reads as a Russian one without its +");
    }
    if !(5..=15).contains(&phone.len()) {
        return Err("a phone has 5 to 15 digits");
    }
    // +7 (Russia, Kazakhstan) numbers have ten digits after the 7: `+7 8 912…` is a trunk 8 too
    // many, which a reader that strips it would text to another spelling of this phone.
    if phone.as_bytes()[0] == b'7' && phone.len() != 11 {
        return Err("a +7 number has 10 digits after the 7");
    }
    Ok(phone)
}

/// Digits written without `+`: after `00` or `810` international, else Russian (`8…` → `7…`,
/// ten digits → `7` + digits).
fn national(digits: String) -> String {
    // Written without `replace_range`/`insert`/`concat`, which cost the tracker half a kilobyte.
    let b = digits.as_bytes();
    let (keep, seven) = match b.len() {
        n if n > 2 && b[0] == b'0' && b[1] == b'0' => (2, false),
        n if n > 11 && b.starts_with(b"810") => (3, false),
        11 if b[0] == b'8' => (1, true),
        10 => (0, true),
        _ => return digits,
    };
    let mut out = String::with_capacity(11);
    if seven {
        out.push('7');
    }
    out.push_str(&digits[keep..]);
    out
}

/// An email in Mindbox's spelling (trimmed, lower case), or why it is not an email.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let email: String = raw.trim_ascii().chars().map(lower).collect();
    let b = email.as_bytes();
    let at = b.iter().position(|&c| c == b'@').unwrap_or(0);
    let one_at = b.iter().filter(|&&c| c == b'@').count() == 1;
    let letters = email
        .chars()
        .all(|c| c.is_ascii_graphic() || ('а'..='я').contains(&c) || c == 'ё');
    if at > 0 && at + 1 < b.len() && one_at && letters && b.len() <= 256 {
        Ok(email)
    } else {
        Err("an email is name@domain in Latin or Russian letters, without spaces, at most 256 bytes")
    }
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
        let long = format!("{}@x.ru", "a".repeat(251));
        assert!(normalize_email(&long).is_ok() && normalize_email(&format!("a{long}")).is_err());
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
            "8.900.111.22.33",
            "\t+7\u{a0}900\u{a0}111-22-33",
            "00 7 900 111 22 33",
            "8 10 7 900 111 22 33",
        ] {
            assert_eq!(normalize_phone(p), Ok("79001112233".into()), "{p}");
        }
        for (p, intl) in [
            ("+44 20 7946 0958", "442079460958"),
            ("8 10 44 20 7946 0958", "442079460958"),
            ("0044 20 7946 0958", "442079460958"),
            ("+375 29 123-45-67", "375291234567"),
        ] {
            assert_eq!(normalize_phone(p), Ok(intl.into()), "{p}");
        }
    }

    #[test]
    fn a_plus_7_number_has_eleven_digits() {
        for p in [
            "+7 8 912 345-67-89",
            "7 8 912 345 67 89",
            "+7 912 345 67",
            "007912345678901",
        ] {
            assert!(normalize_phone(p).is_err(), "{p}");
        }
    }

    #[test]
    fn a_foreign_number_never_becomes_a_russian_one() {
        // With their +, these are Lebanese, Vietnamese, Singaporean: without it they would read as
        // the Russian 79613123456, 74912345678 and 76591234567.
        for p in [
            "+961 3 123 456",
            "+84 912 345 678",
            "+65 9123 4567",
            "0084912345678",
        ] {
            assert!(normalize_phone(p).is_err(), "{p}");
        }
        assert!(normalize_phone("79001112233+").is_err());
        assert!(normalize_phone("++79001112233").is_err());
    }

    #[test]
    fn only_ascii_digits_are_digits() {
        for p in [
            "٧٩٠٠١١١٢٢٣٣",
            "７９００１１１２２３３",
            "7900111223३",
            "7900111a233",
            "79001112233\u{200b}",
            "7900111/2233",
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
        fn normalising_a_phone_twice_changes_nothing_and_leaves_digits_only(raw in "\\+?[ 0-9()\\-.]{0,20}|[0-9]{5,15}|\\PC{0,20}") {
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
