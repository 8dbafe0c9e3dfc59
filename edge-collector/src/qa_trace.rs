//! QA's trace: what became of one device's events after the collector accepted them (queued,
//! delivered, retrying, waiting, dead-lettered, superseded, redriven), for the QA page.
//!
//! Only devices QA switches on (`POST /v1/admin/trace` with QA's or the admin token, for at most
//! [`MAX_HOURS`]) are traced, so production traffic pays nothing for it:
//! * the flag lives with the device's queued ids in its [`crate::store::seen`] shard, which the collector
//!   already asks about every batch; its answer says whether the device is traced, in the same read;
//! * a traced device's queue messages carry `trace: true` ([`crate::message::Delivery::trace`]), and
//!   only for those does the consumer write a [`Note`] (one call per device per consumer batch);
//! * an untraced message is unchanged (the field is left out).
//!
//! A device keeps at most `TRACE_KEEP` notes, newest kept, and forgets them a day after its trace ends
//! ([`crate::store::trace_notes`]). Notes carry the operation, the state, attempts and the reason,
//! never the event's data.

use std::collections::BTreeMap;

use worker::Result;

use crate::message::Delivery;
use crate::store::expiry::KEYS_PER_CALL;
pub use crate::store::trace_notes::{Note, Trace, TraceState};
use crate::store::trace_notes::{Notes, Until};
use crate::store::{objects, Store};

/// The longest trace QA may switch on at once.
pub const MAX_HOURS: f64 = 72.0;

impl Note {
    /// A note for `d` in `state`, reached `at` (ms).
    pub fn at(
        d: &Delivery,
        state: TraceState,
        attempts: u32,
        reason: Option<String>,
        at: f64,
    ) -> Note {
        Note::new(&d.event.id, &d.event.operation, state, attempts, reason, at)
    }

    /// A note for `d` in `state`, now.
    pub fn of(d: &Delivery, state: TraceState, attempts: u32, reason: Option<String>) -> Note {
        Note::at(
            d,
            state,
            attempts,
            reason,
            worker::Date::now().as_millis() as f64,
        )
    }
}

/// Switches the device's trace on for `hours` (capped at [`MAX_HOURS`]; 0 switches it off); returns
/// until when it is on.
pub async fn switch(env: &Store, device: &str, hours: f64) -> Result<f64> {
    let now = worker::Date::now().as_millis() as f64;
    let until = if hours > 0.0 {
        now + hours.min(MAX_HOURS) * 3600.0 * 1000.0
    } else {
        0.0
    };
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        let remember = crate::config::StorageSettings::from_env(env).device_state_ms;
        crate::store::pg::seen::switch(db, device, until, remember).await?;
        return Ok(until);
    }
    let q = Until { until };
    let (shard, path) = crate::store::seen::route(device, "/trace/set");
    objects::call::<_, bool>(env, crate::store::seen::BINDING, &shard, &path, &q).await?;
    Ok(until)
}

/// The device's trace.
pub async fn read(env: &Store, device: &str) -> Result<Trace> {
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        let keep = crate::config::StorageSettings::from_env(env).trace_keep;
        return crate::store::pg::seen::read(db, device, keep).await;
    }
    let (shard, path) = crate::store::seen::route(device, "/trace/read");
    let mut t: Trace = objects::call(env, crate::store::seen::BINDING, &shard, &path, &()).await?;
    t.device_uuid = device.to_string();
    Ok(t)
}

/// Writes notes, one call per device. A failure only leaves the QA page a state behind.
pub async fn note_all(env: &Store, notes: Vec<(String, Note)>) {
    let mut by_device: BTreeMap<String, Vec<Note>> = BTreeMap::new();
    for (device, note) in notes {
        by_device.entry(device).or_default().push(note);
    }
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        for (device, notes) in by_device {
            if let Err(e) = crate::store::pg::seen::add_notes(db, &device, &notes).await {
                worker::console_error!("trace note not written: {e}");
            }
        }
        return;
    }
    for (device, notes) in by_device {
        let (shard, path) = crate::store::seen::route(&device, "/trace/note");
        for chunk in notes.chunks(KEYS_PER_CALL) {
            let q = Notes {
                notes: chunk.to_vec(),
            };
            let call =
                objects::call::<_, bool>(env, crate::store::seen::BINDING, &shard, &path, &q);
            if let Err(e) = call.await {
                worker::console_error!("trace note not written: {e}");
            }
        }
    }
}
