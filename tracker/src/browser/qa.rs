//! The QA API: list the outbox with states, replay chosen events, export and import them as JSON.
//! `www/qa.html` is built on it.

use js_sys::{Array, Object};
use wasm_bindgen::{JsCast, JsValue};

use super::js::{self, set};
use super::outbox::{Record, State};
use super::{device, sender, Inner};
use std::rc::Rc;

/// `{storage, sender, evicted, events: [{id, operation, createdAt, data, state, attempts, lastError,
/// reason, settledAt, replayOf}]}`, newest first; `data` parsed.
pub async fn list(inner: &Rc<Inner>) -> JsValue {
    let mut all = inner.outbox.pending().await;
    all.extend(inner.outbox.history().await);
    super::outbox::sort_by_time(&mut all);
    all.reverse();
    let events: Array = all
        .iter()
        .map(|r| {
            let o = r.to_js();
            set(&o, "data", &js::parse(&r.data));
            o
        })
        .collect();
    let out: JsValue = Object::new().into();
    set(&out, "storage", &inner.outbox.storage().into());
    set(
        &out,
        "sender",
        &JsValue::from_bool(
            inner
                .leader
                .borrow()
                .as_ref()
                .is_some_and(|l| l.is_leader()),
        ),
    );
    set(
        &out,
        "evicted",
        &JsValue::from(inner.outbox.evicted().await),
    );
    set(&out, "events", &events);
    out
}

/// Replays copies of the given events with new ids (a replay is a new Mindbox transaction).
pub async fn replay(inner: &Rc<Inner>, ids: Vec<String>) -> u32 {
    let mut all = inner.outbox.pending().await;
    all.extend(inner.outbox.history().await);
    let mut n = 0;
    for id in ids {
        if let Some(r) = all.iter().find(|r| r.id == id) {
            let mut copy = Record::new(
                device::new_uuid(),
                r.operation.clone(),
                js::now(),
                r.data.clone(),
            );
            copy.replay_of = Some(r.id.clone());
            inner.outbox.add(copy).await;
            n += 1;
        }
    }
    sender::kick(inner, 0);
    n
}

/// Every record as a JSON array.
pub async fn export(inner: &Rc<Inner>) -> String {
    let mut all = inner.outbox.pending().await;
    all.extend(inner.outbox.history().await);
    let arr: Array = all.iter().map(Record::to_js).collect();
    js_sys::JSON::stringify(&arr)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "[]".into())
}

/// Imports exported records into the history (pending ones as `rejected` "imported", so they are not
/// sent from here unless QA replays them); returns how many were new.
pub async fn import(inner: &Rc<Inner>, json: &str) -> u32 {
    let parsed = js::parse(json);
    let Some(arr) = parsed.dyn_ref::<Array>() else {
        inner.warn_once("qa import: expected the JSON array that export produced");
        return 0;
    };
    let mut known = inner.outbox.pending().await;
    known.extend(inner.outbox.history().await);
    let fresh: Vec<Record> = arr
        .iter()
        .filter_map(|v| Record::from_js(&v))
        .filter(|r| !known.iter().any(|k| k.id == r.id))
        .map(|mut r| {
            if r.state == State::Pending {
                r.state = State::Rejected;
                r.reason = Some("imported: replay to send it from this browser".into());
            }
            r
        })
        .collect();
    let n = fresh.len() as u32;
    for r in &fresh {
        // Through the outbox so they land in the history store like any settled event.
        inner.outbox.add(r.clone()).await;
    }
    inner.outbox.settle(fresh).await;
    n
}
