//! Mindbox operation names: their syntax and the defaults a shop starts from.

/// The operations a default Mindbox "Website" integration configures, allowed unless a shop says
/// otherwise. Names differ between Mindbox projects, so both sides take the list from configuration and
/// fall back to this one.
pub const DEFAULT_OPERATIONS: &[&str] = &[
    "Website.ViewProduct",
    "Website.ViewCategory",
    "Website.SetCart",
    "Website.AddToCart",
    "Website.RemoveFromCart",
    "Website.SetWishList",
    "Website.AddToWishList",
    "Website.RemoveFromWishList",
    "Website.ClearWishList",
    "Website.ClearCart",
    "Website.AuthorizeCustomer",
    "Website.RegisterCustomer",
    "Website.EditCustomer",
    "Website.SubscribeCustomer",
    "Website.AddToWaitingList",
];

/// Longest operation name accepted.
pub const MAX_OPERATION_LEN: usize = 250;

/// True for a syntactically valid operation system name: 1–250 of ASCII letters, digits, `.`, `-`, `_`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_OPERATION_LEN
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

/// Parses a comma-separated operation list (configuration), ignoring blanks; `None` or an empty list
/// gives [`DEFAULT_OPERATIONS`]. Names that are not valid are returned as the error.
pub fn parse_list(list: Option<&str>) -> Result<Vec<String>, String> {
    let names: Vec<String> = list
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if let Some(bad) = names.iter().find(|n| !is_valid_name(n)) {
        return Err(format!(
            "invalid operation name {bad:?}: use letters, digits, '.', '-' or '_'"
        ));
    }
    if names.is_empty() {
        return Ok(DEFAULT_OPERATIONS.iter().map(|s| s.to_string()).collect());
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_valid_name("Website.ViewProduct"));
        assert!(is_valid_name("Mobile-App_v2.Login"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("Website ViewProduct"));
        assert!(!is_valid_name("Website/../v3"));
        assert!(!is_valid_name(&"a".repeat(251)));
    }

    #[test]
    fn lists() {
        assert_eq!(parse_list(None).unwrap().len(), DEFAULT_OPERATIONS.len());
        assert_eq!(
            parse_list(Some(" , ")).unwrap().len(),
            DEFAULT_OPERATIONS.len()
        );
        assert_eq!(parse_list(Some("A.B, C.D")).unwrap(), vec!["A.B", "C.D"]);
        assert!(parse_list(Some("A.B, C D")).unwrap_err().contains("C D"));
    }
}
