//! Snapshot order: a cart or wishlist snapshot older than one already sent for the same device is never
//! sent after it, whatever retries do to the order of queue messages.
//!
//! A snapshot (`SNAPSHOT_OPERATIONS`: carts, wishlists and their clearing, by default) replaces the
//! whole list at Mindbox, so only the newest matters. One slot per device and list kind
//! (`<kind>:<deviceUUID>`; an order's status: `order:<its ids>`) serialises them, kept in one of
//! [`SHARDS`] Durable Objects (`order-0` … `order-255`, by a hash of the slot's name; never one per
//! device, so made-up device ids cannot grow the number of objects). A device's slot not claimed for
//! `DEVICE_STATE_SECONDS` (a week by default, past the queue's four-day retention, so no message that
//! could still arrive is older than what it forgets) is deleted ([`crate::store::expiry`]); an order's slot
//! is kept (a dead letter redriven weeks later still finds the newer status). Before a
//! snapshot is sent it must *claim* the slot, which
//! fails for one older than the newest claimed (it is superseded: acked and counted, the newer one
//! carries the full state) and waits while another snapshot is in flight (so two can never race to
//! Mindbox). After the call the claim is *released*.

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::store::expiry;
use crate::store::{objects, Store};

/// The namespace binding in wrangler.toml.
pub const BINDING: &str = crate::bindings::SNAPSHOT_ORDER;
/// How many objects the slots are spread over.
pub const SHARDS: usize = 256;
/// An in-flight claim older than this is considered abandoned (the consumer died mid-call).
const IN_FLIGHT_TIMEOUT_MS: f64 = 30_000.0;

/// Two snapshots whose collector-clock times are closer than this are ordered by the tracker's own
/// clock (the same device's clock for both), so network jitter between two batches cannot swap them,
/// when both times were vouched for by their batch's `sentAt` and the two clocks agree on the gap.
pub const NEAR_MS: f64 = 2000.0;

/// How many ids a slot remembers the first stamp of (a resend keeps the place its first copy had).
pub const REMEMBERED: usize = 64;

/// A snapshot's place in time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stamp {
    /// When it was made, on the collector's clock ([`crate::gate::enrich::event_time`]): no client clock
    /// can put it after the moment it reached the collector.
    pub at: f64,
    /// `createdAt` on the tracker's clock (microseconds kept), only when its batch's `sentAt`
    /// vouched for it ([`crate::message::Delivery::device_at`]).
    #[serde(default)]
    pub device_at: Option<f64>,
    /// Place in its batch: call order where times tie.
    #[serde(default)]
    pub seq: u32,
    /// The event id.
    pub id: String,
}

impl Stamp {
    /// Which of two snapshots is newer: by collector-clock time; within [`NEAR_MS`], by the tracker's
    /// clock when both are vouched for and it tells the same gap as the collector's (give or take
    /// [`NEAR_MS`]: a clock years ahead says nothing about order), then by place in the batch, then by
    /// id.
    pub fn order(&self, other: &Stamp) -> std::cmp::Ordering {
        let by_time = self.at.total_cmp(&other.at);
        let gap = self.at - other.at;
        if gap.abs() > NEAR_MS {
            return by_time;
        }
        match (self.device_at, other.device_at) {
            (Some(a), Some(b)) if ((a - b) - gap).abs() <= NEAR_MS => {
                a.total_cmp(&b).then(self.seq.cmp(&other.seq)).then(by_time)
            }
            // The collector's receive order; the place in the batch where that ties.
            _ => by_time.then(self.seq.cmp(&other.seq)),
        }
        .then(self.id.cmp(&other.id))
    }
}

/// What a claim says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Claim {
    /// Send it now.
    Go,
    /// A newer snapshot was claimed: do not send this one.
    Stale,
    /// Another snapshot is being sent: try again shortly.
    Busy,
}

/// The slot's state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    /// The newest snapshot claimed so far.
    pub newest: Option<Stamp>,
    /// The snapshot being sent, and since when (ms).
    pub in_flight: Option<(String, f64)>,
    /// The first stamp of the newest [`REMEMBERED`] ids claimed: a resend of one (the backend's
    /// idempotent retry, a tracker's resend) is placed where its first copy was, never "now".
    #[serde(default)]
    pub first: Vec<Stamp>,
}

