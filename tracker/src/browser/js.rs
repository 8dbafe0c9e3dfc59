//! Small JS helpers: reading fields, converting the model's [`Json`] tree, time and randomness.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::json::Json;

/// `obj[key]`, or `undefined`.
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    if obj.is_object() {
        Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// `obj[key] = value` (ignores failures on frozen objects).
pub fn set(obj: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

/// A string field, or a number field as its decimal text (ids are often numbers on pages).
pub fn text(v: &JsValue) -> Option<String> {
    v.as_string()
        .or_else(|| v.as_f64().filter(|n| n.is_finite()).map(num_text))
}

/// `Date.now()`.
pub fn now() -> f64 {
    js_sys::Date::now()
}

/// `Math.random()`.
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// The model's JSON tree as a JS value.
pub fn to_js(j: &Json) -> JsValue {
    match j {
        Json::Null => JsValue::NULL,
        Json::Bool(b) => JsValue::from_bool(*b),
        Json::Num(n) => JsValue::from_f64(*n),
        Json::Str(s) => JsValue::from_str(s),
        Json::Arr(items) => items.iter().map(to_js).collect::<Array>().into(),
        Json::Obj(fields) => {
            let o = Object::new();
            for (k, v) in fields {
                set(&o, k, &to_js(v));
            }
            o.into()
        }
    }
}

/// `JSON.stringify(v)`, when `v` is a JSON object.
pub fn stringify_object(v: &JsValue) -> Option<String> {
    if !v.is_object() || Array::is_array(v) {
        return None;
    }
    js_sys::JSON::stringify(v).ok().and_then(|s| s.as_string())
}

/// `JSON.parse(s)`.
pub fn parse(s: &str) -> JsValue {
    js_sys::JSON::parse(s).unwrap_or(JsValue::UNDEFINED)
}

/// Calls `f(arg)` if `f` is a function, swallowing what it throws (page callbacks must not break us).
pub fn call1(f: &JsValue, arg: &JsValue) {
    if let Some(f) = f.dyn_ref::<js_sys::Function>() {
        let _ = f.call1(&JsValue::NULL, arg);
    }
}

/// `console.warn("mindbox: " + msg)`.
pub fn warn(msg: &str) {
    let mut s = String::with_capacity(msg.len() + 9);
    s.push_str("mindbox: ");
    s.push_str(msg);
    web_sys::console::warn_1(&JsValue::from_str(&s));
}

/// String concatenation without `format!` (which costs kilobytes of wasm).
pub fn cat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// A number as JS prints it (`String(n)`).
pub fn num_text(n: f64) -> String {
    js_sys::Number::from(n)
        .to_string_with_radix(10)
        .map(String::from)
        .unwrap_or_default()
}

/// The own enumerable string keys of an object.
pub fn keys(v: &JsValue) -> Vec<String> {
    if !v.is_object() {
        return Vec::new();
    }
    js_sys::Reflect::own_keys(v)
        .map(|a| a.iter().filter_map(|k| k.as_string()).collect())
        .unwrap_or_default()
}
