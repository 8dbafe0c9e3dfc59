//! QA's trace: what became of one device's events after the collector accepted them (queued,
//! delivered, retrying, waiting, dead-lettered, superseded, redriven), for the QA page.
//!
//! Only devices QA switches on (`POST /v1/admin/trace` with the admin token, for at most
//! [`MAX_HOURS`]) are traced, so production traffic pays nothing for it:
//! * the flag lives in the device's own [`crate::seen`] Durable Object, which the collector already
//!   asks about every batch; its answer says whether the device is traced, in the same read;
//! * a traced device's queue messages carry `trace: true` ([`crate::message::Delivery::trace`]), and
//!   only for those does the consumer write a [`Note`] (one call per device per consumer batch);
//! * an untraced message is unchanged (the field is left out).
//!
//! A device keeps at most [`KEEP`] notes, newest kept, and forgets them a day after its trace ends.
//! Notes carry the operation, the state, attempts and the reason, never the event's data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use worker::{Env, ListOptions, Request, Response, Result, Storage};

use crate::message::Delivery;
use crate::objects;

/// The longest trace QA may switch on at once.
pub const MAX_HOURS: f64 = 72.0;
/// Notes kept per device: the newest.
pub const KEEP: usize = 500;
/// Notes are forgotten this long after the trace ended.
pub const KEEP_AFTER_MS: f64 = 24.0 * 3600.0 * 1000.0;

/// On the queue (accepted by the collector).
pub const QUEUED: &str = "queued";
/// Mindbox took it.
pub const DELIVERED: &str = "delivered";
/// Mindbox (or the way there) failed for now; it is tried again.
pub const RETRYING: &str = "retrying";
/// Waiting on the queue for a reason not its own: Mindbox's rate budget, a snapshot being sent, the
/// collector's configuration.
pub const WAITING: &str = "waiting";
/// Mindbox refused it, or retries ran out: kept in the ledger with the reason.
pub const DEAD_LETTERED: &str = "dead_lettered";
/// An older cart or wishlist snapshot, not sent because a newer one was.
pub const SUPERSEDED: &str = "superseded";
/// Put back on the queue from the dead letters by an operator.
pub const REDRIVEN: &str = "redriven";

/// What became of one event, as the QA page reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// The event id (Mindbox's transactionId).
    pub id: String,
    /// Its operation.
    pub operation: String,
    /// One of the states above.
    pub state: String,
    /// Mindbox calls made so far.
    #[serde(default)]
    pub attempts: u32,
    /// Why it is retrying, waiting or dead-lettered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When this state was reached (ms since the Unix epoch).
    pub at: f64,
}

impl Note {
    /// A note for `d` in `state`, now.
    pub fn of(d: &Delivery, state: &str, attempts: u32, reason: Option<String>) -> Note {
        Note {
            id: d.event.id.clone(),
            operation: d.event.operation.clone(),
            state: state.to_string(),
            attempts,
            reason,
            at: worker::Date::now().as_millis() as f64,
        }
    }
}

/// The state a consumer counter stands for (`delivered`, `retried`, …; see [`crate::deliver`]).
pub fn state_of(counter: &str) -> &'static str {
    match counter {
        "delivered" => DELIVERED,
        "retried" => RETRYING,
        "dead_lettered" => DEAD_LETTERED,
        "superseded" => SUPERSEDED,
        _ => WAITING,
    }
}

/// Which note stands when `new` arrives for an event that has `old`: the later one, except that
/// "queued" (written after the collector's answer, so possibly after the consumer's first note)
/// never replaces another state.
pub fn merge(old: Option<Note>, new: Note) -> Note {
    match old {
        Some(old) if new.state == QUEUED || old.at > new.at => old,
        _ => new,
    }
}

/// The admin route's answer: until when the device is traced, and its notes, newest first.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    /// The device.
    #[serde(default, rename = "deviceUUID")]
    pub device_uuid: String,
    /// The trace is on until then (ms); 0 when it was never switched on or has been forgotten.
    pub until: f64,
    /// What became of its events.
    pub events: Vec<Note>,
}

#[derive(Serialize, Deserialize)]
struct Until {
    until: f64,
}

#[derive(Serialize, Deserialize)]
struct Notes {
    notes: Vec<Note>,
}

fn name(device: &str) -> String {
    crate::seen::object_name(device)
}

/// Switches the device's trace on for `hours` (capped at [`MAX_HOURS`]; 0 switches it off); returns
/// until when it is on.
pub async fn switch(env: &Env, device: &str, hours: f64) -> Result<f64> {
    let now = worker::Date::now().as_millis() as f64;
    let until = if hours > 0.0 {
        now + hours.min(MAX_HOURS) * 3600.0 * 1000.0
    } else {
        0.0
    };
    let q = Until { until };
    objects::call::<_, bool>(env, crate::seen::BINDING, &name(device), "/trace/set", &q).await?;
    Ok(until)
}

/// The device's trace.
pub async fn read(env: &Env, device: &str) -> Result<Trace> {
    let mut t: Trace =
        objects::call(env, crate::seen::BINDING, &name(device), "/trace/read", &()).await?;
    t.device_uuid = device.to_string();
    Ok(t)
}

/// Writes notes, one call per device. A failure only leaves the QA page a state behind.
pub async fn note_all(env: &Env, notes: Vec<(String, Note)>) {
    let mut by_device: BTreeMap<String, Vec<Note>> = BTreeMap::new();
    for (device, note) in notes {
        by_device.entry(device).or_default().push(note);
    }
    for (device, notes) in by_device {
        let (q, name) = (Notes { notes }, name(&device));
        let call = objects::call::<_, bool>(env, crate::seen::BINDING, &name, "/trace/note", &q);
        if let Err(e) = call.await {
            worker::console_error!("trace note not written: {e}");
        }
    }
}