impl Slot {
    /// Decides a claim for `stamp` at time `now` and updates the slot.
    pub fn claim(&mut self, stamp: Stamp, now: f64) -> Claim {
        let stamp = match self.first.iter().find(|s| s.id == stamp.id) {
            Some(first) => first.clone(),
            None => {
                if self.first.len() >= REMEMBERED {
                    self.first.remove(0);
                }
                self.first.push(stamp.clone());
                stamp
            }
        };
        if let Some(newest) = &self.newest {
            if stamp.order(newest).is_lt() {
                return Claim::Stale;
            }
        }
        if let Some((id, since)) = &self.in_flight {
            if *id != stamp.id && now - since < IN_FLIGHT_TIMEOUT_MS {
                return Claim::Busy;
            }
        }
        self.in_flight = Some((stamp.id.clone(), now));
        self.newest = Some(stamp);
        Claim::Go
    }

    /// Ends the in-flight claim of event `id`.
    pub fn release(&mut self, id: &str) {
        if self.in_flight.as_ref().is_some_and(|(i, _)| i == id) {
            self.in_flight = None;
        }
    }
}

/// The Durable Object: one shard of slots, each under `slot:<kind>:<key>`.
#[durable_object(alarm)]
pub struct SnapshotOrder {
    state: State,
    /// How long an idle slot is kept (`DEVICE_STATE_SECONDS`).
    idle_ms: f64,
}

#[derive(Serialize, Deserialize)]
struct Ask {
    /// The slot's name: `<kind>:<key>`.
    slot: String,
    stamp: Stamp,
}

impl DurableObject for SnapshotOrder {
    fn new(state: State, env: Env) -> Self {
        SnapshotOrder {
            state,
            idle_ms: crate::config::StorageSettings::from_env(&env).device_state_ms,
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let ask: Ask = objects::body(&mut req).await?;
        let key = format!("slot:{}", ask.slot);
        let mut slot: Slot = storage.get(&key).await?.unwrap_or_default();
        let now = worker::Date::now().as_millis() as f64;
        let answer = match req.path().as_str() {
            "/claim" => slot.claim(ask.stamp, now),
            "/release" => {
                slot.release(&ask.stamp.id);
                Claim::Go
            }
            _ => return Response::error("unknown snapshot-order route", 404),
        };
        storage.put(&key, &slot).await?;
        // An order's slot is kept: a dead letter redriven weeks later must still find the newer
        // status. Orders come from the shop's backend, one slot per order, not from made-up devices.
        if !ask.slot.starts_with("order:") {
            expiry::extend(&storage, &ask.slot, now + self.idle_ms, self.idle_ms / 8.0).await?;
        }
        objects::json(&answer)
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        let now = worker::Date::now().as_millis() as f64;
        for (index_key, name) in expiry::expired(&storage, now).await? {
            let mut doomed = expiry::doomed(index_key, &name).to_vec();
            doomed.push(format!("slot:{name}"));
            expiry::delete_all(&storage, doomed).await?;
        }
        expiry::rearm(&storage).await?;
        Response::ok("")
    }
}

/// Asks the shard of slot `kind:key`.
async fn ask(env: &Store, kind: &str, key: &str, path: &str, stamp: &Stamp) -> Result<Claim> {
    let slot = format!("{kind}:{key}");
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        let idle = crate::config::StorageSettings::from_env(env).device_state_ms;
        return crate::store::pg::slots::ask(db, &slot, stamp, path == "/release", idle).await;
    }
    let shard = format!("order-{}", expiry::shard_of(&slot, SHARDS));
    let ask = Ask {
        slot,
        stamp: stamp.clone(),
    };
    objects::call(env, BINDING, &shard, path, &ask).await
}

/// Claims the slot `kind:key` for a snapshot.
pub async fn claim(env: &Store, kind: &str, key: &str, stamp: &Stamp) -> Result<Claim> {
    ask(env, kind, key, "/claim", stamp).await
}

