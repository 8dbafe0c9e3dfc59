//! QA's trace notes as the [`crate::store::seen`] shards keep them: under `<device>/` in the device's
//! shard, until when the device is traced (`<device>/trace`) and a [`Note`] per event
//! (`<device>/t:<id>`), at most `TRACE_KEEP` of them, the newest, forgotten a day after the trace
//! ended. What QA's trace is and who writes the notes: [`crate::qa_trace`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use worker::{ListOptions, Request, Response, Result, Storage};

use crate::store::expiry::{self, delete_all};
use crate::store::objects;

/// Notes are forgotten this long after the trace ended.
pub const KEEP_AFTER_MS: f64 = 24.0 * 3600.0 * 1000.0;
/// A reason is cut to this many bytes: Mindbox's validation messages can be long (and may echo what
/// the shopper typed).
pub const MAX_REASON_BYTES: usize = 1024;

/// What became of an event after the collector, as the QA page names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceState {
    /// On the queue (accepted by the collector).
    Queued,
    /// Mindbox took it.
    Delivered,
    /// Mindbox (or the way there) failed for now; it is tried again.
    Retrying,
    /// Waiting on the queue for a reason not its own: Mindbox's rate budget, a snapshot being sent,
    /// the collector's configuration.
    Waiting,
    /// Mindbox refused it, or retries ran out: kept in the ledger with the reason.
    DeadLettered,
    /// An older cart or wishlist snapshot, not sent because a newer one was.
    Superseded,
    /// Put back on the queue from the dead letters by an operator.
    Redriven,
}

/// What became of one event, as the QA page reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// The event id (Mindbox's transactionId).
    pub id: String,
    /// Its operation.
    pub operation: String,
    /// What became of it.
    pub state: TraceState,
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
    /// A note `state` for event `id` of `operation`, reached `at` (ms), its reason cut to
    /// [`MAX_REASON_BYTES`].
    pub fn new(
        id: &str,
        operation: &str,
        state: TraceState,
        attempts: u32,
        reason: Option<String>,
        at: f64,
    ) -> Note {
        Note {
            id: id.to_string(),
            operation: operation.to_string(),
            state,
            attempts,
            reason: reason.map(|r| cut(r, MAX_REASON_BYTES)),
            at,
        }
    }
}

/// `s` cut to at most `max` bytes, on a character boundary, with "…" when cut.
fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let end = (0..=max - 3)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s.truncate(end);
        s.push('…');
    }
    s
}

