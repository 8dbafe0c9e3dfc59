//! CORS for browser routes: only `ALLOWED_ORIGINS` may call `/v1/*`, with credentials (the
//! device-id cookie), and preflights are answered for them.

use worker::{Headers, Request, Response, Result};

use crate::config::Config;

/// The request's `Origin` when it is allowed, or the 403 answer to give.
pub fn allowed_origin(req: &Request, config: &Config) -> std::result::Result<String, Response> {
    let origin = req.headers().get("Origin").ok().flatten();
    match origin {
        Some(o) if config.allowed_origins.iter().any(|a| a == "*" || a == &o) => Ok(o),
        Some(o) => Err(forbidden(&format!(
            "origin {o} is not allowed: add it to ALLOWED_ORIGINS"
        ))),
        None => Err(forbidden(
            "no Origin header: /v1/events is for browsers on an allowed origin",
        )),
    }
}

/// The request's `Origin` when `ALLOWED_ORIGINS` writes it out: the admin routes QA's page calls
/// answer CORS only for such an origin, never through `*`.
pub fn listed_origin(req: &Request, config: &Config) -> Option<String> {
    let origin = req.headers().get("Origin").ok().flatten()?;
    listed(&origin, &config.allowed_origins).then_some(origin)
}

/// Whether `origin` is written out on `allowed` (a `*` entry does not count).
pub fn listed(origin: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| a != "*" && a == origin)
}

fn forbidden(reason: &str) -> Response {
    Response::from_json(&serde_json::json!({"error": "origin_not_allowed", "reason": reason}))
        .map(|r| r.with_status(403))
        .unwrap_or_else(|_| Response::empty().expect("empty response").with_status(403))
}

/// Adds the CORS headers for an allowed origin.
pub fn add_headers(headers: &Headers, origin: &str) -> Result<()> {
    headers.set("Access-Control-Allow-Origin", origin)?;
    headers.set("Access-Control-Allow-Credentials", "true")?;
    headers.append("Vary", "Origin")?;
    Ok(())
}

/// Answers an `OPTIONS` preflight.
pub fn preflight(req: &Request, config: &Config) -> Result<Response> {
    let origin = match allowed_origin(req, config) {
        Ok(o) => o,
        Err(r) => return Ok(r),
    };
    let mut resp = Response::empty()?.with_status(204);
    let h = resp.headers_mut();
    add_headers(h, &origin)?;
    h.set("Access-Control-Allow-Methods", "POST, OPTIONS")?;
    h.set("Access-Control-Allow-Headers", "Content-Type")?;
    h.set("Access-Control-Max-Age", "86400")?;
    Ok(resp)
}

/// Answers an `OPTIONS` preflight of an admin route from an allowed origin (the QA page sends the
/// admin token in `Authorization`; the token, not the origin, is what lets it in).
pub fn admin_preflight(origin: &str) -> Result<Response> {
    let mut resp = Response::empty()?.with_status(204);
    let h = resp.headers_mut();
    add_headers(h, origin)?;
    h.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")?;
    h.set(
        "Access-Control-Allow-Headers",
        "Authorization, Content-Type",
    )?;
    h.set("Access-Control-Max-Age", "86400")?;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_cors_needs_the_origin_written_out() {
        let star = vec!["*".to_string()];
        assert!(!listed("https://evil.example", &star));
        assert!(!listed("*", &star));
        let shop = vec!["https://shop.example".to_string(), "*".to_string()];
        assert!(listed("https://shop.example", &shop));
        assert!(!listed("https://SHOP.example", &shop));
        assert!(!listed("https://shop.example.evil", &shop));
    }
}
