//! Gatekeeping helpers shared by the browser routes: error answers and the rate limiters.

use worker::{Env, Response, Result};

use crate::cors;

/// Seconds a rate-limited client should wait (the limiters' period).
const RATE_LIMIT_RETRY_AFTER: &str = "60";

/// A 429 with `Retry-After`.
pub fn rate_limited(origin: &str) -> Result<Response> {
    let mut resp = refuse(
        429,
        "rate_limited",
        "too many requests from this client: retry after the Retry-After seconds",
        Some(origin),
    )?;
    resp.headers_mut()
        .set("Retry-After", RATE_LIMIT_RETRY_AFTER)?;
    Ok(resp)
}

/// A JSON error answer with CORS headers for an allowed origin.
pub fn refuse(status: u16, code: &str, reason: &str, origin: Option<&str>) -> Result<Response> {
    let mut resp = Response::from_json(&serde_json::json!({"error": code, "reason": reason}))?
        .with_status(status);
    if let Some(o) = origin {
        cors::add_headers(resp.headers_mut(), o)?;
    }
    Ok(resp)
}

/// Whether the rate limiter `binding` lets `key` through; a missing or failing limiter lets it pass
/// (losing events to a limiter outage would be worse than a burst).
pub async fn within_limit(env: &Env, binding: &str, key: &str) -> bool {
    match env.rate_limiter(binding) {
        Ok(limiter) => limiter
            .limit(key.to_string())
            .await
            .map(|o| o.success)
            .unwrap_or(true),
        Err(_) => true,
    }
}
