//! The wire contract between the tracker and the collector, defined once: both sides use this module,
//! and the JS shell's half of it (`tracker/js/contract.js`) is checked against it by the tracker's
//! `tests/contract.rs`.
//!
//! **Request**, `POST /v1/events` (JSON in a `text/plain` body: a CORS "simple request", no preflight;
//! `sendBeacon` sends the same):
//! `{"deviceUUID":"…","endpointId":"…","sentAt":1795000000000.5,"events":[{"id":"…","operation":"Website.ViewProduct","createdAt":1795000000000.001,"data":{…}}]}`
//! ([`Frame`]). At most [`MAX_BATCH_EVENTS`] events and [`MAX_BATCH_BYTES`] bytes. `sentAt` and
//! `createdAt` are the tracker's clock (ms since the Unix epoch, microsecond decimals); `endpointId` is
//! the page's Mindbox endpoint, and a collector serving another endpoint rejects every event.
//!
//! **Answer** ([`answer_kind`]):
//! * `202`, or `422` when every event was rejected: [`BatchAnswer`] `{"deviceUUID","results":[…]}`, one
//!   [`EventResult`] per event in request order. `accepted` is durably queued (the tracker forgets it);
//!   `rejected` will never be accepted as it is (the tracker keeps it, with `path` and `reason`, for QA).
//! * `400` / `413` `{"error","reason"}`: the request as a whole is unreadable or too big. That is never
//!   blamed on every event: the tracker halves the batch and resends until only the bad event is left.
//! * anything else (no answer, `403`, `429`, `5xx`): nothing was accepted; try again later, at least
//!   `Retry-After` seconds on, on the [`crate::backoff`] schedule.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::json::{push_str, push_u64};

/// Largest batch body, in bytes: the collector's cap, and what `sendBeacon` reliably takes.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;
/// Most events per batch: the collector's cap.
pub const MAX_BATCH_EVENTS: usize = 100;

/// A request's frame as the collector reads it, each field left as raw JSON text: one event the JSON
/// reader refuses (a lone surrogate, nesting too deep) is then rejected alone
/// (the collector's reader, `check::check_batch`).
#[derive(Deserialize)]
pub struct Frame<'a> {
    /// The tracker's `mindboxDeviceUUID`; the collector prefers its own cookie when it has one.
    #[serde(rename = "deviceUUID", borrow, default)]
    pub device_uuid: Option<&'a RawValue>,
    /// The page's Mindbox endpoint (`data-endpoint-id`, `mindbox("create", {endpointId})`).
    #[serde(rename = "endpointId", borrow, default)]
    pub endpoint_id: Option<&'a RawValue>,
    /// The tracker's clock when it posted the batch.
    #[serde(rename = "sentAt", borrow, default)]
    pub sent_at: Option<&'a RawValue>,
    /// `true` when the page says the visitor consented (the tracker's opt-in mode).
    #[serde(borrow, default)]
    pub consent: Option<&'a RawValue>,
    /// `true` when no event of the batch was ever sent before: the tracker made them while its tab
    /// was the sending tab and has neither posted nor beaconed them since. The collector then does not
    /// look for resends of them on the way in (a client that says so falsely only gets its own events
    /// queued twice, as if they were new).
    #[serde(borrow, default)]
    pub fresh: Option<&'a RawValue>,
    /// The events, oldest first, each as written by [`event_json`].
    #[serde(borrow, default)]
    pub events: Option<Vec<&'a RawValue>>,
}

/// What the tracker does with an answer, by its HTTP status (`0`: no answer at all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerKind {
    /// Per-event results: settle each event ([`SETTLED_STATUSES`]).
    Settled,
    /// The request as a whole was refused: halve the batch and resend ([`SPLIT_STATUSES`]).
    Split,
    /// Nothing was accepted: try again later.
    Retry,
}

