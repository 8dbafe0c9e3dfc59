//! What goes to the collector, and when to try again.
//!
//! The JS flush loop (`tracker/js/flush.js`) posts and reads the answers; what it posts is written here,
//! in Rust, with the wire format the collector checks:
//!
//! * [`batches`]: pending events → batch bodies for `POST /v1/events` (≤ 64 KiB, ≤ 100 events),
//!   JSON in a `text/plain` body (a CORS "simple request": no preflight). An event too big for any
//!   batch can never be sent; it is handed back with the reason, for the rejected store.
//! * [`retry_delay`]: how long to wait after a failed post, on the [`crate::backoff`] schedule and at
//!   least `Retry-After`.

use js_sys::{Array, Object};
use wasm_bindgen::JsValue;

use super::js::{self, get, set, text};
use crate::{backoff, wire};

/// An event of the outbox as the wire's JSON.
fn event_json(r: &JsValue) -> String {
    wire::event_json(
        &text(&get(r, "id")).unwrap_or_default(),
        &text(&get(r, "operation")).unwrap_or_default(),
        get(r, "createdAt").as_f64().unwrap_or(0.0),
        &text(&get(r, "data")).unwrap_or_else(|| "{}".into()),
    )
}

fn entry(records: &Array, key: &str, value: &str) -> JsValue {
    let o: JsValue = Object::new().into();
    set(&o, "records", records);
    set(&o, key, &value.into());
    o
}

/// `records` (oldest first) as `[{records, body}]` to post in order, after `[{records: [one],
/// reason}]` for each event too big to send.
pub fn batches(device: &str, endpoint_id: Option<&str>, records: &Array) -> Array {
    let all: Vec<JsValue> = records.iter().collect();
    let jsons: Vec<String> = all.iter().map(event_json).collect();
    let sizes: Vec<usize> = jsons.iter().map(String::len).collect();
    let (ranges, oversize) = wire::split(&sizes, wire::MAX_BATCH_BYTES, wire::MAX_BATCH_EVENTS);
    let out = Array::new();
    for i in oversize {
        let one: Array = std::iter::once(all[i].clone()).collect();
        out.push(&entry(
            &one,
            "reason",
            "the event is larger than a 64 KiB batch; it cannot be sent",
        ));
    }
    for r in ranges {
        let subset: Array = all[r.clone()].iter().collect();
        out.push(&entry(
            &subset,
            "body",
            &wire::batch_body(device, endpoint_id, js::now(), &jsons[r]),
        ));
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
