//! The sender: outbox → batches → `POST /v1/events`, in the one tab that holds the sender role.
//!
//! * A flush reads the pending events, evicts beyond the outbox bounds, splits them into batches
//!   (≤ 64 KiB, ≤ 100 events) and posts them in order as JSON in a `text/plain` body (a CORS "simple
//!   request": no preflight), with credentials so the collector sees and renews its device cookie.
//! * Accepted events move to the `sent` history, rejected ones to the `rejected` store with the
//!   collector's reason; nothing is deleted without an answer.
//! * Unreachable collector, 429, 403 and 5xx: the events stay, and the next try waits on the
//!   [`crate::backoff`] schedule (at least `Retry-After`); the `online` event and the next page load
//!   try again at once.
//! * Page hide (`visibilitychange` → hidden, `pagehide`): what is pending is sent with `sendBeacon`
//!   (64 KiB chunks). It stays in the outbox until a later answer; the event id (Mindbox's
//!   transactionId) makes the resend harmless.

use std::cell::Cell;
use std::ops::Range;
use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, Response};

use super::js::{self, cat, get};
use super::leader::Leader;
use super::outbox::{Record, State as RecordState, MAX_BYTES, MAX_EVENTS};
use super::{device, Inner};
use crate::{backoff, wire};

/// The sender's state in this tab.
#[derive(Default)]
pub struct State {
    /// Events of a POST not yet answered; a beacon leaves them to their keepalive request.
    in_flight: std::cell::RefCell<Vec<String>>,
    failures: Cell<u32>,
    next_try_at: Cell<f64>,
    flushing: Cell<bool>,
    again: Cell<bool>,
    timer: Cell<bool>,
}

/// Starts the sender: competes for the sender role, polls the shared outbox while it holds it, and
/// listens for `online`, visibility changes and page hide.
pub fn install(inner: &Rc<Inner>) {
    let weak = Rc::downgrade(inner);
    let tab_id = device::new_uuid();
    let on_gain: Rc<dyn Fn()> = Rc::new(move || {
        if let Some(i) = weak.upgrade() {
            kick(&i, 0);
        }
    });
    *inner.leader.borrow_mut() = Some(Leader::start(tab_id, on_gain));

    let Some(window) = web_sys::window() else {
        return;
    };
    let i = inner.clone();
    let tick = Closure::<dyn Fn()>::new(move || {
        if is_leader(&i) {
            kick(&i, 0);
        } else if !i.callbacks.borrow().is_empty() {
            let i = i.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let settled = i.outbox.history().await;
                i.settled(&settled);
            });
        }
    });
    let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(
        tick.as_ref().unchecked_ref(),
        1000,
    );
    tick.forget();

    let i = inner.clone();
    listen(&window, "online", move || {
        i.send.next_try_at.set(0.0);
        kick(&i, 0);
    });
    let i = inner.clone();
    listen(&window, "pagehide", move || beacon(&i));
    let i = inner.clone();
    if let Some(doc) = window.document() {
        let target: web_sys::EventTarget = doc.clone().into();
        let f = Closure::<dyn Fn()>::new(move || {
            if doc.visibility_state() == web_sys::VisibilityState::Hidden {
                beacon(&i);
            } else {
                kick(&i, 0);
            }
        });
        let _ =
            target.add_event_listener_with_callback("visibilitychange", f.as_ref().unchecked_ref());
        f.forget();
    }
}

fn listen(window: &web_sys::Window, event: &str, f: impl Fn() + 'static) {
    let f = Closure::<dyn Fn()>::new(f);
    let _ = window.add_event_listener_with_callback(event, f.as_ref().unchecked_ref());
    f.forget();
}

fn is_leader(inner: &Inner) -> bool {
    inner
        .leader
        .borrow()
        .as_ref()
        .is_some_and(Leader::is_leader)
}

/// Schedules a flush in `delay_ms` (once: a flush already scheduled stands).
pub fn kick(inner: &Rc<Inner>, delay_ms: u32) {
    if inner.send.timer.get() {
        return;
    }
    inner.send.timer.set(true);
    let i = inner.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if delay_ms > 0 {
            super::timer::sleep(delay_ms).await;
        }
        i.send.timer.set(false);
        flush(i).await;
    });
}