/// Which note stands when `new` arrives for an event that has `old`. Notes can arrive out of order
/// (the collector's "queued" note is written after its answer, and two consumer invocations can hold
/// copies of one event), so:
/// * "queued" never replaces another state;
/// * "delivered" and "superseded" are final: only a later "redriven" replaces them;
/// * otherwise the note with more Mindbox calls made wins, and on a tie the later one.
pub fn merge(old: Option<Note>, new: Note) -> Note {
    let Some(old) = old else { return new };
    let keep_old = if new.state == TraceState::Queued {
        true
    } else if new.state == TraceState::Redriven {
        old.at > new.at
    } else if matches!(old.state, TraceState::Delivered | TraceState::Superseded) {
        true
    } else {
        (old.attempts, old.at) > (new.attempts, new.at)
    };
    if keep_old {
        old
    } else {
        new
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

/// The body that switches a trace: until when (ms; 0 switches it off).
#[derive(Serialize, Deserialize)]
pub struct Until {
    /// Until when the device is traced.
    pub until: f64,
}

/// The body that adds notes.
#[derive(Serialize, Deserialize)]
pub struct Notes {
    /// The notes, merged with those kept ([`merge`]).
    pub notes: Vec<Note>,
}

/// The trace routes of a device in its [`crate::store::seen`] shard (`/trace/set`, `/trace/note`,
/// `/trace/read`), its keys under `prefix` (`<device>/`), keeping at most `keep` notes.
pub async fn serve(
    storage: &Storage,
    keep: usize,
    prefix: &str,
    path: &str,
    mut req: Request,
) -> Result<Response> {
    match path {
        "/trace/set" => {
            let q: Until = objects::body(&mut req).await?;
            // Switched off: it ended now, and its notes are kept a day from now.
            let until = if q.until > 0.0 { q.until } else { now() };
            storage.put(&until_key(prefix), until).await?;
            objects::json(&true)
        }
        "/trace/note" => {
            let q: Notes = objects::body(&mut req).await?;
            // Only while the device has a trace (switched on, not yet forgotten).
            if storage.get::<f64>(&until_key(prefix)).await?.is_some() {
                write(storage, keep, prefix, q.notes).await?;
            }
            objects::json(&true)
        }
        "/trace/read" => {
            let until: f64 = storage.get(&until_key(prefix)).await?.unwrap_or(0.0);
            let mut events = all(storage, prefix).await?;
            events.sort_by(|a, b| b.at.total_cmp(&a.at));
            events.truncate(keep);
            objects::json(&Trace {
                device_uuid: String::new(),
                until: if until > now() { until } else { 0.0 },
                events,
            })
        }
        _ => Response::error("unknown trace route", 404),
    }
}

fn now() -> f64 {
    worker::Date::now().as_millis() as f64
}

/// Storage key: until when the device under `prefix` is traced.
pub fn until_key(prefix: &str) -> String {
    format!("{prefix}trace")
}

/// Storage key: how many notes were written since the last prune.
fn written_key(prefix: &str) -> String {
    format!("{prefix}trace-written")
}

fn key(prefix: &str, id: &str) -> String {
    format!("{prefix}t:{id}")
}

/// Until when the device under `prefix` keeps its trace (a day after it ends); 0 without one.
pub async fn kept_until(storage: &Storage, prefix: &str) -> Result<f64> {
    let until: Option<f64> = storage.get(&until_key(prefix)).await?;
    Ok(until.map_or(0.0, |u| u + KEEP_AFTER_MS))
}

/// Merges and stores notes; past twice `keep` written, keeps only the newest `keep`.
pub async fn write(storage: &Storage, keep: usize, prefix: &str, notes: Vec<Note>) -> Result<()> {
    if notes.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = notes.iter().map(|n| key(prefix, &n.id)).collect();
    let mut old: BTreeMap<String, Note> = objects::entries(&storage.get_multiple(keys).await?)
        .into_iter()
        .filter_map(|(k, v)| Some((k, serde_json::from_str(&v).ok()?)))
        .collect();
    let values = js_sys::Object::new();
    let mut merged: BTreeMap<String, Note> = BTreeMap::new();
    for n in notes {
        let k = key(prefix, &n.id);
        let before = merged.remove(&k).or_else(|| old.remove(&k));
        merged.insert(k, merge(before, n));
    }
    for (k, n) in &merged {
        js_sys::Reflect::set(&values, &k.into(), &serde_json::to_string(n)?.into())?;
    }
    storage.put_multiple_raw(values).await?;
    let written: usize = storage.get(&written_key(prefix)).await?.unwrap_or(0) + merged.len();
    if written > 2 * keep {
        let mut notes = all(storage, prefix).await?;
        notes.sort_by(|a, b| b.at.total_cmp(&a.at));
        let doomed: Vec<String> = notes
            .iter()
            .skip(keep)
            .map(|n| key(prefix, &n.id))
            .collect();
        delete_all(storage, doomed).await?;
        storage.put(&written_key(prefix), keep).await?;
    } else {
        storage.put(&written_key(prefix), written).await?;
    }
    Ok(())
}

async fn all(storage: &Storage, prefix: &str) -> Result<Vec<Note>> {
    let listed = storage
        .list_with_options(ListOptions::new().prefix(&format!("{prefix}t:")))
        .await?;
    Ok(objects::entries(&listed)
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_str(&v).ok())
        .collect())
}

/// A day after the device's trace ended, forgets it and its notes (a device that stays active keeps
/// its ids; a device not seen for `DEVICE_STATE_SECONDS` is forgotten whole).
pub async fn prune(storage: &Storage, prefix: &str, now: f64) -> Result<()> {
    let Some(until) = storage.get::<f64>(&until_key(prefix)).await? else {
        return Ok(());
    };
    if until + KEEP_AFTER_MS > now {
        return Ok(());
    }
    expiry::delete_under(storage, &format!("{prefix}t:")).await?;
    delete_all(storage, vec![until_key(prefix), written_key(prefix)]).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use TraceState::*;

    fn note(state: TraceState, attempts: u32, at: f64) -> Note {
        Note {
            id: "e".into(),
            operation: "Website.SetCart".into(),
            state,
            attempts,
            reason: None,
            at,
        }
    }

    fn after(old: Note, new: Note) -> TraceState {
        merge(Some(old), new).state
    }

    #[test]
    fn the_later_state_stands_and_queued_never_replaces_another() {
        assert_eq!(merge(None, note(Queued, 0, 1.0)).state, Queued);
        assert_eq!(
            after(note(Queued, 0, 1.0), note(Retrying, 1, 2.0)),
            Retrying
        );
        assert_eq!(
            after(note(Retrying, 1, 2.0), note(Delivered, 2, 3.0)),
            Delivered
        );
        assert_eq!(
            after(note(Retrying, 1, 2.0), note(Waiting, 1, 3.0)),
            Waiting
        );
        // The collector's "queued" note is written after its answer, possibly after delivery.
        assert_eq!(
            after(note(Delivered, 1, 3.0), note(Queued, 0, 4.0)),
            Delivered
        );
        // A note that arrives late does not undo a newer one.
        assert_eq!(
            after(note(Delivered, 2, 3.0), note(Retrying, 1, 2.0)),
            Delivered
        );
        // Nor one stamped later by a slower consumer invocation: more calls made is newer, and
        // delivered is final.
        assert_eq!(
            merge(Some(note(Retrying, 2, 3.0)), note(Retrying, 1, 4.0)).attempts,
            2
        );
        assert_eq!(
            after(note(Delivered, 2, 3.0), note(Retrying, 1, 4.0)),
            Delivered
        );
        assert_eq!(
            after(note(Superseded, 1, 3.0), note(Waiting, 1, 4.0)),
            Superseded
        );
        // A redrive after a dead letter is newer, and its delivery after it.
        assert_eq!(
            after(note(DeadLettered, 1, 3.0), note(Redriven, 0, 5.0)),
            Redriven
        );
        assert_eq!(
            after(note(Redriven, 0, 5.0), note(Delivered, 1, 6.0)),
            Delivered
        );
        assert_eq!(
            after(note(DeadLettered, 1, 6.0), note(Redriven, 0, 5.0)),
            DeadLettered
        );
    }

    #[test]
    fn reasons_are_cut_on_a_character_boundary() {
        assert_eq!(cut("short".into(), 10), "short");
        let c = cut("ж".repeat(1000), MAX_REASON_BYTES);
        assert!(
            c.len() <= MAX_REASON_BYTES && c.ends_with('…'),
            "{}",
            c.len()
        );
    }
}