/// Statuses whose body is a [`BatchAnswer`].
pub const SETTLED_STATUSES: [u16; 2] = [202, 422];
/// Statuses that refuse the request as a whole (its body is not a batch; it is too big).
pub const SPLIT_STATUSES: [u16; 2] = [400, 413];

/// What an answer with HTTP `status` means for the tracker.
pub fn answer_kind(status: u16) -> AnswerKind {
    if SETTLED_STATUSES.contains(&status) {
        AnswerKind::Settled
    } else if SPLIT_STATUSES.contains(&status) {
        AnswerKind::Split
    } else {
        AnswerKind::Retry
    }
}

/// The collector's answer to a batch (statuses [`SETTLED_STATUSES`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchAnswer {
    /// The device id the collector used (and set as its own cookie); the tracker adopts it.
    #[serde(
        rename = "deviceUUID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub device_uuid: Option<String>,
    /// QA traces this device: the tracker then marks no batch `fresh`, so that each one is looked up
    /// (and traced) on the way in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trace: bool,
    /// One result per event, in request order.
    pub results: Vec<EventResult>,
}

/// What happened to one event of a batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventResult {
    /// The event's id, when it had a readable one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Accepted (durably queued) or rejected (never deliverable as it is).
    pub status: EventStatus,
    /// For a rejection: where in the request the problem is, e.g. `events[2].operation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// For a rejection: what is wrong and what would be right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl EventResult {
    /// An event on the queue.
    pub fn accepted(id: &str) -> EventResult {
        EventResult {
            id: Some(id.to_string()),
            status: EventStatus::Accepted,
            path: None,
            reason: None,
        }
    }
}

/// Outcome of one event at the collector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    /// On the durable queue; the tracker may delete it.
    Accepted,
    /// Invalid; the tracker moves it to its rejected store with the reason.
    Rejected,
}

/// Writes one event as JSON: `{"id","operation","createdAt","data"}`; `data` must already be JSON text.
/// `createdAt` keeps microseconds (`1795000000000.001`): events made in the same millisecond keep
/// their call order on the wire.
pub fn event_json(id: &str, operation: &str, created_at: f64, data: &str) -> String {
    let mut at = String::new();
    push_time(&mut at, created_at);
    event_json_text(id, operation, &at, data)
}

/// [`event_json`] with `createdAt` already written as JSON (a number, or `null`).
pub fn event_json_text(id: &str, operation: &str, created_at: &str, data: &str) -> String {
    let mut out = String::with_capacity(80 + operation.len() + data.len());
    out.push_str("{\"id\":");
    push_str(&mut out, id);
    out.push_str(",\"operation\":");
    push_str(&mut out, operation);
    out.push_str(",\"createdAt\":");
    out.push_str(created_at);
    out.push_str(",\"data\":");
    out.push_str(data);
    out.push('}');
    out
}

/// Milliseconds since the Unix epoch with up to three decimals (microseconds), without float
/// formatting (the wasm carries none).
pub fn push_time(out: &mut String, ms: f64) {
    let micros = (ms.max(0.0) * 1000.0).round() as u64;
    push_u64(out, micros / 1000);
    let frac = micros % 1000;
    if frac > 0 {
        out.push('.');
        for d in [frac / 100, frac / 10 % 10, frac % 10] {
            out.push((b'0' + d as u8) as char);
        }
    }
}

/// Longest endpoint id a batch carries.
pub const MAX_ENDPOINT_ID_LEN: usize = 128;