/// Sends what is pending, batch by batch, until the outbox is empty or a send fails.
pub async fn flush(inner: Rc<Inner>) {
    let s = &inner.send;
    if !is_leader(&inner) || !inner.consent.get() {
        return;
    }
    if s.flushing.get() {
        s.again.set(true);
        return;
    }
    let wait = s.next_try_at.get() - js::now();
    if wait > 0.0 {
        kick(&inner, wait as u32);
        return;
    }
    s.flushing.set(true);
    loop {
        s.again.set(false);
        let pending = inner.outbox.trim(MAX_EVENTS, MAX_BYTES).await;
        if pending.is_empty() || !send_all(&inner, pending).await {
            break;
        }
        if !s.again.get() && inner.outbox.pending().await.is_empty() {
            break;
        }
    }
    s.flushing.set(false);
}

/// The records as batch bodies: `(records of the batch, body)`, and the indexes of records too big
/// for any batch.
fn batches(inner: &Inner, records: &[Record]) -> (Vec<(Range<usize>, String)>, Vec<usize>) {
    let jsons: Vec<String> = records
        .iter()
        .map(|r| wire::event_json(&r.id, &r.operation, r.created_at as u64, &r.data))
        .collect();
    let sizes: Vec<usize> = jsons.iter().map(String::len).collect();
    let (ranges, oversize) = wire::split(&sizes, wire::MAX_BATCH_BYTES, wire::MAX_BATCH_EVENTS);
    let device = inner.device.borrow();
    let bodies = ranges
        .into_iter()
        .map(|r| {
            let body = wire::batch_body(&device, &jsons[r.clone()]);
            (r, body)
        })
        .collect();
    (bodies, oversize)
}

/// Sends `pending` in batches; false when a batch could not be sent (the next try is scheduled).
async fn send_all(inner: &Rc<Inner>, pending: Vec<Record>) -> bool {
    let (batches, oversize) = batches(inner, &pending);
    if !oversize.is_empty() {
        let rejected: Vec<Record> = oversize
            .iter()
            .map(|&i| {
                reject(
                    &pending[i],
                    "the event is larger than a 64 KiB batch; it cannot be sent",
                )
            })
            .collect();
        settle(inner, rejected).await;
    }
    let url = cat(&[&inner.collector, "v1/events"]);
    for (range, body) in batches {
        let batch = &pending[range];
        *inner.send.in_flight.borrow_mut() = batch.iter().map(|r| r.id.clone()).collect();
        let outcome = post(&url, &body).await;
        inner.send.in_flight.borrow_mut().clear();
        match outcome {
            Outcome::Answered { results, device } => {
                if let Some(d) = device {
                    device::adopt(&d);
                    *inner.device.borrow_mut() = d;
                }
                inner.send.failures.set(0);
                // Every event of the batch is settled by the answer; one the collector gave no
                // result for is kept as rejected (visible to QA, replayable), never dropped.
                let settled = batch
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let res = results
                            .iter()
                            .find(|x| x.0.as_deref() == Some(r.id.as_str()))
                            .or_else(|| results.get(i).filter(|x| x.0.is_none()));
                        match res {
                            Some((_, None)) => sent(r),
                            Some((_, Some(reason))) => reject(r, reason),
                            None => {
                                reject(r, "the collector's answer had no result for this event")
                            }
                        }
                    })
                    .collect();
                settle(inner, settled).await;
            }
            Outcome::RejectAll(reason) => {
                settle(inner, batch.iter().map(|r| reject(r, &reason)).collect()).await;
            }
            Outcome::Retry {
                error,
                retry_after_ms,
            } => {
                let failures = inner.send.failures.get() + 1;
                inner.send.failures.set(failures);
                let delay = backoff::delay_ms(failures, js::random(), retry_after_ms);
                inner.send.next_try_at.set(js::now() + delay as f64);
                inner.outbox.failed(batch.to_vec(), &error).await;
                kick(inner, delay as u32);
                return false;
            }
        }
    }
    true
}

fn sent(r: &Record) -> Record {
    let mut r = r.clone();
    r.state = RecordState::Sent;
    r.settled_at = Some(js::now());
    r
}

fn reject(r: &Record, reason: &str) -> Record {
    let mut r = r.clone();
    r.state = RecordState::Rejected;
    r.reason = Some(reason.to_string());
    r.settled_at = Some(js::now());
    r
}

async fn settle(inner: &Rc<Inner>, settled: Vec<Record>) {
    for r in settled.iter().filter(|r| r.state == RecordState::Rejected) {
        inner.warn_once(&cat(&[
            "event ",
            &r.operation,
            " rejected: ",
            r.reason.as_deref().unwrap_or(""),
        ]));
    }
    inner.outbox.settle(settled.clone()).await;
    inner.settled(&settled);
}

