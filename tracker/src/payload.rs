//! The typed API's event kinds and the Mindbox payload each one builds.
//!
//! Shapes follow Mindbox's v3 "Website" operations: product and category views, cart and wishlist
//! snapshots and single-line edits, and customer operations. Input checks say what was expected, so
//! the browser layer can print one clear console message and drop the call.

use crate::contact;
use crate::json::{concat, push_str};

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
    /// A customer logged in.
    Authorize,
    /// A customer registered.
    Register,
    /// A customer edited their profile.
    EditCustomer,
    /// Someone subscribed (e.g. a newsletter form).
    Subscribe,
    /// A question, not an event: the customer's loyalty balance (through `/v1/sync`).
    GetBalance,
    /// A question: the customer's points history.
    GetPointsHistory,
    /// A question: the customer's loyalty tier (a segment).
    GetTier,
    /// A question: what this cart costs and the points it will earn (any visitor).
    CalculateCart,
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
    Kind::Authorize,
    Kind::Register,
    Kind::EditCustomer,
    Kind::Subscribe,
    Kind::GetBalance,
    Kind::GetPointsHistory,
    Kind::GetTier,
    Kind::CalculateCart,
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
            Kind::Authorize => "authorize",
            Kind::Register => "register",
            Kind::EditCustomer => "editCustomer",
            Kind::Subscribe => "subscribe",
            Kind::GetBalance => "getBalance",
            Kind::GetPointsHistory => "getPointsHistory",
            Kind::GetTier => "getTier",
            Kind::CalculateCart => "calculateCart",
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
            Kind::Authorize => "Website.AuthorizeCustomer",
            Kind::Register => "Website.RegisterCustomer",
            Kind::EditCustomer => "Website.EditCustomer",
            Kind::Subscribe => "Website.SubscribeCustomer",
            Kind::GetBalance => "Website.GetCustomerBalance",
            Kind::GetPointsHistory => "Website.GetCustomerBonusPointsHistory",
            Kind::GetTier => "Website.GetCustomerSegments",
            // `Website.CalculateUnauthorizedCart` when the call names no customer.
            Kind::CalculateCart => "Website.CalculateAuthorizedCart",
        }
    }

    /// A question the collector asks Mindbox at once (`/v1/sync`), answered to the page's callbacks;
    /// nothing is stored.
    pub fn is_question(self) -> bool {
        matches!(
            self,
            Kind::GetBalance | Kind::GetPointsHistory | Kind::GetTier | Kind::CalculateCart
        )
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

/// One subscription of a customer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Subscription {
    /// Point of contact: `Email`, `Sms`, `Viber`, `Mobilepush`, `Webpush`.
    pub point: String,
    /// Subscribed (`true`) or unsubscribed.
    pub on: bool,
    /// The brand, where the Mindbox project has several.
    pub brand: Option<String>,
    /// The topic (a subscription category), where the project uses them.
    pub topic: Option<String>,
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
    pub subscriptions: Vec<Subscription>,
    /// Whether the page gave `subscriptions` at all (an explicit `[]` is not "subscribe to Email").
    pub subscriptions_given: bool,
    /// Custom fields, passed through: a JSON object's text.
    pub custom_fields: Option<String>,
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

/// Checks customer fields, and puts the email and phone in Mindbox's spelling ([`contact`]).
pub fn check_customer(c: &mut Customer) -> Result<(), String> {
    if let Some(e) = &mut c.email {
        *e = contact::normalize_email(e).map_err(|why| concat(&["email: ", why]))?;
    }
    if let Some(p) = &mut c.mobile_phone {
        *p = contact::normalize_phone(p).map_err(|why| concat(&["mobilePhone: ", why]))?;
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

/// `{"customer": {…}}` with only what is set.
pub fn customer(c: &Customer) -> String {
    customer_subscribed(c, false)
}

/// [`customer`]; with `email_by_default`, subscribed to `Email` when no subscription is given.
fn customer_subscribed(c: &Customer, email_by_default: bool) -> String {
    let mut out = String::from("{\"customer\":{");
    let key = |out: &mut String, k: &str| {
        if !out.ends_with('{') {
            out.push(',');
        }
        push_str(out, k);
        out.push(':');
    };
    if !c.ids.is_empty() {
        key(&mut out, "ids");
        out.push('{');
        for (k, v) in &c.ids {
            key(&mut out, k);
            push_str(&mut out, v);
        }
        out.push('}');
    }
    for (k, v) in [
        ("email", &c.email),
        ("mobilePhone", &c.mobile_phone),
        ("firstName", &c.first_name),
        ("lastName", &c.last_name),
        ("birthDate", &c.birth_date),
    ] {
        if let Some(v) = v {
            key(&mut out, k);
            push_str(&mut out, v);
        }
    }
    let email = [Subscription {
        point: "Email".to_string(),
        on: true,
        brand: None,
        topic: None,
    }];
    let subscriptions = if !c.subscriptions_given && email_by_default {
        &email[..]
    } else {
        &c.subscriptions[..]
    };
    if !subscriptions.is_empty() {
        key(&mut out, "subscriptions");
        out.push('[');
        for (i, s) in subscriptions.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"pointOfContact\":");
            push_str(&mut out, &s.point);
            for (k, v) in [(",\"brand\":", &s.brand), (",\"topic\":", &s.topic)] {
                if let Some(v) = v {
                    out.push_str(k);
                    push_str(&mut out, v);
                }
            }
            out.push_str(if s.on {
                ",\"isSubscribed\":true}"
            } else {
                ",\"isSubscribed\":false}"
            });
        }
        out.push(']');
    }
    if let Some(cf) = &c.custom_fields {
        key(&mut out, "customFields");
        out.push_str(cf);
    }
    if let Some(t) = &c.ticket {
        key(&mut out, "authenticationTicket");
        push_str(&mut out, t);
    }
    out.push_str("}}");
    out
}

/// A question about a customer (`{"customer": …}`), with `extra` fields after it (`,"page":{…}`).
pub fn about(c: &Customer, extra: &str) -> String {
    let mut out = customer(c);
    out.pop();
    out.push_str(extra);
    out.push('}');
    out
}

/// A cart calculation: `{"customer"?: …, "order": {"lines": [{"lineNumber", "quantity",
/// "basePricePerItem", "product": …}]}}`; every line needs its price.
pub fn cart_calculation(c: Option<&Customer>, lines: &[Line]) -> Result<String, String> {
    let mut out = String::from("{");
    if let Some(c) = c {
        let text = customer(c);
        out.push_str(&text[1..text.len() - 1]);
        out.push(',');
    }
    out.push_str("\"order\":{\"lines\":[");
    for (i, l) in lines.iter().enumerate() {
        let price = l
            .price
            .as_deref()
            .ok_or("price: expected the price of one item")?;
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"lineNumber\":");
        crate::json::push_u64(&mut out, i as u64 + 1);
        out.push_str(",\"quantity\":");
        out.push_str(&l.count);
        out.push_str(",\"basePricePerItem\":");
        out.push_str(price);
        out.push(',');
        product_ref(&mut out, &l.product);
        out.push('}');
    }
    out.push_str("]}}");
    Ok(out)
}

