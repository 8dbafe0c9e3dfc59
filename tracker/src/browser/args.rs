//! Reading the typed API's arguments from JS into the model's types, with messages that say what was
//! expected.

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};

use super::js::{get, text};
use crate::json::Json;
use crate::payload::{self, Customer, Line, Product};

fn opt_num(v: &JsValue, what: &str) -> Result<Option<f64>, String> {
    let x = get(v, what);
    if x.is_undefined() || x.is_null() {
        return Ok(None);
    }
    x.as_f64()
        .filter(|n| n.is_finite())
        .map(Some)
        .ok_or_else(|| super::js::cat(&[what, ": expected a number"]))
}

/// `{productId}` or `{productGroupId}`.
pub fn product(v: &JsValue) -> Result<Product, String> {
    let (id, group) = match (text(&get(v, "productId")), text(&get(v, "productGroupId"))) {
        (Some(id), _) => (id, false),
        (None, Some(id)) => (id, true),
        (None, None) => return Err("expected {productId: \"…\"} or {productGroupId: \"…\"}".into()),
    };
    payload::check_id("productId", &id)?;
    Ok(Product { id, group })
}

/// `{productId, count?, price?}`.
pub fn line(v: &JsValue) -> Result<Line, String> {
    let l = Line {
        product: product(v)?,
        count: opt_num(v, "count")?.unwrap_or(1.0),
        price: opt_num(v, "price")?,
    };
    payload::check_line(&l)?;
    Ok(l)
}

/// An array of lines, or `{items: [...]}`.
pub fn lines(v: &JsValue) -> Result<Vec<Line>, String> {
    let list = if Array::is_array(v) {
        v.clone()
    } else {
        get(v, "items")
    };
    let Some(arr) = list.dyn_ref::<Array>() else {
        return Err("expected an array of {productId, count, price} (or {items: [...]})".into());
    };
    arr.iter().map(|l| line(&l)).collect()
}

/// `viewProduct`'s `price`.
pub fn price(v: &JsValue) -> Result<Option<f64>, String> {
    opt_num(v, "price")
}

/// `{categoryId}`.
pub fn category(v: &JsValue) -> Result<String, String> {
    let id = text(&get(v, "categoryId")).ok_or("expected {categoryId: \"…\"}")?;
    payload::check_id("categoryId", &id)?;
    Ok(id)
}

/// Any JSON value from JS (for `customFields`).
pub fn json(v: &JsValue) -> Option<Json> {
    if v.is_null() {
        return Some(Json::Null);
    }
    if let Some(b) = v.as_bool() {
        return Some(Json::Bool(b));
    }
    if let Some(n) = v.as_f64() {
        return n.is_finite().then_some(Json::Num(n));
    }
    if let Some(s) = v.as_string() {
        return Some(Json::Str(s));
    }
    if let Some(a) = v.dyn_ref::<Array>() {
        return a
            .iter()
            .map(|x| json(&x))
            .collect::<Option<Vec<_>>>()
            .map(Json::Arr);
    }
    if v.is_object() {
        let mut fields = Vec::new();
        for k in super::js::keys(v) {
            let value = json(&get(v, &k))?;
            fields.push((k, value));
        }
        return Some(Json::Obj(fields));
    }
    None
}

/// A customer: `{ids?, email?, mobilePhone?, firstName?, lastName?, birthDate?, subscriptions?,
/// customFields?, authenticationTicket?}`.
pub fn customer(v: &JsValue) -> Result<Customer, String> {
    if !v.is_object() {
        return Err(
            "expected a customer object such as {ids: {websiteID: \"…\"}, email: \"…\"}".into(),
        );
    }
    let s = |k: &str| text(&get(v, k));
    let mut c = Customer {
        email: s("email"),
        mobile_phone: s("mobilePhone"),
        first_name: s("firstName"),
        last_name: s("lastName"),
        birth_date: s("birthDate"),
        ticket: s("authenticationTicket"),
        ..Customer::default()
    };
    let ids = get(v, "ids");
    if ids.is_object() {
        for k in super::js::keys(&ids) {
            let id = text(&get(&ids, &k)).ok_or("ids: expected string or number values")?;
            c.ids.push((k, id));
        }
    }
    if let Some(subs) = get(v, "subscriptions").dyn_ref::<Array>() {
        for sub in subs.iter() {
            let point = text(&get(&sub, "pointOfContact")).ok_or(
                "subscriptions: expected [{pointOfContact: \"Email\", isSubscribed: true}]",
            )?;
            c.subscriptions
                .push((point, get(&sub, "isSubscribed").as_bool().unwrap_or(true)));
        }
    }
    let cf = get(v, "customFields");
    if !cf.is_undefined() {
        c.custom_fields = Some(json(&cf).ok_or("customFields: expected a JSON object")?);
    }
    payload::check_customer(&c)?;
    Ok(c)
}
