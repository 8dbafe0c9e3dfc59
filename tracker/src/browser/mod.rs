//! The browser layer: page calls in, batches to the collector out.
//!
//! The JS loader (`tracker/js/loader.js`) keeps Mindbox's snippet contract — `window.mindbox(...)`
//! queues calls until this module is ready — then hands every call, queued ones first and in order, to
//! [`Tracker::call`]. Nothing here throws into the page: bad arguments are reported once on the
//! console with what was expected, and the call is dropped before it becomes an event.

pub mod device;
mod send;

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;

use crate::check::{check_event, Policy};
use crate::event::Event;

/// The tracker behind `window.mindbox`.
#[wasm_bindgen]
pub struct Tracker {
    collector: String,
    endpoint_id: Option<String>,
    device_uuid: String,
    policy: Policy,
}

#[wasm_bindgen]
impl Tracker {
    /// Creates the tracker. `collector` is the collector's base URL (ending in `/`); the device id is
    /// read from the `mindboxDeviceUUID` cookie or created.
    #[wasm_bindgen(constructor)]
    pub fn new(collector: String, endpoint_id: Option<String>) -> Tracker {
        Tracker {
            collector,
            endpoint_id,
            device_uuid: device::ensure(),
            policy: Policy {
                // The collector holds the real allowlist; the tracker only checks the name's syntax.
                operations: Vec::new(),
            },
        }
    }

    /// One `mindbox(method, arg, extra)` call from the page.
    pub fn call(&mut self, method: &str, arg: JsValue, extra: JsValue) {
        match method {
            "create" => {
                if let Some(id) = get(&arg, "endpointId").as_string() {
                    self.endpoint_id = Some(id);
                }
            }
            "async" => self.track(arg),
            "helpers.getDeviceUUID" => {
                let cb = if arg.is_function() { arg } else { extra };
                if let Some(cb) = cb.dyn_ref::<Function>() {
                    let _ = cb.call1(&JsValue::NULL, &JsValue::from_str(&self.device_uuid));
                }
            }
            other => warn(&format!(
                "mindbox: unknown method {other:?}; expected \"create\", \"async\" or \"helpers.getDeviceUUID\""
            )),
        }
    }

    /// The device id in use.
    #[wasm_bindgen(getter, js_name = deviceUUID)]
    pub fn device_uuid(&self) -> String {
        self.device_uuid.clone()
    }

    /// The endpoint id the page declared with `mindbox("create", {endpointId})`, if any.
    #[wasm_bindgen(getter, js_name = endpointId)]
    pub fn endpoint_id(&self) -> Option<String> {
        self.endpoint_id.clone()
    }
}

impl Tracker {
    fn track(&self, arg: JsValue) {
        let operation = get(&arg, "operation");
        let data = get(&arg, "data");
        let data = if data.is_undefined() {
            serde_json::Value::Object(Default::default())
        } else {
            match js_sys::JSON::stringify(&data)
                .ok()
                .and_then(|s| s.as_string())
                .and_then(|s| serde_json::from_str(&s).ok())
            {
                Some(v) => v,
                None => return warn("mindbox(\"async\"): data must be a JSON-serialisable object"),
            }
        };
        let raw = serde_json::json!({
            "id": device::new_uuid(),
            "operation": operation.as_string(),
            "data": data,
        });
        let mut policy = self.policy.clone();
        if let Some(op) = operation.as_string() {
            policy.operations.push(op);
        }
        let event: Event = match check_event("event", raw, &policy) {
            Ok(mut e) => {
                e.created_at = Some(js_sys::Date::now());
                e
            }
            Err(r) => return warn(&format!("mindbox(\"async\"): {}: {}", r.path, r.reason)),
        };
        let callbacks = (
            get(&arg, "onSuccess").dyn_into::<Function>().ok(),
            get(&arg, "onError").dyn_into::<Function>().ok(),
        );
        send::send(
            self.collector.clone(),
            self.device_uuid.clone(),
            vec![event],
            callbacks,
        );
    }
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    if obj.is_object() {
        Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

pub(crate) fn warn(msg: &str) {
    web_sys::console::warn_1(&JsValue::from_str(msg));
}
