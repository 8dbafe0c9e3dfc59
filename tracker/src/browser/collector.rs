//! What goes to the collector, and what its answers mean.
//!
//! The JS sender (`tracker/js/sender.js`) does the I/O; the decisions are here, in Rust, next to the
//! wire format the collector checks:
//!
//! * [`batches`]: pending events → batch bodies for `POST /v1/events` (≤ 64 KiB, ≤ 100 events),
//!   JSON in a `text/plain` body (a CORS "simple request": no preflight). An event too big for any
//!   batch can never be sent; it is handed back with the reason, for the rejected store.
//! * [`answer`]: an HTTP answer → for each event of the batch, accepted or rejected with the
//!   collector's reason (202/422); every event rejected (400, 413); or try again after a delay on the
//!   [`crate::backoff`] schedule, at least `Retry-After` (no answer at all, 429, 403, 5xx). An event
//!   the answer has no result for is rejected, never dropped.

use js_sys::{Array, Object};
use wasm_bindgen::{JsCast, JsValue};

use super::js::{self, cat, get, set, text};
use crate::{backoff, wire};

/// An event of the outbox as the wire's JSON.
fn event_json(r: &JsValue) -> String {
    wire::event_json(
        &text(&get(r, "id")).unwrap_or_default(),
        &text(&get(r, "operation")).unwrap_or_default(),
        get(r, "createdAt").as_f64().unwrap_or(0.0) as u64,
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
pub fn batches(device: &str, records: &Array) -> Array {
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
            &wire::batch_body(device, &jsons[r]),
        ));
    }
    out
}

/// Reads one POST's answer for the events `records` of a batch. `status` 0 means no answer
/// (network error); `failures` counts consecutive failed tries including this one.
///
/// Returns `{reasons: [null | reason], device?}` when the batch is settled (`null`: accepted), or
/// `{retry: ms, error}` when it must be tried again.
pub fn answer(
    records: &Array,
    status: u16,
    retry_after: Option<String>,
    body: &str,
    failures: u32,
    url: &str,
) -> JsValue {
    let out: JsValue = Object::new().into();
    let ids: Vec<Option<String>> = records.iter().map(|r| text(&get(&r, "id"))).collect();
    let parsed = js::parse(body);
    let reason = text(&get(&parsed, "reason")).unwrap_or_else(|| body.to_string());
    let http = cat(&[
        "collector answered HTTP ",
        &js::num_text(f64::from(status)),
        ": ",
        &reason,
    ]);
    let reasons: Array = match status {
        202 | 422 => {
            let results: Vec<(Option<String>, JsValue)> = get(&parsed, "results")
                .dyn_into::<Array>()
                .map(|a| {
                    a.iter()
                        .map(|r| (text(&get(&r, "id")), result(&r)))
                        .collect()
                })
                .unwrap_or_default();
            set(&out, "device", &get(&parsed, "deviceUUID"));
            ids.iter()
                .enumerate()
                .map(|(i, id)| {
                    results
                        .iter()
                        .find(|x| x.0.is_some() && x.0 == *id)
                        .or_else(|| results.get(i).filter(|x| x.0.is_none()))
                        .map(|x| x.1.clone())
                        .unwrap_or_else(|| {
                            "the collector's answer had no result for this event".into()
                        })
                })
                .collect()
        }
        400 | 413 => ids.iter().map(|_| JsValue::from_str(&http)).collect(),
        _ => {
            let error = if status == 0 {
                cat(&["the collector is unreachable (", url, ")"])
            } else {
                http
            };
            let retry_after_ms = retry_after
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(|s| s * 1000);
            let delay = backoff::delay_ms(failures, js::random(), retry_after_ms);
            set(&out, "retry", &JsValue::from_f64(delay as f64));
            set(&out, "error", &error.into());
            return out;
        }
    };
    set(&out, "reasons", &reasons);
    out
}

/// One result of the collector's answer: `null` when accepted, else `"path: reason"`.
fn result(r: &JsValue) -> JsValue {
    if text(&get(r, "status")).as_deref() == Some("accepted") {
        return JsValue::NULL;
    }
    match text(&get(r, "reason")) {
        Some(why) => cat(&[&text(&get(r, "path")).unwrap_or_default(), ": ", &why]).into(),
        None => "rejected".into(),
    }
}
