//! What goes to the collector, and when to try again.
//!
//! The JS flush loop (`tracker/js/flush.js`) posts and reads the answers; what it posts is written here,
//! in Rust, with the wire format the collector checks:
//!
//! * [`batches`]: pending events → batch bodies for `POST /v1/events` (≤ 64 KiB, ≤ 100 events).
//!   An event too big for any batch can never be sent; it is handed back with the reason, for the
//!   rejected store.
//! * [`retry_delay`]: how long to wait after a failed post, on the [`crate::backoff`] schedule and at
//!   least `Retry-After`.
//!
//! Records come in as text (the JS shell's `core.js` writes them): `id␁operation␁createdAt␁data`,
//! joined by `␀` (neither can occur in an id, an operation name, a number or JSON text).

use super::js;
use crate::{backoff, wire};

/// Separates the fields of a record, and a batch's range from its body.
pub const FIELD: char = '\u{1}';
/// Separates records, and batches.
pub const RECORD: char = '\u{0}';

/// `createdAt` as the wire takes it: the shell's number text when it is plain decimal milliseconds,
/// else `null` (the collector then counts the event as made when it arrived).
fn created_at(text: &str) -> &str {
    let plain = !text.is_empty() && text.bytes().all(|c| c.is_ascii_digit() || c == b'.');
    if plain {
        text
    } else {
        "null"
    }
}

/// The records (oldest first, see the module docs) as batches to post in order: `b<start>,<end>␁<body>`
/// for the records `start..end`, after `r<i>,<i+1>␁<reason>` for each event too big to send; joined
/// by `␀`.
pub fn batches(device: &str, endpoint_id: Option<&str>, records: &str) -> String {
    let jsons: Vec<String> = if records.is_empty() {
        Vec::new()
    } else {
        records
            .split(RECORD)
            .map(|r| {
                let mut f = r.splitn(4, FIELD);
                let mut next = || f.next().unwrap_or_default();
                let (id, op, at, data) = (next(), next(), next(), next());
                wire::event_json_text(
                    id,
                    op,
                    created_at(at),
                    if data.is_empty() { "{}" } else { data },
                )
            })
            .collect()
    };
    let sizes: Vec<usize> = jsons.iter().map(String::len).collect();
    let (ranges, oversize) = wire::split(&sizes, wire::MAX_BATCH_BYTES, wire::MAX_BATCH_EVENTS);
    let mut out = String::new();
    let mut entry = |kind: char, start: usize, end: usize, text: &str| {
        if !out.is_empty() {
            out.push(RECORD);
        }
        out.push(kind);
        crate::json::push_u64(&mut out, start as u64);
        out.push(',');
        crate::json::push_u64(&mut out, end as u64);
        out.push(FIELD);
        out.push_str(text);
    };
    for i in oversize {
        entry(
            'r',
            i,
            i + 1,
            "the event is larger than a 64 KiB batch; it cannot be sent",
        );
    }
    let sent_at = js::now();
    for r in ranges {
        let body = wire::batch_body(device, endpoint_id, sent_at, &jsons[r.clone()]);
        entry('b', r.start, r.end, &body);
    }
    out
}

/// The delay before the next try after `failures` consecutive failures (≥ 1), at least the answer's
/// `Retry-After` (in seconds): the [`crate::backoff`] schedule with jitter.
pub fn retry_delay(failures: u32, retry_after: Option<String>) -> u64 {
    let retry_after_ms = retry_after
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|s| s.saturating_mul(1000));
    backoff::delay_ms(backoff::TRACKER, failures, js::random(), retry_after_ms)
}
