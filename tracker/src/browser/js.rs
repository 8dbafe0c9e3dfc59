//! What the Rust half takes from the browser: the clock and random bytes.

/// `Date.now()`.
pub fn now() -> f64 {
    js_sys::Date::now()
}

/// A random number in 0..1 (`Math.random()`), for retry jitter.
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// A new UUID v4 (an event id, the Mindbox transactionId) from `crypto.getRandomValues`, which works on
/// plain-http pages too, unlike `crypto.randomUUID`.
pub fn new_uuid() -> String {
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    crate::uuid::v4_from_bytes(bytes)
}
