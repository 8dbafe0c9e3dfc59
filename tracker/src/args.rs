//! Reading the typed API's arguments (a [`Json`] tree of the page's argument) into the model's types,
//! with messages that say what was expected.

use crate::json::{concat, Json};
use crate::payload::{self, Line, Product};

/// An optional number field, as its JSON text.
fn opt_num(v: &Json, what: &str) -> Result<Option<String>, String> {
    match v.field(what) {
        None => Ok(None),
        Some(Json::Num(n)) => Ok(Some(n.clone())),
        Some(_) => Err(concat(&[what, ": expected a number"])),
    }
}

/// An optional text field (a string, or a number's text).
fn opt_text(v: &Json, what: &str) -> Option<String> {
    v.field(what).and_then(Json::text).map(String::from)
}

/// `{productId}` or `{productGroupId}`, an id in the id `system`.
pub fn product(v: &Json, system: &str) -> Result<Product, String> {
    let (id, group) = match (opt_text(v, "productId"), opt_text(v, "productGroupId")) {
        (Some(id), _) => (id, false),
        (None, Some(id)) => (id, true),
        (None, None) => return Err("expected {productId: \"…\"} or {productGroupId: \"…\"}".into()),
    };
    payload::check_id("productId", &id)?;
    Ok(Product {
        id,
        system: system.to_string(),
        group,
    })
}

/// `{productId, count?, price?}`.
pub fn line(v: &Json, system: &str) -> Result<Line, String> {
    let l = Line {
        product: product(v, system)?,
        count: opt_num(v, "count")?.unwrap_or_else(|| "1".into()),
        price: opt_num(v, "price")?,
    };
    payload::check_line(&l)?;
    Ok(l)
}

/// An array of lines, or `{items: [...]}`.
pub fn lines(v: &Json, system: &str) -> Result<Vec<Line>, String> {
    let list = match v {
        Json::Arr(_) => Some(v),
        _ => v.get("items"),
    };
    let Some(Json::Arr(items)) = list else {
        return Err("expected an array of {productId, count, price} (or {items: [...]})".into());
    };
    items.iter().map(|l| line(l, system)).collect()
}

/// `viewProduct`'s `price`.
pub fn price(v: &Json) -> Result<Option<String>, String> {
    opt_num(v, "price")
}

/// `{categoryId}`.
pub fn category(v: &Json) -> Result<String, String> {
    let id = opt_text(v, "categoryId").ok_or("expected {categoryId: \"…\"}")?;
    payload::check_id("categoryId", &id)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn j(text: &str) -> Json {
        parse(text, 64).unwrap()
    }

    #[test]
    fn reads_products_and_lines_saying_what_was_expected() {
        assert_eq!(
            product(&j(r#"{"productId":7}"#), "website").unwrap().id,
            "7"
        );
        assert!(
            product(&j(r#"{"productGroupId":"g"}"#), "website")
                .unwrap()
                .group
        );
        assert!(product(&j(r#"{"productId":null}"#), "website").is_err());
        let l = lines(
            &j(r#"{"items":[{"productId":"1","count":2,"price":0}]}"#),
            "website",
        )
        .unwrap();
        assert_eq!(
            (l[0].count.as_str(), l[0].price.as_deref()),
            ("2", Some("0"))
        );
        assert_eq!(
            line(&j(r#"{"productId":"1"}"#), "website").unwrap().count,
            "1"
        );
        for bad in [
            r#"{"productId":"1","count":0}"#,
            r#"{"productId":"1","count":"2"}"#,
            r#"{"productId":"1","price":-1}"#,
        ] {
            assert!(line(&j(bad), "website").is_err(), "{bad}");
        }
    }
}