/// Releases a claim after the Mindbox call, whatever its outcome.
pub async fn release(env: &Store, kind: &str, key: &str, stamp: &Stamp) -> Result<()> {
    ask(env, kind, key, "/release", stamp).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(at: f64, id: &str) -> Stamp {
        Stamp {
            at,
            device_at: Some(at),
            seq: 0,
            id: id.into(),
        }
    }

    #[test]
    fn same_millisecond_snapshots_keep_call_order() {
        // clearCart() then setCart() in one handler: same batch, tracker times 1 µs apart, ids random.
        let clear = Stamp {
            at: 5.0,
            device_at: Some(100.001),
            seq: 0,
            id: "ff".into(),
        };
        let set = Stamp {
            at: 5.001,
            device_at: Some(100.002),
            seq: 1,
            id: "00".into(),
        };
        assert!(clear.order(&set).is_lt());
        let mut slot = Slot::default();
        assert_eq!(slot.claim(set.clone(), 0.0), Claim::Go);
        slot.release("00");
        assert_eq!(
            slot.claim(clear, 1.0),
            Claim::Stale,
            "the clear made first never follows the set"
        );
        // Two batches with network jitter: the tracker's clock decides within NEAR_MS.
        let a = Stamp {
            at: 10.0,
            device_at: Some(1.0),
            seq: 0,
            id: "a".into(),
        };
        let b = Stamp {
            at: 9.5,
            device_at: Some(1.001),
            seq: 0,
            id: "b".into(),
        };
        assert!(a.order(&b).is_lt());
    }

    #[test]
    fn an_unvouched_or_implausible_tracker_clock_never_orders_snapshots() {
        // No `sentAt` in the batch: `createdAt` years ahead is not vouched for, so the cart made
        // a second later (by the collector's clock) is newer.
        let unvouched = Stamp {
            at: 1_000_000.0,
            device_at: None,
            seq: 5,
            id: "x".into(),
        };
        let later = Stamp {
            at: 1_001_000.0,
            device_at: Some(1.8e12),
            seq: 0,
            id: "y".into(),
        };
        assert!(unvouched.order(&later).is_lt());
        let mut slot = Slot::default();
        assert_eq!(slot.claim(unvouched.clone(), 0.0), Claim::Go);
        slot.release("x");
        assert_eq!(slot.claim(later.clone(), 1.0), Claim::Go);
        // Vouched for, but the tracker's gap (years) is not the collector's (a second): ignored.
        let ahead = Stamp {
            device_at: Some(4.1e12),
            ..unvouched
        };
        assert!(ahead.order(&later).is_lt());
    }

    #[test]
    fn a_resend_keeps_the_place_of_its_first_copy() {
        // Status X delivered, status Y claimed (its first try failed), then X sent again: X keeps
        // its first stamp, so it is stale and Y still goes.
        let mut slot = Slot::default();
        assert_eq!(slot.claim(s(1_000.0, "x"), 0.0), Claim::Go);
        slot.release("x");
        assert_eq!(slot.claim(s(5_000.0, "y"), 1.0), Claim::Go);
        slot.release("y");
        assert_eq!(slot.claim(s(9_000.0, "x"), 2.0), Claim::Stale);
        assert_eq!(slot.claim(s(5_000.0, "y"), 3.0), Claim::Go);
        // Only the newest REMEMBERED ids are kept.
        for i in 0..REMEMBERED + 10 {
            slot.release(&format!("{}", i.saturating_sub(1)));
            slot.claim(s(10_000.0 + i as f64 * 3_000.0, &format!("{i}")), 4.0);
        }
        assert_eq!(slot.first.len(), REMEMBERED);
    }

    #[test]
    fn a_clock_years_ahead_does_not_supersede_later_snapshots() {
        // An attacker (or a broken clock) says "year 2100"; event_time already capped `at` at its
        // receive time, so a snapshot the shopper makes a few seconds later is newer.
        let poisoned = Stamp {
            at: 1_000_000.0,
            device_at: Some(4.1e12),
            seq: 0,
            id: "x".into(),
        };
        let later = Stamp {
            at: 1_005_000.0,
            device_at: Some(1.8e12),
            seq: 0,
            id: "y".into(),
        };
        let mut slot = Slot::default();
        assert_eq!(slot.claim(poisoned, 0.0), Claim::Go);
        slot.release("x");
        assert_eq!(slot.claim(later, 1.0), Claim::Go);
    }

    #[test]
    fn older_snapshots_are_stale_once_a_newer_one_was_claimed() {
        let mut slot = Slot::default();
        assert_eq!(slot.claim(s(2.0, "b"), 0.0), Claim::Go);
        slot.release("b");
        assert_eq!(slot.claim(s(1.0, "a"), 1.0), Claim::Stale);
        assert_eq!(
            slot.claim(s(2.0, "b"), 2.0),
            Claim::Go,
            "a retry of the newest may go again"
        );
        slot.release("b");
        assert_eq!(slot.claim(s(3.0, "c"), 3.0), Claim::Go);
    }

    #[test]
    fn one_snapshot_in_flight_at_a_time() {
        let mut slot = Slot::default();
        assert_eq!(slot.claim(s(1.0, "a"), 0.0), Claim::Go);
        assert_eq!(slot.claim(s(2.0, "b"), 10.0), Claim::Busy);
        assert_eq!(
            slot.claim(s(2.0, "b"), IN_FLIGHT_TIMEOUT_MS + 1.0),
            Claim::Go,
            "abandoned claims expire"
        );
        slot.release("a");
        assert_eq!(
            slot.in_flight.as_ref().map(|(i, _)| i.as_str()),
            Some("b"),
            "a stale release changes nothing"
        );
    }
}
