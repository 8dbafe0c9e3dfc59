//! What every browser route (`/v1/events`, `/v1/sync`) does first, in one place: the `Origin` must be
//! on `ALLOWED_ORIGINS` and the client IP within its rate limit. Also how those routes refuse.

use worker::{Env, Request, Response, Result};

use crate::config::Config;
use crate::{bindings, cors};

/// Seconds a rate-limited client should wait (the limiters' period).
const RATE_LIMIT_RETRY_AFTER: &str = "60";

/// A request let in: its allowed origin (for the CORS headers of every answer) and client IP.
pub struct Admitted {
    /// The request's `Origin`, on `ALLOWED_ORIGINS`.
    pub origin: String,
    /// `CF-Connecting-IP` (set by Cloudflare, not by the client), or `unknown`.
    pub ip: String,
}

/// A request turned away: the answer, and the rejection code to count.
pub struct Refused {
    /// 403 or 429, with a reason.
    pub response: Response,
    /// `origin_not_allowed` or `rate_limited`.
    pub code: &'static str,
}

/// The origin and per-IP rate-limit checks every browser route starts with.
pub async fn admit(
    req: &Request,
    env: &Env,
    config: &Config,
) -> Result<std::result::Result<Admitted, Refused>> {
    let origin = match cors::allowed_origin(req, config) {
        Ok(o) => o,
        Err(response) => {
            return Ok(Err(Refused {
                response,
                code: "origin_not_allowed",
            }))
        }
    };
    let ip = req
        .headers()
        .get("CF-Connecting-IP")?
        .unwrap_or_else(|| "unknown".into());
    if !within_limit(env, bindings::IP_RATE_LIMIT, &format!("ip:{ip}")).await {
        return Ok(Err(Refused {
            response: rate_limited(&origin)?,
            code: "rate_limited",
        }));
    }
    Ok(Ok(Admitted { origin, ip }))
}

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

/// A JSON error answer `{"error": code, "reason"}` with CORS headers for an allowed origin.
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
