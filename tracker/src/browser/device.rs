//! The `mindboxDeviceUUID` cookie: read it, or create a UUID v4 and set it (path `/`, one year).

use wasm_bindgen::JsCast;

use crate::uuid;

const COOKIE: &str = "mindboxDeviceUUID";

fn document() -> Option<web_sys::HtmlDocument> {
    web_sys::window()?.document()?.dyn_into().ok()
}

/// The current device id from the cookie, when it is a canonical UUID.
pub fn read() -> Option<String> {
    let cookies = document()?.cookie().ok()?;
    cookies.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == COOKIE && uuid::is_canonical(v)).then(|| v.to_string())
    })
}

/// Sets the cookie for a year.
pub fn write(id: &str) {
    let secure = web_sys::window()
        .and_then(|w| w.location().protocol().ok())
        .is_some_and(|p| p == "https:");
    if let Some(doc) = document() {
        let _ = doc.set_cookie(&format!(
            "{COOKIE}={id}; path=/; max-age=31536000; SameSite=Lax{}",
            if secure { "; Secure" } else { "" }
        ));
    }
}

/// The device id: the cookie's, or a new one that is then set.
pub fn ensure() -> String {
    read().unwrap_or_else(|| {
        let id = new_uuid();
        write(&id);
        id
    })
}

/// A new UUID v4 from `crypto.getRandomValues` (works on plain http pages too, unlike
/// `crypto.randomUUID`).
pub fn new_uuid() -> String {
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    uuid::v4_from_bytes(bytes)
}

/// Accepts the collector's device id as the truth: the server-set cookie outlives script-set ones.
pub fn adopt(id: &str) {
    if uuid::is_canonical(id) && read().as_deref() != Some(id) {
        write(id);
    }
}
