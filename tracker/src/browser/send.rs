//! Sending a batch to the collector's `POST /v1/events`.
//!
//! The body is JSON sent as `text/plain`, so the request is a CORS "simple request" (no preflight) and
//! the same bytes work for `sendBeacon`. Credentials are included so the collector sees (and renews)
//! its device-id cookie.

use js_sys::Function;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, Response};

use crate::batch::{Batch, BatchAnswer, EventStatus};
use crate::event::Event;

/// Posts `events` and calls `onSuccess` / `onError` when the collector answers.
pub fn send(
    collector: String,
    device_uuid: String,
    events: Vec<Event>,
    (on_success, on_error): (Option<Function>, Option<Function>),
) {
    wasm_bindgen_futures::spawn_local(async move {
        let result = post(&collector, device_uuid, events).await;
        let (cb, arg) = match result {
            Ok(()) => (on_success, JsValue::UNDEFINED),
            Err(e) => {
                super::warn(&format!("mindbox: {e}"));
                (on_error, JsValue::from_str(&e))
            }
        };
        if let Some(cb) = cb {
            let _ = cb.call1(&JsValue::NULL, &arg);
        }
    });
}

async fn post(collector: &str, device_uuid: String, events: Vec<Event>) -> Result<(), String> {
    let body = serde_json::to_string(&Batch {
        device_uuid: Some(device_uuid),
        events,
    })
    .map_err(|e| e.to_string())?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(&body));
    init.set_credentials(RequestCredentials::Include);
    let headers = web_sys::Headers::new().map_err(|_| "no Headers")?;
    let _ = headers.set("Content-Type", "text/plain;charset=UTF-8");
    init.set_headers(&headers);
    let window = web_sys::window().ok_or("no window")?;
    let url = format!("{collector}v1/events");
    let resp: Response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .map_err(|_| format!("collector {url} is unreachable"))?
        .dyn_into()
        .map_err(|_| "not a Response")?;
    let text = JsFuture::from(resp.text().map_err(|_| "no body")?)
        .await
        .ok()
        .and_then(|t| t.as_string())
        .unwrap_or_default();
    if resp.status() != 202 && resp.status() != 422 {
        return Err(format!("collector answered HTTP {}: {text}", resp.status()));
    }
    let answer: BatchAnswer =
        serde_json::from_str(&text).map_err(|e| format!("unreadable collector answer: {e}"))?;
    if let Some(d) = answer.device_uuid.as_deref() {
        super::device::adopt(d);
    }
    match answer
        .results
        .iter()
        .find(|r| r.status == EventStatus::Rejected)
    {
        Some(r) => Err(format!(
            "event rejected at {}: {}",
            r.path.as_deref().unwrap_or("?"),
            r.reason.as_deref().unwrap_or("?")
        )),
        None => Ok(()),
    }
}
