//! UUIDs as Mindbox uses them: lower-case, hyphenated, version 4.
//!
//! Written by hand rather than with the `uuid` crate: the tracker only needs to format 16 random bytes
//! and to recognise the textual form, and every byte of the tracker is paid by every shop visitor.

/// Formats 16 random bytes as a lower-case hyphenated UUID v4 (sets the version and variant bits).
pub fn v4_from_bytes(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0x0f) as usize] as char);
    }
    out
}

/// True for the canonical textual form: 36 characters, lower-case hex, hyphens at 8, 13, 18 and 23.
///
/// Any version is accepted (a shop may already hold ids made by Mindbox's own tracker); upper case is not,
/// because Mindbox stores device ids as lower case and two spellings would split one shopper in two.
pub fn is_canonical(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_version_and_variant() {
        let id = v4_from_bytes([0xff; 16]);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert!(is_canonical(&id));
        let id = v4_from_bytes([0; 16]);
        assert_eq!(id, "00000000-0000-4000-8000-000000000000");
    }

    #[test]
    fn recognises_only_the_canonical_form() {
        assert!(is_canonical("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(!is_canonical("0F8FAD5B-D9CB-469F-A165-70867728950E"));
        assert!(!is_canonical("0f8fad5bd9cb469fa16570867728950e"));
        assert!(!is_canonical("0f8fad5b-d9cb-469f-a165-70867728950"));
        assert!(!is_canonical("0f8fad5b-d9cb-469f-a165-70867728950g"));
        assert!(!is_canonical(""));
    }
}
