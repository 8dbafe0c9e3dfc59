//! The typed API's event kinds and the Mindbox payload each one builds.
//!
//! Shapes follow Mindbox's v3 "Website" operations: product and category views, cart and wishlist
//! snapshots and single-line edits, and customer operations. Input checks say what was expected, so
//! the browser layer can print one clear console message and drop the call.

use crate::json::Json;

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
    /// A customer logged in.
    Authorize,
    /// A customer registered.
    Register,
    /// A customer edited their profile.
    EditCustomer,
    /// Someone subscribed (e.g. a newsletter form).
    Subscribe,
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
    Kind::Authorize,
    Kind::Register,
    Kind::EditCustomer,
    Kind::Subscribe,
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
            Kind::Authorize => "authorize",
            Kind::Register => "register",
            Kind::EditCustomer => "editCustomer",
            Kind::Subscribe => "subscribe",
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
            Kind::Authorize => "Website.AuthorizeCustomer",
            Kind::Register => "Website.RegisterCustomer",
            Kind::EditCustomer => "Website.EditCustomer",
            Kind::Subscribe => "Website.SubscribeCustomer",
        }
    }
}

/// A product reference: the shop's id in an id system (`website` by default).
#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    /// The product's id on the site.
    pub id: String,
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

/// Customer data for the customer operations. Only what is set is sent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Customer {
    /// Ids by id system, e.g. `[("websiteID", "u1")]`.
    pub ids: Vec<(String, String)>,
    /// Email.
    pub email: Option<String>,
    /// Mobile phone.
    pub mobile_phone: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Birth date, `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// Subscriptions: point of contact (`Email`, `Sms`, …) and whether subscribed.
    pub subscriptions: Vec<(String, bool)>,
    /// Custom fields, passed through.
    pub custom_fields: Option<Json>,
    /// The authentication ticket the shop's backend issued (required by the collector for ids,
    /// email and phone).
    pub ticket: Option<String>,
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

/// Checks customer fields.
pub fn check_customer(c: &Customer) -> Result<(), String> {
    if let Some(e) = &c.email {
        if !e.bytes().any(|c| c == b'@') || e.len() > 256 {
            return Err(format_expected("email", "an email address"));
        }
    }
    if let Some(d) = &c.birth_date {
        let b = d.as_bytes();
        let ok = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !ok {
            return Err(format_expected("birthDate", "YYYY-MM-DD"));
        }
    }
    for (system, id) in &c.ids {
        check_id(system, id)?;
    }
    Ok(())
}

fn product_ref(p: &Product) -> (&'static str, Json) {
    let ids = Json::obj(vec![(
        "ids",
        Json::obj(vec![("website", Json::str(&p.id))]),
    )]);
    (if p.group { "productGroup" } else { "product" }, ids)
}

fn line(l: &Line) -> Json {
    let (key, product) = product_ref(&l.product);
    let mut fields = vec![
        (key.to_string(), product),
        ("count".to_string(), Json::Num(l.count.clone())),
    ];
    if let Some(p) = &l.price {
        fields.push(("pricePerItem".to_string(), Json::Num(p.clone())));
    }
    Json::Obj(fields)
}

/// `{"viewProduct": {"product"|"productGroup": {"ids": {"website": id}}, "price"?}}`
pub fn view_product(product: &Product, price: Option<String>) -> Json {
    let (key, p) = product_ref(product);
    let mut fields = vec![(key.to_string(), p)];
    if let Some(price) = price {
        fields.push(("price".to_string(), Json::Num(price)));
    }
    Json::Obj(vec![("viewProduct".to_string(), Json::Obj(fields))])
}

/// `{"viewProductCategory": {"productCategory": {"ids": {"website": id}}}}`
pub fn view_category(id: &str) -> Json {
    Json::obj(vec![(
        "viewProductCategory",
        Json::obj(vec![(
            "productCategory",
            Json::obj(vec![("ids", Json::obj(vec![("website", Json::str(id))]))]),
        )]),
    )])
}

/// `{"productList": [{"product": …, "count": n, "pricePerItem": p}]}` — a cart or wishlist snapshot.
pub fn product_list(lines: &[Line]) -> Json {
    Json::obj(vec![(
        "productList",
        Json::Arr(lines.iter().map(line).collect()),
    )])
}

/// `{"addProductToList": {…}}`
pub fn add_to_list(l: &Line) -> Json {
    Json::obj(vec![("addProductToList", line(l))])
}

/// `{"removeProductFromList": {…}}`
pub fn remove_from_list(l: &Line) -> Json {
    Json::obj(vec![("removeProductFromList", line(l))])
}

/// `{}` (clear cart)
pub fn empty() -> Json {
    Json::Obj(Vec::new())
}

/// `{"customer": {…}}`
pub fn customer(c: &Customer) -> Json {
    let mut f: Vec<(String, Json)> = Vec::new();
    let mut put = |k: &str, v: Json| f.push((k.to_string(), v));
    if !c.ids.is_empty() {
        put(
            "ids",
            Json::Obj(
                c.ids
                    .iter()
                    .map(|(k, v)| (k.clone(), Json::str(v)))
                    .collect(),
            ),
        );
    }
    for (k, v) in [
        ("email", &c.email),
        ("mobilePhone", &c.mobile_phone),
        ("firstName", &c.first_name),
        ("lastName", &c.last_name),
        ("birthDate", &c.birth_date),
    ] {
        if let Some(v) = v {
            put(k, Json::str(v));
        }
    }
    if !c.subscriptions.is_empty() {
        put(
            "subscriptions",
            Json::Arr(
                c.subscriptions
                    .iter()
                    .map(|(p, s)| {
                        Json::obj(vec![
                            ("pointOfContact", Json::str(p)),
                            ("isSubscribed", Json::Bool(*s)),
                        ])
                    })
                    .collect(),
            ),
        );
    }
    if let Some(cf) = &c.custom_fields {
        put("customFields", cf.clone());
    }
    if let Some(t) = &c.ticket {
        put("authenticationTicket", Json::str(t));
    }
    Json::Obj(vec![("customer".to_string(), Json::Obj(f))])
}

/// A subscription: the customer, subscribed to email by default.
pub fn subscribe(c: &Customer) -> Json {
    let mut c = c.clone();
    if c.subscriptions.is_empty() {
        c.subscriptions.push(("Email".to_string(), true));
    }
    customer(&c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn to_value(j: &Json) -> Value {
        match j {
            Json::Null => Value::Null,
            Json::Bool(b) => json!(b),
            Json::Num(n) => serde_json::from_str(n).unwrap(),
            Json::Str(s) => json!(s),
            Json::Arr(a) => Value::Array(a.iter().map(to_value).collect()),
            Json::Obj(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), to_value(v))).collect())
            }
        }
    }

    fn p(id: &str) -> Product {
        Product {
            id: id.into(),
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
                    group: true
                },
                Some("150".into())
            )),
            json!({"viewProduct": {"productGroup": {"ids": {"website": "9"}}, "price": 150}})
        );
        assert_eq!(
            to_value(&view_category("42")),
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
    fn customer_payloads_carry_only_what_is_set() {
        let c = Customer {
            ids: vec![("websiteID".into(), "u1".into())],
            email: Some("a@b.ru".into()),
            ticket: Some("t".into()),
            ..Customer::default()
        };
        assert_eq!(
            to_value(&customer(&c)),
            json!({"customer": {"ids": {"websiteID": "u1"}, "email": "a@b.ru", "authenticationTicket": "t"}})
        );
        assert_eq!(
            to_value(&subscribe(&Customer {
                email: Some("a@b.ru".into()),
                ..Customer::default()
            })),
            json!({"customer": {"email": "a@b.ru", "subscriptions": [{"pointOfContact": "Email", "isSubscribed": true}]}})
        );
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
        assert!(check_customer(&Customer {
            email: Some("nope".into()),
            ..Customer::default()
        })
        .is_err());
        assert!(check_customer(&Customer {
            birth_date: Some("1990-1-1".into()),
            ..Customer::default()
        })
        .is_err());
        assert!(check_customer(&Customer {
            birth_date: Some("1990-01-01".into()),
            ..Customer::default()
        })
        .is_ok());
        for k in KINDS {
            assert_eq!(Kind::from_method(k.method()), Some(*k));
            assert!(crate::operation::DEFAULT_OPERATIONS.contains(&k.default_operation()));
        }
    }
}