/// Whether `s` can be a Mindbox endpoint id (`shop-website`): 1 to [`MAX_ENDPOINT_ID_LEN`] ASCII
/// letters, digits, `-`, `_` or `.`. A page's value that is not one is left out of the batch.
pub fn is_endpoint_id(s: &str) -> bool {
    (1..=MAX_ENDPOINT_ID_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Bytes a batch adds around its events:
/// `{"deviceUUID":"<36>","endpointId":"<≤128>","consent":true,"fresh":true,"sentAt":<17>,"events":[`
/// … `]}`.
const OVERHEAD: usize =
    r#"{"deviceUUID":"","endpointId":"","consent":true,"fresh":true,"sentAt":,"events":[]}"#.len()
        + 36
        + MAX_ENDPOINT_ID_LEN
        + 17;

/// Bytes [`event_json`] adds around the operation name (which never needs escaping), the time and the
/// data: `{"id":"<36>","operation":"","createdAt":,"data":}`.
pub const EVENT_OVERHEAD: usize = r#"{"id":"","operation":"","createdAt":,"data":}"#.len() + 36;

/// Whether an event of `len` bytes of JSON (as [`event_json`] writes it) fits in a batch at all.
pub fn fits_a_batch(len: usize) -> bool {
    OVERHEAD + len <= MAX_BATCH_BYTES
}

/// Writes a batch body from events written by [`event_json`]; `sent_at` is the tracker's clock now
/// (ms), which lets the collector measure each event's age without trusting the clock.
pub fn batch_body<S: AsRef<str>>(
    device_uuid: &str,
    endpoint_id: Option<&str>,
    consent: bool,
    fresh: bool,
    sent_at: f64,
    events: &[S],
) -> String {
    let len: usize = events.iter().map(|e| e.as_ref().len() + 1).sum();
    let mut out = String::with_capacity(OVERHEAD + len);
    out.push_str("{\"deviceUUID\":");
    push_str(&mut out, device_uuid);
    if let Some(id) = endpoint_id.filter(|id| is_endpoint_id(id)) {
        out.push_str(",\"endpointId\":");
        push_str(&mut out, id);
    }
    if consent {
        out.push_str(",\"consent\":true");
    }
    if fresh {
        out.push_str(",\"fresh\":true");
    }
    out.push_str(",\"sentAt\":");
    push_time(&mut out, sent_at);
    out.push_str(",\"events\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(e.as_ref());
    }
    out.push_str("]}");
    out
}

/// Splits events of the given JSON sizes, in order, into consecutive batches of at most `max_bytes`
/// (body size) and `max_events`. Events too big for any batch are returned apart: they can never be
/// sent and belong in the rejected store.
pub fn split(
    sizes: &[usize],
    max_bytes: usize,
    max_events: usize,
) -> (Vec<Range<usize>>, Vec<usize>) {
    let mut batches = Vec::new();
    let mut oversize = Vec::new();
    let mut start = 0;
    let mut bytes = OVERHEAD;
    let mut count = 0;
    for (i, &size) in sizes.iter().enumerate() {
        if OVERHEAD + size > max_bytes {
            if count > 0 {
                batches.push(start..i);
            }
            oversize.push(i);
            start = i + 1;
            bytes = OVERHEAD;
            count = 0;
            continue;
        }
        let add = size + usize::from(count > 0);
        if count == max_events || bytes + add > max_bytes {
            batches.push(start..i);
            start = i;
            bytes = OVERHEAD + size;
            count = 1;
        } else {
            bytes += add;
            count += 1;
        }
    }
    if count > 0 {
        batches.push(start..sizes.len());
    }
    (batches, oversize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_batch, Limits, Policy};

    const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    #[test]
    fn written_batches_pass_the_collectors_check() {
        let e = event_json(
            ID,
            "Website.ViewProduct",
            1_795_000_000_000.002,
            r#"{"a":"б\"c"}"#,
        );
        assert_eq!(
            e.len(),
            EVENT_OVERHEAD
                + "Website.ViewProduct".len()
                + "1795000000000.002".len()
                + r#"{"a":"б\"c"}"#.len()
        );
        let body = batch_body(
            ID,
            Some("shop-website"),
            false,
            true,
            1_795_000_000_500.0,
            &[e],
        );
        let checked = check_batch(body.as_bytes(), &Limits::default(), &Policy::default()).unwrap();
        assert!(checked.fresh && !checked.consent);
        let ev = checked.events[0].as_ref().unwrap();
        assert_eq!(ev.data["a"], "б\"c");
        assert_eq!(ev.created_at, Some(1_795_000_000_000.002));
        assert_eq!(checked.sent_at, Some(1_795_000_000_500.0));
        assert_eq!(checked.endpoint_id.as_deref(), Some("shop-website"));
        let long = "x".repeat(MAX_ENDPOINT_ID_LEN + 1);
        let body = batch_body(ID, Some(&long), true, false, 0.0, &[] as &[&str]);
        let checked = check_batch(body.as_bytes(), &Limits::default(), &Policy::default()).unwrap();
        assert!(checked.consent && !checked.fresh);
        assert_eq!(
            checked.endpoint_id, None,
            "an endpoint id too long to be one is left out"
        );
        assert!(is_endpoint_id("shop.website_2-b"));
        for bad in ["", "a b", "a\"b", "shop/website", "шоп"] {
            assert!(!is_endpoint_id(bad), "{bad}");
        }
    }

    #[test]
    fn every_answer_status_has_one_meaning() {
        assert_eq!(answer_kind(202), AnswerKind::Settled);
        assert_eq!(answer_kind(422), AnswerKind::Settled);
        assert_eq!(answer_kind(400), AnswerKind::Split);
        assert_eq!(answer_kind(413), AnswerKind::Split);
        for s in [0, 200, 403, 429, 500, 503] {
            assert_eq!(answer_kind(s), AnswerKind::Retry, "{s}");
        }
        // Every whole-request refusal the checker makes is one the tracker splits.
        for e in [
            crate::check::BatchError::TooLarge { size: 1, max: 0 },
            crate::check::BatchError::NotJson(String::new()),
            crate::check::BatchError::NotABatch(String::new()),
            crate::check::BatchError::TooManyEvents { count: 1, max: 0 },
        ] {
            assert_eq!(answer_kind(e.http_status()), AnswerKind::Split, "{e}");
        }
    }

    #[test]
    fn times_keep_microseconds() {
        for (t, text) in [
            (0.0, "0"),
            (1_795_000_000_000.0, "1795000000000"),
            (1_795_000_000_000.001, "1795000000000.001"),
            (1_795_000_000_000.25, "1795000000000.250"),
            (-5.0, "0"),
        ] {
            let mut out = String::new();
            push_time(&mut out, t);
            assert_eq!(out, text);
        }
    }

    #[test]
    fn splits_at_the_byte_and_count_caps() {
        let (b, o) = split(&[10, 10, 10], 1000, 2);
        assert_eq!((b, o), (vec![0..2, 2..3], vec![]));
        // 64 KiB: three 30 000-byte events cannot share one batch, two can.
        let (b, o) = split(&[30_000, 30_000, 30_000], MAX_BATCH_BYTES, 100);
        assert_eq!(b, vec![0..2, 2..3]);
        assert!(o.is_empty());
        let (b, o) = split(&[10, 70_000, 10], MAX_BATCH_BYTES, 100);
        assert_eq!((b, o), (vec![0..1, 2..3], vec![1]));
        assert_eq!(split(&[], MAX_BATCH_BYTES, 100), (vec![], vec![]));
    }

    #[test]
    fn every_split_batch_fits() {
        let sizes: Vec<usize> = (0..500).map(|i| (i * 7919) % 20_000 + 50).collect();
        let (batches, oversize) = split(&sizes, MAX_BATCH_BYTES, MAX_BATCH_EVENTS);
        assert!(oversize.is_empty());
        let mut next = 0;
        for r in batches {
            assert_eq!(r.start, next);
            next = r.end;
            let body = OVERHEAD + sizes[r.clone()].iter().sum::<usize>() + r.len() - 1;
            assert!(body <= MAX_BATCH_BYTES && r.len() <= MAX_BATCH_EVENTS);
        }
        assert_eq!(next, sizes.len());
    }
}
