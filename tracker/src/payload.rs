//! The typed API's event kinds and the Mindbox payload each one builds.
//!
//! Shapes follow Mindbox's v3 "Website" operations: product and category views, and cart and
//! wishlist snapshots and single-line edits (the calls of every page; the customer calls and loyalty
//! questions of some pages are `tracker/js/extras.js`). Input checks say what was expected, so the
//! browser layer can print one clear console message and drop the call.

use crate::json::push_str;

/// An event kind of the typed API, named as a page calls it: `mindbox("viewProduct", {...})`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A product page was seen.
    ViewProduct,
    /// A category page was seen.
    ViewCategory,
    /// The whole cart (snapshot; an empty list clears it).
    SetCart,
    /// One line added to the cart.
    AddToCart,
    /// One line removed from the cart.
    RemoveFromCart,
    /// The cart was emptied.
    ClearCart,
    /// The whole wishlist (snapshot).
    SetWishlist,
    /// One line added to the wishlist.
    AddToWishlist,
    /// One line removed from the wishlist.
    RemoveFromWishlist,
    /// The wishlist was emptied.
    ClearWishlist,
}

/// Every kind, for lookups and docs.
pub const KINDS: &[Kind] = &[
    Kind::ViewProduct,
    Kind::ViewCategory,
    Kind::SetCart,
    Kind::AddToCart,
    Kind::RemoveFromCart,
    Kind::ClearCart,
    Kind::SetWishlist,
    Kind::AddToWishlist,
    Kind::RemoveFromWishlist,
    Kind::ClearWishlist,
];

impl Kind {
    /// The method name a page uses.
    pub fn method(self) -> &'static str {
        match self {
            Kind::ViewProduct => "viewProduct",
            Kind::ViewCategory => "viewCategory",
            Kind::SetCart => "setCart",
            Kind::AddToCart => "addToCart",
            Kind::RemoveFromCart => "removeFromCart",
            Kind::ClearCart => "clearCart",
            Kind::SetWishlist => "setWishlist",
            Kind::AddToWishlist => "addToWishlist",
            Kind::RemoveFromWishlist => "removeFromWishlist",
            Kind::ClearWishlist => "clearWishlist",
        }
    }

    /// The kind for a method name.
    pub fn from_method(name: &str) -> Option<Kind> {
        KINDS.iter().copied().find(|k| k.method() == name)
    }

    /// The Mindbox operation it maps to unless the shop overrides it
    /// (`mindbox("create", {operations: {viewProduct: "…"}})`).
    pub fn default_operation(self) -> &'static str {
        match self {
            Kind::ViewProduct => "Website.ViewProduct",
            Kind::ViewCategory => "Website.ViewCategory",
            Kind::SetCart => "Website.SetCart",
            Kind::AddToCart => "Website.AddToCart",
            Kind::RemoveFromCart => "Website.RemoveFromCart",
            Kind::ClearCart => "Website.ClearCart",
            Kind::SetWishlist => "Website.SetWishList",
            Kind::AddToWishlist => "Website.AddToWishList",
            Kind::RemoveFromWishlist => "Website.RemoveFromWishList",
            Kind::ClearWishlist => "Website.ClearWishList",
        }
    }
}

/// A product reference: the shop's id in an id system (`website` by default).
#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    /// The product's id on the site.
    pub id: String,
    /// The Mindbox id system the id belongs to (`create({productIdSystem})`, default `website`).
    pub system: String,
    /// A product group (model) rather than a single product (SKU).
    pub group: bool,
}

/// One cart or wishlist line.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The product.
    pub product: Product,
    /// How many (default 1), as JSON number text.
    pub count: String,
    /// Price of one item, if known, as JSON number text.
    pub price: Option<String>,
}

/// Longest id accepted.
const MAX_ID: usize = 256;

/// Checks a product id.
pub fn check_id(what: &str, id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID {
        Err(format_expected(
            what,
            "a non-empty id string of at most 256 characters",
        ))
    } else {
        Ok(())
    }
}

fn format_expected(what: &str, expected: &str) -> String {
    let mut s = String::with_capacity(what.len() + expected.len() + 12);
    s.push_str(what);
    s.push_str(": expected ");
    s.push_str(expected);
    s
}

/// Whether JSON number text is ≥ 0 (no minus sign; `-0` is not written by `JSON.stringify`).
pub fn non_negative(num: &str) -> bool {
    !num.starts_with('-')
}

/// Whether JSON number text is > 0: not negative, and a non-zero digit before any exponent.
pub fn positive(num: &str) -> bool {
    non_negative(num)
        && num
            .bytes()
            .take_while(|&c| c != b'e' && c != b'E')
            .any(|c| (b'1'..=b'9').contains(&c))
}

/// Checks a line's numbers.
pub fn check_line(line: &Line) -> Result<(), String> {
    check_id("productId", &line.product.id)?;
    if !positive(&line.count) {
        return Err(format_expected("count", "a positive number"));
    }
    if line.price.as_deref().is_some_and(|p| !non_negative(p)) {
        return Err(format_expected("price", "a number ≥ 0"));
    }
    Ok(())
}

