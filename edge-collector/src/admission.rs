//! What every browser route (`/v1/events`, `/v1/sync`) does first, in one place: the `Origin` must be
//! on `ALLOWED_ORIGINS` and the client IP within its rate limit. Also how those routes refuse.
//!
//! Rate limits count events, not requests: a request takes one from its IP's budget when it comes
//! in ([`admit`]), and `/v1/events` takes the rest of its events from the IP's and the device's
//! budgets once it has read them ([`within_limit`] with a cost). An IPv6 client is keyed by its /64,
//! the block one subscriber gets ([`ip_key`]).

use std::cell::RefCell;
use std::collections::HashMap;

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
    // Without a known IP (self-hosted with no proxy header) every client would share one bucket.
    if ip != "unknown" && !within_limit(env, bindings::IP_RATE_LIMIT, &ip_key(&ip), 1).await {
        return Ok(Err(Refused {
            response: rate_limited(&origin)?,
            code: "rate_limited",
        }));
    }
    Ok(Ok(Admitted { origin, ip }))
}

/// The rate-limit key of a client IP: an IPv4 address as it is, an IPv6 address by its /64 (one
/// subscriber's block: a client that hops between its addresses stays one client). An IPv4-mapped
/// IPv6 address is its IPv4 address.
pub fn ip_key(ip: &str) -> String {
    match ip.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = v6.segments();
                format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(v4) => format!("ip:{v4}"),
        Err(_) => format!("ip:{ip}"),
    }
}

/// Constant-time equality of two byte strings, for bearer tokens (their length is not secret).
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

/// Whether the rate limiter `binding` lets `cost` more events of `key` through. The Workers
/// rate-limiting binding counts one per call, so it is asked `cost` times at once (a batch is at
/// most 100 events; most carry a few). Where the binding is missing (the self-hosted profile), a
/// counter in this isolate stands in, with the same limits ([`Window`]). A failing limiter lets the
/// request pass (losing events to a limiter outage would be worse than a burst).
pub async fn within_limit(env: &Env, binding: &str, key: &str, cost: u32) -> bool {
    if cost == 0 {
        return true;
    }
    match env.rate_limiter(binding) {
        Ok(limiter) => {
            let asks = (0..cost).map(|_| limiter.limit(key.to_string()));
            futures_util::future::join_all(asks)
                .await
                .into_iter()
                .all(|o| o.map(|o| o.success).unwrap_or(true))
        }
        Err(_) => {
            let limit = match binding {
                bindings::IP_RATE_LIMIT => bindings::IP_LIMIT_PER_MINUTE,
                _ => bindings::DEVICE_LIMIT_PER_MINUTE,
            };
            let minute = worker::Date::now().as_millis() / 60_000;
            LOCAL.with(|w| w.borrow_mut().take(minute, key, limit, cost))
        }
    }
}

thread_local! {
    static LOCAL: RefCell<Window> = RefCell::new(Window::default());
}

/// Requests per key in the current minute (a fixed window), for [`within_limit`] without the binding.
/// One self-hosted node runs one isolate, so the count is the node's.
#[derive(Default)]
pub struct Window {
    minute: u64,
    counts: HashMap<String, u32>,
}

/// Keys one window keeps before it starts over (letting requests through rather than growing).
const MAX_KEYS: usize = 100_000;

impl Window {
    /// Counts `cost` events for `key` in `minute`; whether they are within `limit`.
    pub fn take(&mut self, minute: u64, key: &str, limit: u32, cost: u32) -> bool {
        if minute != self.minute || self.counts.len() >= MAX_KEYS {
            self.minute = minute;
            self.counts.clear();
        }
        let n = self.counts.entry(key.to_string()).or_default();
        *n = n.saturating_add(cost);
        *n <= limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_window_per_key_and_minute_counting_events() {
        let mut w = Window::default();
        assert!((0..3).all(|_| w.take(1, "ip:a", 3, 1)));
        assert!(!w.take(1, "ip:a", 3, 1), "the fourth in the minute");
        assert!(w.take(1, "ip:b", 3, 1), "another key has its own count");
        assert!(w.take(2, "ip:a", 3, 1), "a new minute starts over");
        assert!(
            w.take(3, "ip:c", 100, 100) && !w.take(3, "ip:c", 100, 1),
            "a full batch is 100"
        );
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(ip_key("198.51.100.9"), "ip:198.51.100.9");
        assert_eq!(ip_key("2001:db8:1:2:aaaa::1"), "ip:2001:db8:1:2::/64");
        assert_eq!(
            ip_key("2001:0DB8:0001:0002:ffff:ffff:ffff:ffff"),
            ip_key("2001:db8:1:2::9")
        );
        assert_ne!(ip_key("2001:db8:1:2::1"), ip_key("2001:db8:1:3::1"));
        assert_eq!(ip_key("::ffff:198.51.100.9"), "ip:198.51.100.9");
    }
}