/// [`customer`], subscribed to `Email` when no subscription is given.
pub fn subscribe(c: &Customer) -> String {
    customer_subscribed(c, true)
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
        // An explicit empty list is not "subscribe to Email"; brand and topic are carried.
        let given = Customer {
            email: Some("a@b.ru".into()),
            subscriptions_given: true,
            ..Customer::default()
        };
        assert_eq!(
            to_value(&subscribe(&given)),
            json!({"customer": {"email": "a@b.ru"}})
        );
        let branded = Customer {
            subscriptions: vec![Subscription {
                point: "Sms".into(),
                on: false,
                brand: Some("B".into()),
                topic: Some("news".into()),
            }],
            subscriptions_given: true,
            ..Customer::default()
        };
        assert_eq!(
            to_value(&subscribe(&branded)),
            json!({"customer": {"subscriptions": [{"pointOfContact": "Sms", "brand": "B", "topic": "news", "isSubscribed": false}]}})
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
        assert!(check_customer(&mut Customer {
            email: Some("nope".into()),
            ..Customer::default()
        })
        .is_err());
        assert!(check_customer(&mut Customer {
            birth_date: Some("1990-1-1".into()),
            ..Customer::default()
        })
        .is_err());
        assert!(check_customer(&mut Customer {
            birth_date: Some("1990-01-01".into()),
            ..Customer::default()
        })
        .is_ok());
        let types = include_str!("../js/mindbox.d.ts");
        for k in KINDS {
            let quoted = format!("\"{}\"", k.method());
            assert!(types.contains(&quoted), "mindbox.d.ts lacks {quoted}");
            assert_eq!(Kind::from_method(k.method()), Some(*k));
            assert_eq!(
                crate::operation::DEFAULT_OPERATIONS.contains(&k.default_operation()),
                !k.is_question()
            );
        }
    }
}
