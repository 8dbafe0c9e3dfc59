//! What every browser route (`/v1/events`, `/v1/sync`) does first, in one place: the `Origin` must be
//! on `ALLOWED_ORIGINS` and the client IP within its rate limit. Also how those routes refuse.
//!
//! Rate limits count events, not requests: a request takes one from its IP's budget when it comes
//! in ([`admit`]), and `/v1/events` takes the rest of its events from the IP's and the device's
//! budgets once it has read them ([`within_limit`] with a cost). An IPv6 client is keyed by its /64,
//! the block one subscriber gets ([`ip_key`]).
//!
//! Without a client IP (no `CF-Connecting-IP`, or one that is not an address: on the self-hosted
//! profile, a TLS proxy that does not set its header) the limits cannot hold, so the request is
//! refused with 503 (the tracker keeps its events and sends them again) and `/v1/admin/health` says
//! why ([`client_ip_problem`]).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use crate::store::Store;
use worker::{Request, Response, Result};

use crate::bindings;
use crate::config::Config;
use crate::gate::cors;

/// Seconds a rate-limited client should wait (the limiters' period).
const RATE_LIMIT_RETRY_AFTER: &str = "60";

/// A request let in: its allowed origin (for the CORS headers of every answer) and client IP.
pub struct Admitted {
    /// The request's `Origin`, on `ALLOWED_ORIGINS`.
    pub origin: String,
    /// `CF-Connecting-IP` (set by Cloudflare, or the self-hosted router from its proxy's header),
    /// checked to be an IP address.
    pub ip: String,
}

/// Why a request is turned away at admission: each with its status and code.
pub enum Refused {
    /// `Origin` missing or not on `ALLOWED_ORIGINS`: 403 (the answer, from [`cors`]).
    Origin(Response),
    /// No client IP the limits could count: 503 with `Retry-After`.
    NoClientIp {
        /// The request's allowed origin.
        origin: String,
        /// Why, for the answer.
        reason: String,
    },
    /// Over the IP's rate limit: 429 with `Retry-After`.
    RateLimited {
        /// The request's allowed origin.
        origin: String,
    },
    /// The runtime failed.
    Runtime(worker::Error),
}

impl From<worker::Error> for Refused {
    fn from(e: worker::Error) -> Refused {
        Refused::Runtime(e)
    }
}

impl Refused {
    /// The rejection code to count.
    pub fn code(&self) -> &'static str {
        match self {
            Refused::Origin(_) => "origin_not_allowed",
            Refused::NoClientIp { .. } => "client_ip_unknown",
            Refused::RateLimited { .. } => "rate_limited",
            Refused::Runtime(_) => "internal",
        }
    }

    /// The answer (a runtime failure is the error).
    pub fn into_response(self) -> Result<Response> {
        match self {
            Refused::Origin(response) => Ok(response),
            Refused::NoClientIp { origin, reason } => {
                unavailable("client_ip_unknown", &reason, 60, Some(&origin))
            }
            Refused::RateLimited { origin } => rate_limited(&origin),
            Refused::Runtime(e) => Err(e),
        }
    }
}

/// The origin and per-IP rate-limit checks every browser route starts with.
pub async fn admit(
    req: &Request,
    env: &Store,
    config: &Config,
) -> std::result::Result<Admitted, Refused> {
    let origin = cors::allowed_origin(req, config).map_err(Refused::Origin)?;
    let given = req.headers().get("CF-Connecting-IP")?;
    let Some(ip) = given.as_deref().and_then(client_ip) else {
        let reason = note_missing_ip(given.as_deref());
        return Err(Refused::NoClientIp { origin, reason });
    };
    if !within_limit(env, bindings::IP_RATE_LIMIT, &ip_key(&ip), 1).await {
        return Err(Refused::RateLimited { origin });
    }
    Ok(Admitted { origin, ip })
}

