//! Reading the typed API's arguments (a [`Json`] tree of the page's argument) into the model's types,
//! with messages that say what was expected.

use crate::json::{concat, Json};
use crate::payload::{self, Customer, Line, Product};

/// An optional number field, as its JSON text.
fn opt_num(v: &Json, what: &str) -> Result<Option<String>, String> {
    match v.field(what) {
        None => Ok(None),
        Some(Json::Num(n)) => Ok(Some(n.clone())),
        Some(_) => Err(concat(&[what, ": expected a number"])),
    }
}

/// A positive whole number field, as its text, or `default` when absent.
pub fn number(v: &Json, what: &str, default: &str) -> Result<String, String> {
    match opt_num(v, what)? {
        None => Ok(default.to_string()),
        Some(n) if payload::positive(&n) && n.bytes().all(|c| c.is_ascii_digit()) => Ok(n),
        Some(_) => Err(concat(&[what, ": expected a whole number ≥ 1"])),
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

/// A customer: `{ids?, email?, mobilePhone?, firstName?, lastName?, birthDate?, subscriptions?,
/// customFields?, authenticationTicket?}`.
pub fn customer(v: &Json) -> Result<Customer, String> {
    if !matches!(v, Json::Obj(_)) {
        return Err(
            "expected a customer object such as {ids: {websiteID: \"…\"}, email: \"…\"}".into(),
        );
    }
    let s = |k: &str| opt_text(v, k);
    let mut c = Customer {
        email: s("email"),
        mobile_phone: s("mobilePhone"),
        first_name: s("firstName"),
        last_name: s("lastName"),
        birth_date: s("birthDate"),
        ticket: s("authenticationTicket"),
        ..Customer::default()
    };
    match v.field("ids") {
        None => {}
        Some(Json::Obj(ids)) => {
            for (k, id) in ids {
                let id = id.text().ok_or("ids: expected string or number values")?;
                c.ids.push((k.clone(), id.to_string()));
            }
        }
        Some(_) => return Err("ids: expected an object such as {websiteID: \"…\"}".into()),
    }
    const SUBSCRIPTIONS: &str =
        "subscriptions: expected [{pointOfContact: \"Email\", isSubscribed: true or false}]";
    match v.field("subscriptions") {
        None => {}
        Some(Json::Arr(subs)) => {
            c.subscriptions_given = true;
            for sub in subs {
                let point = opt_text(sub, "pointOfContact").ok_or(SUBSCRIPTIONS)?;
                // Only a boolean says it: "false", 0 or null must not subscribe anyone.
                let on = match sub.get("isSubscribed") {
                    None => true,
                    Some(Json::Bool(b)) => *b,
                    Some(_) => return Err(SUBSCRIPTIONS.into()),
                };
                c.subscriptions.push(payload::Subscription {
                    point,
                    on,
                    brand: opt_text(sub, "brand"),
                    topic: opt_text(sub, "topic"),
                });
            }
        }
        Some(_) => return Err(SUBSCRIPTIONS.into()),
    }
    match v.get("customFields") {
        None => {}
        Some(cf @ Json::Obj(_)) => {
            let mut text = String::new();
            crate::json::write(&mut text, cf);
            c.custom_fields = Some(text);
        }
        Some(_) => return Err("customFields: expected a JSON object".into()),
    }
    payload::check_customer(&mut c)?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn j(text: &str) -> Json {
        parse(text, 64).unwrap()
    }

    #[test]
    fn reads_products_lines_and_customers_saying_what_was_expected() {
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
        let c = customer(&j(
            r#"{"ids":{"websiteID":42},"email":"a@b.c","subscriptions":[{"pointOfContact":"Sms","isSubscribed":false},{"pointOfContact":"Email"}],"customFields":{"x":[1]}}"#,
        ))
        .unwrap();
        assert_eq!(c.ids, vec![("websiteID".to_string(), "42".to_string())]);
        let subs: Vec<(&str, bool)> = c
            .subscriptions
            .iter()
            .map(|s| (s.point.as_str(), s.on))
            .collect();
        assert_eq!(subs, vec![("Sms", false), ("Email", true)]);
        assert!(c.subscriptions_given);
        // Only a boolean unsubscribes or subscribes; a wrong shape is an error, never a default.
        for bad in [
            r#"{"subscriptions":[{"pointOfContact":"Sms","isSubscribed":"false"}]}"#,
            r#"{"subscriptions":[{"pointOfContact":"Sms","isSubscribed":0}]}"#,
            r#"{"subscriptions":[{"pointOfContact":"Sms","isSubscribed":null}]}"#,
            r#"{"subscriptions":{"pointOfContact":"Sms","isSubscribed":false}}"#,
            r#"{"ids":"u1"}"#,
        ] {
            assert!(customer(&j(bad)).is_err(), "{bad}");
        }
        let branded = customer(&j(r#"{"email":"a@b.c","subscriptions":[{"pointOfContact":"Email","brand":"B","topic":"news"}]}"#)).unwrap();
        assert_eq!(
            (
                branded.subscriptions[0].brand.as_deref(),
                branded.subscriptions[0].topic.as_deref()
            ),
            (Some("B"), Some("news"))
        );
        let none = customer(&j(r#"{"email":"a@b.c","subscriptions":[]}"#)).unwrap();
        assert!(none.subscriptions_given && none.subscriptions.is_empty());
        assert!(customer(&j(r#"{"customFields":5}"#)).is_err());
        assert!(customer(&j("[]")).is_err());
        assert!(customer(&j(r#"{"ids":{"websiteID":true}}"#)).is_err());
    }
}
