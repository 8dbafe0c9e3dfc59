//! What a consumer batch did: a [`Settled`] per message, counted for the ledger (`delivered`,
//! `backend.delivered`, …) and noted for the devices QA traces.

use std::collections::BTreeMap;

use crate::store::Store;

use crate::message::Delivery;
use crate::qa_trace::{self, Note, TraceState};
use crate::store::ledger;

/// How one message left the consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Mindbox took it (or had taken it before).
    Delivered,
    /// Mindbox, or the way there, failed for now: back on the queue with a delay.
    Retried,
    /// Mindbox refused it, retries ran out, or it was unreadable: kept in the ledger.
    DeadLettered,
    /// An older snapshot never sent because a newer one was.
    Superseded,
    /// Back on the queue for a reason not its own (another snapshot in flight, the collector).
    Waited,
    /// Back on the queue until the next minute: Mindbox's per-minute budget is spent.
    RateLimited,
}

impl Settled {
    /// Its counter in the ledger.
    pub fn counter(self) -> &'static str {
        match self {
            Settled::Delivered => "delivered",
            Settled::Retried => "retried",
            Settled::DeadLettered => "dead_lettered",
            Settled::Superseded => "superseded",
            Settled::Waited => "waited",
            Settled::RateLimited => "rate_limited",
        }
    }

    /// What QA's trace says of it.
    pub fn trace_state(self) -> TraceState {
        match self {
            Settled::Delivered => TraceState::Delivered,
            Settled::Retried => TraceState::Retrying,
            Settled::DeadLettered => TraceState::DeadLettered,
            Settled::Superseded => TraceState::Superseded,
            Settled::Waited | Settled::RateLimited => TraceState::Waiting,
        }
    }

    /// Whether it took a Mindbox call.
    fn called_mindbox(self) -> bool {
        matches!(
            self,
            Settled::Delivered | Settled::Retried | Settled::DeadLettered
        )
    }
}

/// The upper bounds (ms) of the Mindbox call-time histogram's buckets.
pub const CALL_MS_BUCKETS: &[u32] = &[10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/// What happened to messages, by counter name.
type Counts = BTreeMap<String, u64>;

/// What a consumer batch did: counters for the ledger, and notes for the devices QA traces.
#[derive(Default)]
pub struct Tally {
    counts: Counts,
    notes: Vec<(String, Note)>,
}

impl Tally {
    /// `d` ended this batch as `how` at `at`, with `reason`.
    pub fn settled(&mut self, d: &Delivery, how: Settled, reason: Option<String>, at: f64) {
        // The shop's backend's operations are counted apart (`backend.delivered`, …).
        if d.backend {
            self.add(&format!("backend.{}", how.counter()), 1);
        } else {
            self.add(how.counter(), 1);
        }
        if d.trace {
            let calls = d.attempts + u32::from(how.called_mindbox());
            let note = Note::at(d, how.trace_state(), calls, reason, at);
            self.notes.push((d.device_uuid.clone(), note));
        }
    }

    /// A message that was not a delivery at all, dead-lettered.
    pub fn unreadable(&mut self) {
        self.add(Settled::DeadLettered.counter(), 1);
    }

    /// Adds `n` to counter `name`.
    pub fn add(&mut self, name: &str, n: u64) {
        *self.counts.entry(name.to_string()).or_default() += n;
    }

    /// One Mindbox call took `ms`: counted in [`CALL_MS_BUCKETS`] (`mindbox_call_ms.le.<bound>`, the
    /// first bucket it fits; `mindbox_call_ms.le.inf` past the last), `mindbox_call_ms.sum` and
    /// `mindbox_call_ms.count`.
    pub fn call_took(&mut self, ms: f64) {
        let ms = ms.max(0.0);
        let bucket = CALL_MS_BUCKETS
            .iter()
            .find(|b| ms <= **b as f64)
            .map_or("inf".to_string(), |b| b.to_string());
        self.add(&format!("mindbox_call_ms.le.{bucket}"), 1);
        self.add("mindbox_call_ms.sum", ms.round() as u64);
        self.add("mindbox_call_ms.count", 1);
    }

    /// A note for QA's trace of `device`.
    pub fn note(&mut self, device: &str, note: Note) {
        self.notes.push((device.to_string(), note));
    }

    /// Writes the notes, and adds the counts to this isolate's (written by
    /// [`ledger::write_soon`], which the invocation runs after it). A failure is logged where it
    /// happens; it costs only counts and the QA page's states.
    pub async fn write(self, env: &Store) {
        if !self.notes.is_empty() {
            qa_trace::note_all(env, self.notes).await;
        }
        ledger::count(self.counts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_has_its_counter_and_trace_state() {
        use Settled::*;
        let all = [
            Delivered,
            Retried,
            DeadLettered,
            Superseded,
            Waited,
            RateLimited,
        ];
        let counters: Vec<&str> = all.iter().map(|s| s.counter()).collect();
        assert_eq!(
            counters,
            [
                "delivered",
                "retried",
                "dead_lettered",
                "superseded",
                "waited",
                "rate_limited"
            ]
        );
        assert_eq!(Retried.trace_state(), TraceState::Retrying);
        assert_eq!(RateLimited.trace_state(), TraceState::Waiting);
        assert!(DeadLettered.called_mindbox() && !Superseded.called_mindbox());
    }
}
