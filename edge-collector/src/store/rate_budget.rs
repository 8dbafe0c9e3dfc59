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

/// What one isolate takes from the shared budget at least when it asks: this share of the minute's
/// limit. The rest of a grant is this isolate's to spend in the same minute, without asking again;
/// what it leaves unspent when the minute ends is lost to the minute (at most this share per
/// isolate), so the collector may send a little less than the limit, never more.
pub const LEASE_SHARE: u32 = 40;

/// An isolate's part of a minute's budget.
#[derive(Default)]
struct Lease {
    /// The minute (since the Unix epoch) it was granted in.
    minute: u64,
    /// Requests left to send.
    left: u32,
}

impl Lease {
    /// Spends up to `wanted` of the lease in `minute` (a lease of an earlier minute is gone); how
    /// many.
    fn spend(&mut self, minute: u64, wanted: u32) -> u32 {
        if self.minute != minute {
            *self = Lease { minute, left: 0 };
        }
        let spent = wanted.min(self.left);
        self.left -= spent;
        spent
    }

    /// Keeps `extra` granted in `minute`, if the lease is still that minute's.
    fn keep(&mut self, minute: u64, extra: u32) {
        if self.minute == minute {
            self.left += extra;
        }
    }
}

/// How much to ask the shared budget for when `rest` is wanted: at least a [`LEASE_SHARE`]th of the
/// limit, never more than the limit (unless `rest` is more: the budget grants what it can).
fn lease_ask(rest: u32, limit: u32) -> u32 {
    rest.max(limit / LEASE_SHARE).min(limit.max(rest))
}

thread_local! {
    /// Per operation: this isolate's part of the current minute's budget, taken and not spent.
    static LEASES: std::cell::RefCell<std::collections::HashMap<String, Lease>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Asks for `wanted` requests of `operation` this minute; returns how many may be sent now. Spends
/// this isolate's lease first, and asks the shared budget (a Durable Object per operation, or
/// PostgreSQL) only for what the lease does not cover, taking at least a [`LEASE_SHARE`]th of the
/// limit at a time.
pub async fn take(env: &Store, operation: &str, wanted: u32, limit: u32) -> Result<u32> {
    let now = worker::Date::now().as_millis() as f64;
    let minute = (now / 60_000.0) as u64;
    let from_lease = LEASES.with(|l| {
        let mut l = l.borrow_mut();
        l.entry(operation.to_string())
            .or_default()
            .spend(minute, wanted)
    });
    let rest = wanted - from_lease;
    if rest == 0 {
        return Ok(from_lease);
    }
    let ask = lease_ask(rest, limit);
    let granted = match take_shared(env, operation, ask, limit).await {
        Ok(g) => g,
        Err(e) if from_lease > 0 => {
            worker::console_error!("rate budget unavailable for {operation}: {e}");
            return Ok(from_lease);
        }
        Err(e) => return Err(e),
    };
    let now_spent = granted.min(rest);
    LEASES.with(|l| {
        let mut l = l.borrow_mut();
        l.entry(operation.to_string())
            .or_default()
            .keep(minute, granted - now_spent);
    });
    Ok(from_lease + now_spent)
}

/// Takes up to `wanted` from the minute's shared budget of `operation`.
async fn take_shared(env: &Store, operation: &str, wanted: u32, limit: u32) -> Result<u32> {
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

    #[test]
    fn an_isolate_spends_its_lease_within_the_minute_it_was_granted_in() {
        assert_eq!(lease_ask(5, 8_000), 200, "a 40th of the limit at least");
        assert_eq!(lease_ask(300, 8_000), 300);
        assert_eq!(lease_ask(5, 10), 5, "a small limit: only what is wanted");
        assert_eq!(lease_ask(50, 10), 50, "the budget grants what it can");
        let mut lease = Lease::default();
        assert_eq!(lease.spend(7, 5), 0, "nothing leased yet");
        lease.keep(7, 195);
        assert_eq!(lease.spend(7, 100), 100);
        assert_eq!(lease.spend(7, 100), 95, "the rest of it");
        lease.keep(7, 10);
        assert_eq!(lease.spend(8, 10), 0, "a new minute: the old lease is gone");
        lease.keep(7, 10);
        assert_eq!(
            lease.spend(8, 10),
            0,
            "a late grant of an old minute is not kept"
        );
    }
}
