//! Attempts per key in a sliding window: how often one phone, card, device or address may ask for an
//! SMS code or try one ([`crate::gate::sms_code`]). An attempt is granted while the key has had fewer
//! than its limit in the last window, and counts whether or not Mindbox then answers.
//!
//! On Cloudflare each key is its own small Durable Object (`attempts:<key>`: a list of times, deleted
//! by its alarm once the window has passed), so no object is shared by all traffic; on the
//! self-hosted profile it is a row of `attempts` in PostgreSQL ([`crate::store::pg::attempts`]).

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::store::{objects, Store};

/// The namespace binding in wrangler.toml.
pub const BINDING: &str = crate::bindings::ATTEMPTS;

/// Takes one attempt at `now` (ms) from `times` (the key's granted attempts, oldest first) under
/// `limit` per `window_ms`: `None` when granted (and recorded), else the seconds until the oldest
/// attempt leaves the window.
pub fn take(times: &mut Vec<f64>, now: f64, limit: u32, window_ms: f64) -> Option<u32> {
    times.retain(|t| *t > now - window_ms && *t <= now + window_ms);
    if times.len() < limit as usize {
        times.push(now);
        return None;
    }
    let oldest = times.iter().copied().fold(f64::INFINITY, f64::min);
    Some(((oldest + window_ms - now) / 1000.0).ceil().max(1.0) as u32)
}

#[derive(Serialize, Deserialize)]
struct Ask {
    limit: u32,
    window_ms: f64,
}

/// One key's attempts.
#[durable_object(alarm)]
pub struct Attempts {
    state: State,
}

impl DurableObject for Attempts {
    fn new(state: State, _env: Env) -> Self {
        Attempts { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let mut times: Vec<f64> = storage.get("times").await?.unwrap_or_default();
        if req.path() == "/refund" {
            // Gives back the newest attempt (a later key of the same call refused it).
            let newest = times.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if let Some(at) = times.iter().position(|t| *t == newest) {
                times.remove(at);
                storage.put("times", &times).await?;
            }
            return objects::json(&());
        }
        let ask: Ask = objects::body(&mut req).await?;
        let now = worker::Date::now().as_millis() as f64;
        let wait = take(&mut times, now, ask.limit, ask.window_ms);
        if wait.is_none() {
            storage.put("times", &times).await?;
            storage.put("window", &ask.window_ms).await?;
            // Forgotten once the newest attempt has left the window.
            storage.set_alarm((now + ask.window_ms) as i64).await?;
        }
        objects::json(&wait)
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        let now = worker::Date::now().as_millis() as f64;
        let times: Vec<f64> = storage.get("times").await?.unwrap_or_default();
        let window: f64 = storage.get("window").await?.unwrap_or(0.0);
        match times.iter().copied().fold(f64::NEG_INFINITY, f64::max) {
            newest if newest + window > now => storage.set_alarm((newest + window) as i64).await?,
            _ => storage.delete_all().await?,
        }
        Response::ok("")
    }
}

/// Gives back the newest attempt of `key`: a later key of the same call refused it, so the call was
/// never made.
pub async fn refund(env: &Store, key: &str) -> Result<()> {
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        return crate::store::pg::attempts::refund(db, key).await;
    }
    objects::call(env, BINDING, &format!("attempts:{key}"), "/refund", &()).await
}

/// Takes one attempt for `key` under `limit` per `window_ms`: `None` when granted, else the seconds
/// to wait.
pub async fn attempt(env: &Store, key: &str, limit: u32, window_ms: f64) -> Result<Option<u32>> {
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        return crate::store::pg::attempts::attempt(db, key, limit, window_ms).await;
    }
    objects::call(
        env,
        BINDING,
        &format!("attempts:{key}"),
        "/attempt",
        &Ask { limit, window_ms },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sliding_window_of_attempts() {
        let mut t = Vec::new();
        let w = 600_000.0;
        assert_eq!(take(&mut t, 1_000.0, 3, w), None);
        assert_eq!(take(&mut t, 2_000.0, 3, w), None);
        assert_eq!(take(&mut t, 300_000.0, 3, w), None);
        assert_eq!(
            take(&mut t, 300_001.0, 3, w),
            Some(301),
            "the fourth waits for the first"
        );
        assert_eq!(t.len(), 3, "a refused attempt is not recorded");
        assert_eq!(take(&mut t, 601_001.0, 3, w), None, "the first has left");
        assert_eq!(
            take(&mut t, 601_002.0, 3, w),
            Some(1),
            "the second is still in"
        );
        assert_eq!(take(&mut t, 602_001.0, 3, w), None, "and now it has left");
        assert_eq!(take(&mut t, 602_002.0, 3, w), Some(298));
        // A time from a clock far ahead (another node's) does not lock the key for ever.
        let mut ahead = vec![1e15];
        assert_eq!(take(&mut ahead, 1_000.0, 1, w), None);
    }
}
