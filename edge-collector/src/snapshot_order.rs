//! Snapshot order: a cart or wishlist snapshot older than one already sent for the same device is never
//! sent after it, whatever retries do to the order of queue messages.
//!
//! A snapshot (`Website.SetCart`, `Website.ClearCart`, `Website.SetWishList` by default) replaces the
//! whole list at Mindbox, so only the newest matters. One Durable Object per device and list kind
//! (`<kind>:<deviceUUID>`) serialises them: before a snapshot is sent it must *claim* the slot, which
//! fails for one older than the newest claimed (it is superseded: acked and counted, the newer one
//! carries the full state) and waits while another snapshot is in flight (so two can never race to
//! Mindbox). After the call the claim is *released*.

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::objects;

/// The namespace binding in wrangler.toml.
pub const BINDING: &str = crate::bindings::SNAPSHOT_ORDER;
/// An in-flight claim older than this is considered abandoned (the consumer died mid-call).
const IN_FLIGHT_TIMEOUT_MS: f64 = 30_000.0;

/// Two snapshots whose collector-clock times are closer than this are ordered by the tracker's own
/// clock (the same device's clock for both), so network jitter between two batches cannot swap them.
pub const NEAR_MS: f64 = 2000.0;

/// A snapshot's place in time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stamp {
    /// When it was made, on the collector's clock ([`crate::enrich::event_time`]): no client clock
    /// can put it after the moment it reached the collector.
    pub at: f64,
    /// `createdAt` on the tracker's clock (microseconds kept), for snapshots within [`NEAR_MS`].
    #[serde(default)]
    pub device_at: f64,
    /// Place in its batch: call order where times tie.
    #[serde(default)]
    pub seq: u32,
    /// The event id.
    pub id: String,
}

impl Stamp {
    /// Which of two snapshots is newer: by collector-clock time, and within [`NEAR_MS`] by the
    /// tracker's clock, then by place in the batch, then by id.
    pub fn order(&self, other: &Stamp) -> std::cmp::Ordering {
        let by_time = self.at.total_cmp(&other.at);
        if (self.at - other.at).abs() > NEAR_MS {
            return by_time;
        }
        self.device_at
            .total_cmp(&other.device_at)
            .then(self.seq.cmp(&other.seq))
            .then(by_time)
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
}

impl Slot {
    /// Decides a claim for `stamp` at time `now` and updates the slot.
    pub fn claim(&mut self, stamp: Stamp, now: f64) -> Claim {
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

/// The Durable Object: one slot per instance.
#[durable_object(fetch)]
pub struct SnapshotOrder {
    state: State,
}

#[derive(Serialize, Deserialize)]
struct Ask {
    stamp: Stamp,
}

impl DurableObject for SnapshotOrder {
    fn new(state: State, _env: Env) -> Self {
        SnapshotOrder { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let mut slot: Slot = storage.get("slot").await?.unwrap_or_default();
        let ask: Ask = objects::body(&mut req).await?;
        let answer = match req.path().as_str() {
            "/claim" => slot.claim(ask.stamp, worker::Date::now().as_millis() as f64),
            "/release" => {
                slot.release(&ask.stamp.id);
                Claim::Go
            }
            _ => return Response::error("unknown snapshot-order route", 404),
        };
        storage.put("slot", &slot).await?;
        objects::json(&answer)
    }
}

/// Claims the slot `kind:device` for a snapshot.
pub async fn claim(env: &Env, kind: &str, device: &str, stamp: &Stamp) -> Result<Claim> {
    objects::call(
        env,
        BINDING,
        &format!("{kind}:{device}"),
        "/claim",
        &Ask {
            stamp: stamp.clone(),
        },
    )
    .await
}

/// Releases a claim after the Mindbox call, whatever its outcome.
pub async fn release(env: &Env, kind: &str, device: &str, stamp: &Stamp) -> Result<()> {
    objects::call::<_, Claim>(
        env,
        BINDING,
        &format!("{kind}:{device}"),
        "/release",
        &Ask {
            stamp: stamp.clone(),
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(at: f64, id: &str) -> Stamp {
        Stamp {
            at,
            device_at: at,
            seq: 0,
            id: id.into(),
        }
    }

    #[test]
    fn same_millisecond_snapshots_keep_call_order() {
        // clearCart() then setCart() in one handler: same batch, tracker times 1 µs apart, ids random.
        let clear = Stamp {
            at: 5.0,
            device_at: 100.001,
            seq: 0,
            id: "ff".into(),
        };
        let set = Stamp {
            at: 5.001,
            device_at: 100.002,
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
            device_at: 1.0,
            seq: 0,
            id: "a".into(),
        };
        let b = Stamp {
            at: 9.5,
            device_at: 1.001,
            seq: 0,
            id: "b".into(),
        };
        assert!(a.order(&b).is_lt());
    }

    #[test]
    fn a_clock_years_ahead_does_not_supersede_later_snapshots() {
        // An attacker (or a broken clock) says "year 2100"; event_time already capped `at` at its
        // receive time, so a snapshot the shopper makes a few seconds later is newer.
        let poisoned = Stamp {
            at: 1_000_000.0,
            device_at: 4.1e12,
            seq: 0,
            id: "x".into(),
        };
        let later = Stamp {
            at: 1_005_000.0,
            device_at: 1.8e12,
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