/// The trace routes of a device's object (`/trace/set`, `/trace/note`, `/trace/read`).
pub async fn serve(storage: &Storage, path: &str, mut req: Request) -> Result<Response> {
    match path {
        "/trace/set" => {
            let q: Until = objects::body(&mut req).await?;
            storage.put(UNTIL, q.until).await?;
            if storage.get_alarm().await?.is_none() {
                storage.set_alarm(crate::seen::PRUNE_EVERY_MS).await?;
            }
            objects::json(&true)
        }
        "/trace/note" => {
            let q: Notes = objects::body(&mut req).await?;
            // Only while the device has a trace (switched on, not yet forgotten).
            if storage.get::<f64>(UNTIL).await?.is_some() {
                write(storage, q.notes).await?;
            }
            objects::json(&true)
        }
        "/trace/read" => {
            let until: f64 = storage.get(UNTIL).await?.unwrap_or(0.0);
            let mut events = all(storage).await?;
            events.sort_by(|a, b| b.at.total_cmp(&a.at));
            objects::json(&Trace {
                device_uuid: String::new(),
                until,
                events,
            })
        }
        _ => Response::error("unknown trace route", 404),
    }
}

/// Storage key: until when the device is traced.
pub const UNTIL: &str = "trace";
/// Storage key: how many notes were written since the last prune.
const WRITTEN: &str = "trace-written";

fn key(id: &str) -> String {
    format!("t:{id}")
}

/// Merges and stores notes; past twice [`KEEP`] written, keeps only the newest [`KEEP`].
pub async fn write(storage: &Storage, notes: Vec<Note>) -> Result<()> {
    if notes.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = notes.iter().map(|n| key(&n.id)).collect();
    let mut old: BTreeMap<String, Note> = objects::entries(&storage.get_multiple(keys).await?)
        .into_iter()
        .filter_map(|(k, v)| Some((k, serde_json::from_str(&v).ok()?)))
        .collect();
    let values = js_sys::Object::new();
    let mut merged: BTreeMap<String, Note> = BTreeMap::new();
    for n in notes {
        let k = key(&n.id);
        let before = merged.remove(&k).or_else(|| old.remove(&k));
        merged.insert(k, merge(before, n));
    }
    for (k, n) in &merged {
        js_sys::Reflect::set(&values, &k.into(), &serde_json::to_string(n)?.into())?;
    }
    storage.put_multiple_raw(values).await?;
    let written: usize = storage.get(WRITTEN).await?.unwrap_or(0) + merged.len();
    if written > 2 * KEEP {
        let mut notes = all(storage).await?;
        notes.sort_by(|a, b| b.at.total_cmp(&a.at));
        let doomed: Vec<String> = notes.iter().skip(KEEP).map(|n| key(&n.id)).collect();
        storage.delete_multiple(doomed).await?;
        storage.put(WRITTEN, KEEP).await?;
    } else {
        storage.put(WRITTEN, written).await?;
    }
    Ok(())
}

async fn all(storage: &Storage) -> Result<Vec<Note>> {
    let listed = storage
        .list_with_options(ListOptions::new().prefix("t:"))
        .await?;
    Ok(objects::entries(&listed)
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_str(&v).ok())
        .collect())
}

/// The alarm's part: a day after the trace ended, forget it and its notes. Returns whether a trace
/// is still kept (so the alarm must come again).
pub async fn prune(storage: &Storage, now: f64) -> Result<bool> {
    let Some(until) = storage.get::<f64>(UNTIL).await? else {
        return Ok(false);
    };
    if until + KEEP_AFTER_MS > now {
        return Ok(true);
    }
    let listed = storage
        .list_with_options(ListOptions::new().prefix("t:"))
        .await?;
    let mut doomed: Vec<String> = objects::entries(&listed)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    doomed.push(UNTIL.into());
    doomed.push(WRITTEN.into());
    for chunk in doomed.chunks(128) {
        storage.delete_multiple(chunk.to_vec()).await?;
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(state: &str, at: f64) -> Note {
        Note {
            id: "e".into(),
            operation: "Website.SetCart".into(),
            state: state.into(),
            attempts: 0,
            reason: None,
            at,
        }
    }

    #[test]
    fn the_later_state_stands_and_queued_never_replaces_another() {
        assert_eq!(merge(None, note(QUEUED, 1.0)).state, QUEUED);
        assert_eq!(
            merge(Some(note(QUEUED, 1.0)), note(RETRYING, 2.0)).state,
            RETRYING
        );
        assert_eq!(
            merge(Some(note(RETRYING, 2.0)), note(DELIVERED, 3.0)).state,
            DELIVERED
        );
        // The collector's "queued" note is written after its answer, possibly after delivery.
        assert_eq!(
            merge(Some(note(DELIVERED, 3.0)), note(QUEUED, 4.0)).state,
            DELIVERED
        );
        // A note that arrives late does not undo a newer one.
        assert_eq!(
            merge(Some(note(DELIVERED, 3.0)), note(RETRYING, 2.0)).state,
            DELIVERED
        );
        // A redrive after a dead letter is newer.
        assert_eq!(
            merge(Some(note(DEAD_LETTERED, 3.0)), note(REDRIVEN, 5.0)).state,
            REDRIVEN
        );
    }

    #[test]
    fn consumer_counters_map_to_states() {
        assert_eq!(state_of("delivered"), DELIVERED);
        assert_eq!(state_of("retried"), RETRYING);
        assert_eq!(state_of("dead_lettered"), DEAD_LETTERED);
        assert_eq!(state_of("superseded"), SUPERSEDED);
        assert_eq!(state_of("waited"), WAITING);
        assert_eq!(state_of("rate_limited"), WAITING);
    }
}
