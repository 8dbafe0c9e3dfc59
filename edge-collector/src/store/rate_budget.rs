//! Mindbox's rate limit, respected by the consumer: at most `MINDBOX_RATE_LIMIT_PER_MINUTE` (default
//! 8 000) requests per minute per operation and endpoint. One Durable Object per operation
//! (`rate:<operation>`) hands out the minute's budget; messages over it wait for the next minute on the
//! queue instead of being sent into a 429 (when Mindbox does not store the data).

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::store::{objects, Store};

/// The namespace binding in wrangler.toml.
pub const BINDING: &str = crate::bindings::RATE_BUDGET;

/// A fixed one-minute window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Start of the window (minutes since the Unix epoch).
    pub minute: u64,
    /// Requests granted in it.
    pub used: u32,
}

impl Window {
    /// Grants up to `wanted` requests at `now_ms` under `limit` per minute; returns how many.
    pub fn take(&mut self, wanted: u32, limit: u32, now_ms: f64) -> u32 {
        let minute = (now_ms / 60_000.0) as u64;
        if minute != self.minute {
            *self = Window { minute, used: 0 };
        }
        let granted = wanted.min(limit.saturating_sub(self.used));
        self.used += granted;
        granted
    }
}

/// Seconds until the next window opens.
pub fn secs_to_next_minute(now_ms: f64) -> u32 {
    (60.0 - (now_ms / 1000.0) % 60.0).ceil() as u32
}

/// The Durable Object.
#[durable_object(fetch)]
pub struct RateBudget {
    state: State,
}

#[derive(Serialize, Deserialize)]
struct Ask {
    wanted: u32,
    limit: u32,
}

impl DurableObject for RateBudget {
    fn new(state: State, _env: Env) -> Self {
        RateBudget { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let ask: Ask = objects::body(&mut req).await?;
        let mut window: Window = storage.get("window").await?.unwrap_or_default();
        let granted = window.take(
            ask.wanted,
            ask.limit,
            worker::Date::now().as_millis() as f64,
        );
        storage.put("window", &window).await?;
        objects::json(&granted)
    }
}

/// Asks for `wanted` requests of `operation` this minute; returns how many may be sent now.
pub async fn take(env: &Store, operation: &str, wanted: u32, limit: u32) -> Result<u32> {
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        let key = format!("budget:{operation}");
        return crate::store::pg::windows::grant(db, &key, wanted, limit).await;
    }
    objects::call(
        env,
        BINDING,
        &format!("rate:{operation}"),
        "/take",
        &Ask { wanted, limit },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_up_to_the_limit_per_minute() {
        let mut w = Window::default();
        assert_eq!(w.take(5, 8, 60_000.0), 5);
        assert_eq!(w.take(5, 8, 61_000.0), 3);
        assert_eq!(w.take(5, 8, 119_999.0), 0);
        assert_eq!(w.take(5, 8, 120_000.0), 5, "a new minute");
        assert_eq!(secs_to_next_minute(61_500.0), 59);
    }
}