/// The client IP a header gives, when it is one IPv4 or IPv6 address (in its canonical spelling).
pub fn client_ip(header: &str) -> Option<String> {
    header
        .trim()
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

/// The limit per minute of the limiter `binding` where the collector counts itself.
fn local_limit(binding: &str) -> u32 {
    match binding {
        bindings::IP_RATE_LIMIT => bindings::IP_LIMIT_PER_MINUTE,
        bindings::NEW_DEVICE_RATE_LIMIT => bindings::NEW_DEVICE_LIMIT_PER_MINUTE,
        _ => bindings::DEVICE_LIMIT_PER_MINUTE,
    }
}

thread_local! {
    /// Requests this isolate refused for want of a client IP: how many, the last time (ms), and what
    /// the header said.
    static MISSING_IP: RefCell<Option<(u64, f64, String)>> = const { RefCell::new(None) };
}

/// How long a refusal for want of a client IP stays a problem in `/v1/admin/health`.
const MISSING_IP_SHOWN_MS: f64 = 10.0 * 60.0 * 1000.0;

/// Notes a request refused for want of a client IP; the reason to give it.
fn note_missing_ip(given: Option<&str>) -> String {
    let said = match given {
        None => "no CF-Connecting-IP".to_string(),
        Some(v) => format!(
            "CF-Connecting-IP {:?} is not an address",
            v.chars().take(60).collect::<String>()
        ),
    };
    let now = worker::Date::now().as_millis() as f64;
    MISSING_IP.with(|m| {
        let mut m = m.borrow_mut();
        let count = m.as_ref().map_or(0, |(n, _, _)| *n) + 1;
        *m = Some((count, now, said.clone()));
    });
    format!(
        "the collector cannot tell the client's address ({said}; self-hosted: the TLS proxy must set \
         CLIENT_IP_HEADER), so its rate limits cannot hold: keep the events and send them again later"
    )
}

/// Why requests were refused for want of a client IP in the last ten minutes (this node), for
/// `/v1/admin/health`.
pub fn client_ip_problem() -> Option<String> {
    let now = worker::Date::now().as_millis() as f64;
    MISSING_IP.with(|m| {
        m.borrow()
            .as_ref()
            .filter(|(_, at, _)| now - at < MISSING_IP_SHOWN_MS)
            .map(|(n, _, said)| {
                format!(
                    "{n} browser requests refused: {said} (self-hosted: the TLS proxy in front must \
                     set its client-IP header, CLIENT_IP_HEADER, X-Real-IP by default)"
                )
            })
    })
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

/// Whether the request's `Authorization: Bearer …` is `token` (compared in constant time): the one
/// bearer-token check of the backend and admin routes.
pub fn bearer_is(req: &Request, token: Option<&crate::config::SecretKey>) -> bool {
    let given = req
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .unwrap_or_default();
    let given = given.strip_prefix("Bearer ").unwrap_or("");
    token.is_some_and(|t| same_secret(given.as_bytes(), t.expose().as_bytes()))
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

/// The one "not now" answer: 503 `{"error": code, "reason"}` with `Retry-After` (seconds). Nothing was
/// accepted; the tracker (or the backend) keeps what it sent and sends it again.
pub fn unavailable(
    code: &str,
    reason: &str,
    retry_after_secs: u32,
    origin: Option<&str>,
) -> Result<Response> {
    let mut resp = refuse(503, code, reason, origin)?;
    resp.headers_mut()
        .set("Retry-After", &retry_after_secs.to_string())?;
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
pub async fn within_limit(env: &Store, binding: &str, key: &str, cost: u32) -> bool {
    if cost == 0 {
        return true;
    }
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        let limit = local_limit(binding);
        let key = window_key(binding, key);
        // This node's own count first: a flood past the limit on one node is refused without a
        // word to the database; the database's count holds the limit across nodes.
        let minute = worker::Date::now().as_millis() / 60_000;
        if !LOCAL.with(|w| w.borrow_mut().take(minute, &key, limit, cost)) {
            return false;
        }
        return crate::store::pg::windows::count(db, &key, cost, limit)
            .await
            .unwrap_or_else(|e| {
                worker::console_error!("rate limit unavailable, passing: {e}");
                true
            });
    }
    match env.rate_limiter(binding) {
        // A limiter that fails to answer passes the request.
        Ok(limiter) => ask_limiter(limiter.as_ref(), key, cost)
            .await
            .unwrap_or(true),
        Err(_) => {
            let limit = local_limit(binding);
            let minute = worker::Date::now().as_millis() / 60_000;
            let key = window_key(binding, key);
            LOCAL.with(|w| w.borrow_mut().take(minute, &key, limit, cost))
        }
    }
}

/// The key a limit counts `key` under where the collector counts itself (this node's window, and
/// PostgreSQL's `windows` table): the limiter's binding name, then the key.
pub fn window_key(binding: &str, key: &str) -> String {
    format!("{binding}:{key}")
}

/// Asks a Workers rate limiter `cost` times for `key` (each ask counts one), all at once: one options
/// object and one `Promise.all` rather than a future per ask. Whether every ask succeeded; an error
/// when the limiter did not answer.
async fn ask_limiter(limiter: &wasm_bindgen::JsValue, key: &str, cost: u32) -> Result<bool> {
    use wasm_bindgen::JsCast;
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"key".into(), &key.into())?;
    let limit: js_sys::Function = js_sys::Reflect::get(limiter, &"limit".into())?.dyn_into()?;
    let asks = js_sys::Array::new();
    for _ in 0..cost {
        asks.push(&limit.call1(limiter, &options)?);
    }
    let outcomes =
        worker::wasm_bindgen_futures::JsFuture::from(js_sys::Promise::all(&asks)).await?;
    Ok(js_sys::Array::from(&outcomes).iter().all(|o| {
        js_sys::Reflect::get(&o, &"success".into()).map_or(true, |s| s.as_bool() != Some(false))
    }))
}

thread_local! {
    static LOCAL: RefCell<Window> = RefCell::new(Window::default());
}

/// Requests per key in the current minute (a fixed window), for [`within_limit`] without the binding.
/// One self-hosted node runs one isolate, so the count is the node's.
#[derive(Default)]
pub struct Window {
    minute: u64,
    /// Per key: its count this minute, and when it last asked (a tick of [`Window::tick`]).
    counts: HashMap<String, (u32, u64)>,
    /// Keys by the tick they asked at, oldest first; an entry whose key asked again since is stale.
    order: VecDeque<(u64, String)>,
    tick: u64,
}

/// Keys one window keeps: past it, the keys that asked least recently are forgotten one by one
/// (never everyone's counts at once, so a flood of fresh keys cannot clear a client that keeps
/// asking and is held back).
pub const MAX_KEYS: usize = 100_000;

impl Window {
    /// Counts `cost` events for `key` in `minute`; whether they are within `limit`.
    pub fn take(&mut self, minute: u64, key: &str, limit: u32, cost: u32) -> bool {
        if minute != self.minute {
            self.minute = minute;
            self.counts.clear();
            self.order.clear();
        }
        self.tick += 1;
        if !self.counts.contains_key(key) {
            while self.counts.len() >= MAX_KEYS {
                let Some((tick, old)) = self.order.pop_front() else {
                    break;
                };
                if self.counts.get(&old).is_some_and(|(_, last)| *last == tick) {
                    self.counts.remove(&old);
                }
            }
        }
        self.order.push_back((self.tick, key.to_string()));
        let entry = self.counts.entry(key.to_string()).or_default();
        entry.0 = entry.0.saturating_add(cost);
        entry.1 = self.tick;
        let within = entry.0 <= limit;
        if self.order.len() > 2 * MAX_KEYS {
            // One entry per ask: past twice the keys, keep only each key's latest.
            let counts = &self.counts;
            self.order
                .retain(|(tick, k)| counts.get(k).is_some_and(|(_, last)| last == tick));
        }
        within
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
    fn a_flood_of_fresh_keys_evicts_the_oldest_not_a_limited_clients_count() {
        let mut w = Window::default();
        assert!(w.take(1, "ip:limited", 1, 1));
        assert!(!w.take(1, "ip:limited", 1, 1));
        // Fresh keys up to the cap, with the limited client asking again among them.
        for i in 0..MAX_KEYS - 2 {
            w.take(1, &format!("ip:fresh-{i}"), 1, 1);
        }
        assert!(!w.take(1, "ip:limited", 1, 1), "still limited at the cap");
        for i in 0..10 {
            w.take(1, &format!("ip:more-{i}"), 1, 1);
        }
        assert_eq!(w.counts.len(), MAX_KEYS);
        assert!(
            !w.counts.contains_key("ip:fresh-0"),
            "the oldest fresh key went first"
        );
        // One key asking over and over keeps the memory bounded.
        for _ in 0..MAX_KEYS * 3 {
            w.take(1, "ip:busy", u32::MAX, 1);
        }
        assert!(w.order.len() <= 2 * MAX_KEYS + 1, "{}", w.order.len());
    }

    #[test]
    fn only_an_address_is_a_client_ip() {
        assert_eq!(client_ip(" 198.51.100.9 ").as_deref(), Some("198.51.100.9"));
        assert_eq!(client_ip("2001:DB8::1").as_deref(), Some("2001:db8::1"));
        for bad in [
            "",
            "unknown",
            "198.51.100.9, 10.0.0.1",
            "x",
            "198.51.100.256",
            "1.2.3.4; drop",
        ] {
            assert_eq!(client_ip(bad), None, "{bad}");
        }
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