// The payloads are written as JSON text directly: cheaper in wasm than building a tree first.

fn product_ref(out: &mut String, p: &Product) {
    out.push_str(if p.group {
        "\"productGroup\":"
    } else {
        "\"product\":"
    });
    ids(out, &p.system, &p.id);
}

/// `{"ids":{system:id}}`
fn ids(out: &mut String, system: &str, id: &str) {
    out.push_str("{\"ids\":{");
    push_str(out, system);
    out.push(':');
    push_str(out, id);
    out.push_str("}}");
}

fn line(out: &mut String, l: &Line) {
    out.push('{');
    product_ref(out, &l.product);
    out.push_str(",\"count\":");
    out.push_str(&l.count);
    if let Some(p) = &l.price {
        out.push_str(",\"pricePerItem\":");
        out.push_str(p);
    }
    out.push('}');
}

/// `{"viewProduct": {"product"|"productGroup": {"ids": {"website": id}}, "price"?}}`
pub fn view_product(product: &Product, price: Option<String>) -> String {
    let mut out = String::from("{\"viewProduct\":{");
    product_ref(&mut out, product);
    if let Some(price) = price {
        out.push_str(",\"price\":");
        out.push_str(&price);
    }
    out.push_str("}}");
    out
}

/// `{"viewProductCategory": {"productCategory": {"ids": {system: id}}}}`
pub fn view_category(system: &str, id: &str) -> String {
    let mut out = String::from("{\"viewProductCategory\":{\"productCategory\":");
    ids(&mut out, system, id);
    out.push_str("}}");
    out
}

/// `{"productList": [line, …]}` (a whole cart or wishlist).
pub fn product_list(lines: &[Line]) -> String {
    let mut out = String::from("{\"productList\":[");
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        line(&mut out, l);
    }
    out.push_str("]}");
    out
}

/// `{"addProductToList": line}`
pub fn add_to_list(l: &Line) -> String {
    wrapped("{\"addProductToList\":", l)
}

/// `{"removeProductFromList": line}`
pub fn remove_from_list(l: &Line) -> String {
    wrapped("{\"removeProductFromList\":", l)
}

fn wrapped(head: &str, l: &Line) -> String {
    let mut out = String::from(head);
    line(&mut out, l);
    out.push('}');
    out
}

/// `{}`
pub fn empty() -> String {
    "{}".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn to_value(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn p(id: &str) -> Product {
        Product {
            id: id.into(),
            system: "website".into(),
            group: false,
        }
    }

    #[test]
    fn catalog_payloads_match_mindbox_shapes() {
        assert_eq!(
            to_value(&view_product(&p("123"), None)),
            json!({"viewProduct": {"product": {"ids": {"website": "123"}}}})
        );
        assert_eq!(
            to_value(&view_product(
                &Product {
                    id: "9".into(),
                    system: "bitrixId".into(),
                    group: true
                },
                Some("150".into())
            )),
            json!({"viewProduct": {"productGroup": {"ids": {"bitrixId": "9"}}, "price": 150}})
        );
        assert_eq!(
            to_value(&view_category("website", "42")),
            json!({"viewProductCategory": {"productCategory": {"ids": {"website": "42"}}}})
        );
    }

    #[test]
    fn cart_payloads_match_mindbox_shapes() {
        let l = Line {
            product: p("123"),
            count: "2".into(),
            price: Some("150".into()),
        };
        assert_eq!(
            to_value(&product_list(std::slice::from_ref(&l))),
            json!({"productList": [{"product": {"ids": {"website": "123"}}, "count": 2, "pricePerItem": 150}]})
        );
        assert_eq!(to_value(&product_list(&[])), json!({"productList": []}));
        assert_eq!(
            to_value(&add_to_list(&l))["addProductToList"]["count"],
            json!(2)
        );
        assert_eq!(
            to_value(&remove_from_list(&l))["removeProductFromList"]["product"]["ids"]["website"],
            "123"
        );
        assert_eq!(to_value(&empty()), json!({}));
    }

    #[test]
    fn input_checks_say_what_was_expected() {
        assert!(check_line(&Line {
            product: p(""),
            count: "1".into(),
            price: None
        })
        .unwrap_err()
        .contains("productId"));
        assert!(check_line(&Line {
            product: p("1"),
            count: "0".into(),
            price: None
        })
        .unwrap_err()
        .contains("positive"));
        assert!(check_line(&Line {
            product: p("1"),
            count: "1".into(),
            price: Some("-1".into())
        })
        .is_err());
        let types = include_str!("../js/mindbox.d.ts");
        for k in KINDS {
            let quoted = format!("\"{}\"", k.method());
            assert!(types.contains(&quoted), "mindbox.d.ts lacks {quoted}");
            assert_eq!(Kind::from_method(k.method()), Some(*k));
            assert!(crate::operation::DEFAULT_OPERATIONS.contains(&k.default_operation()));
        }
    }
}
