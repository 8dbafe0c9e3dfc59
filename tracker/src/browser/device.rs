//! The device id: the `mindboxDeviceUUID` cookie, with a localStorage copy under the same key.
//!
//! Read an existing canonical id; replace a malformed one; restore a purged cookie from the
//! localStorage copy; set the cookie on the registrable domain (the widest domain that takes it, the
//! way Mindbox's and other trackers find it), `path=/`, one year, `SameSite=Lax`, `Secure` on https;
//! and accept the collector's server-set value as the truth.

use wasm_bindgen::JsCast;

use super::js::cat;
use crate::uuid;

const KEY: &str = "mindboxDeviceUUID";

fn document() -> Option<web_sys::HtmlDocument> {
    web_sys::window()?.document()?.dyn_into().ok()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn cookie_value(name: &str) -> Option<String> {
    let cookies = document()?.cookie().ok()?;
    cookies.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// The cookie's device id, when it is a canonical UUID.
pub fn read() -> Option<String> {
    cookie_value(KEY).filter(|v| uuid::is_canonical(v))
}

/// The localStorage copy, when it is a canonical UUID.
pub fn read_copy() -> Option<String> {
    storage()?
        .get_item(KEY)
        .ok()
        .flatten()
        .filter(|v| uuid::is_canonical(v))
}

fn set_cookie(value: &str, domain: Option<&str>, max_age: &str) {
    let Some(doc) = document() else { return };
    let secure = web_sys::window()
        .and_then(|w| w.location().protocol().ok())
        .is_some_and(|p| p == "https:");
    let mut c = cat(&[
        KEY,
        "=",
        value,
        "; path=/; max-age=",
        max_age,
        "; SameSite=Lax",
    ]);
    if let Some(d) = domain {
        c.push_str("; domain=");
        c.push_str(d);
    }
    if secure {
        c.push_str("; Secure");
    }
    let _ = doc.set_cookie(&c);
}

/// The widest domain of the page's host that takes a cookie (`shop.example` for `www.shop.example`);
/// `None` for IP addresses and single-label hosts such as `localhost` (host-only cookie).
pub fn registrable_domain() -> Option<String> {
    let host = web_sys::window()?.location().hostname().ok()?;
    if !host.contains('.')
        || host.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || host.contains(':')
    {
        return None;
    }
    let labels: Vec<&str> = host.split('.').collect();
    const PROBE: &str = "mindboxDomainProbe";
    for i in (0..labels.len() - 1).rev() {
        let candidate = labels[i..].join(".");
        let doc = document()?;
        let _ = doc.set_cookie(&cat(&[PROBE, "=1; path=/; domain=", &candidate]));
        if cookie_value(PROBE).is_some() {
            let _ = doc.set_cookie(&cat(&[PROBE, "=; path=/; max-age=0; domain=", &candidate]));
            return Some(candidate);
        }
    }
    None
}

/// Sets the cookie (a year, on the registrable domain) and the localStorage copy.
pub fn write(id: &str) {
    set_cookie(id, registrable_domain().as_deref(), "31536000");
    if let Some(s) = storage() {
        let _ = s.set_item(KEY, id);
    }
}

/// The device id: the cookie's, else the localStorage copy (restoring the cookie), else a new one.
pub fn ensure() -> String {
    if let Some(id) = read() {
        if read_copy().as_deref() != Some(id.as_str()) {
            if let Some(s) = storage() {
                let _ = s.set_item(KEY, &id);
            }
        }
        return id;
    }
    let id = read_copy().unwrap_or_else(new_uuid);
    write(&id);
    id
}

/// Accepts the collector's device id as the truth: the server-set cookie outlives script-set ones.
pub fn adopt(id: &str) {
    if uuid::is_canonical(id)
        && (read().as_deref() != Some(id) || read_copy().as_deref() != Some(id))
    {
        write(id);
    }
}

/// A new UUID v4 from `crypto.getRandomValues` (works on plain-http pages too, unlike
/// `crypto.randomUUID`).
pub fn new_uuid() -> String {
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    uuid::v4_from_bytes(bytes)
}