/// What one POST came to.
enum Outcome {
    /// The collector answered per event: `(id, None)` accepted, `(id, Some(reason))` rejected.
    Answered {
        results: Vec<(Option<String>, Option<String>)>,
        device: Option<String>,
    },
    /// The whole batch is unusable (400, 413): every event is rejected with this reason.
    RejectAll(String),
    /// Try again later.
    Retry {
        error: String,
        retry_after_ms: Option<u64>,
    },
}

async fn post(url: &str, body: &str) -> Outcome {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    init.set_credentials(RequestCredentials::Include);
    let Some(window) = web_sys::window() else {
        return Outcome::Retry {
            error: "no window".into(),
            retry_after_ms: None,
        };
    };
    let resp: Response = match JsFuture::from(window.fetch_with_str_and_init(url, &init)).await {
        Ok(r) => r.unchecked_into(),
        Err(_) => {
            return Outcome::Retry {
                error: cat(&["the collector is unreachable (", url, ")"]),
                retry_after_ms: None,
            }
        }
    };
    let status = resp.status();
    let retry_after_ms = resp
        .headers()
        .get("Retry-After")
        .ok()
        .flatten()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|s| s * 1000);
    let text = match resp.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let answer = js::parse(&text);
    let reason = js::text(&get(&answer, "reason")).unwrap_or_else(|| text.clone());
    let status_text = js::num_text(f64::from(status));
    match status {
        202 | 422 => {
            let results = get(&answer, "results")
                .dyn_into::<Array>()
                .map(|a| {
                    a.iter()
                        .map(|r| {
                            let accepted =
                                js::text(&get(&r, "status")).as_deref() == Some("accepted");
                            let why = js::text(&get(&r, "reason")).map(|w| {
                                cat(&[&js::text(&get(&r, "path")).unwrap_or_default(), ": ", &w])
                            });
                            (
                                js::text(&get(&r, "id")),
                                if accepted {
                                    None
                                } else {
                                    why.or(Some("rejected".into()))
                                },
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Outcome::Answered {
                results,
                device: js::text(&get(&answer, "deviceUUID")),
            }
        }
        400 | 413 => Outcome::RejectAll(cat(&[
            "collector answered HTTP ",
            &status_text,
            ": ",
            &reason,
        ])),
        _ => Outcome::Retry {
            error: cat(&["collector answered HTTP ", &status_text, ": ", &reason]),
            retry_after_ms,
        },
    }
}

/// Page hide: `sendBeacon` what is pending. Only the sending tab beacons (another tab's events are in
/// the shared outbox and go with the sender); a tab whose outbox is in memory beacons its own.
fn beacon(inner: &Rc<Inner>) {
    if !inner.consent.get() || !(is_leader(inner) || inner.outbox.storage() == "memory") {
        return;
    }
    let in_flight = inner.send.in_flight.borrow().clone();
    let own: Vec<Record> = inner
        .own
        .borrow()
        .iter()
        .filter(|r| !in_flight.contains(&r.id))
        .cloned()
        .collect();
    if own.is_empty() {
        return;
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let url = cat(&[&inner.collector, "v1/events"]);
    for (_, body) in batches(inner, &own).0 {
        let _ = window
            .navigator()
            .send_beacon_with_opt_str(&url, Some(&body));
    }
}

/// `mindbox("sync", {operation, data, onSuccess, onError})` through the collector's `/v1/sync`.
pub fn sync(inner: &Rc<Inner>, arg: &JsValue) {
    let on_success = get(arg, "onSuccess");
    let on_error = get(arg, "onError");
    let body = js_sys::Object::new();
    js::set(&body, "operation", &get(arg, "operation"));
    js::set(&body, "data", &get(arg, "data"));
    js::set(&body, "deviceUUID", &inner.device.borrow().as_str().into());
    let Some(text) = js::stringify_object(&body) else {
        return js::call1(&on_error, &"data must be JSON".into());
    };
    let url = cat(&[&inner.collector, "v1/sync"]);
    wasm_bindgen_futures::spawn_local(async move {
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(&text));
        init.set_credentials(RequestCredentials::Include);
        let Some(window) = web_sys::window() else {
            return;
        };
        let resp = JsFuture::from(window.fetch_with_str_and_init(&url, &init)).await;
        let Ok(resp) = resp.map(|r| r.unchecked_into::<Response>()) else {
            return js::call1(&on_error, &"the collector is unreachable".into());
        };
        let value = match resp.json() {
            Ok(p) => JsFuture::from(p).await.unwrap_or(JsValue::NULL),
            Err(_) => JsValue::NULL,
        };
        if resp.ok() {
            js::call1(&on_success, &value);
        } else {
            js::call1(&on_error, &value);
        }
    });
}
