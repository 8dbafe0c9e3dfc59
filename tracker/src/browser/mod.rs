//! The browser layer: page calls in, events and batches out, with the I/O done by a thin JS shell.
//!
//! Every event walks one pipeline, one file per step:
//! page call (`tracker/js/loader.js` → [`Tracker::call`], arguments read by `args`) → event
//! ([`record`], payload from [`crate::payload`]) → IndexedDB outbox (`tracker/js/outbox.js`, bounds
//! from [`crate::eviction`]) → batch ([`Tracker::batches`], wire format from [`crate::wire`]) →
//! collector (`tracker/js/flush.js` posts and `answer.js` reads the answer; [`Tracker::retry_delay`] picks the
//! retry delay from [`crate::backoff`]).
//!
//! **Why the I/O is JS.** Everything that decides — argument checks, payloads, event ids, the wire
//! format, batch splitting, retry delays, eviction — is Rust,
//! and shares its model with the collector. IndexedDB, `fetch`, timers, listeners and the
//! sending-tab lock, and the device cookie (`tracker/js/device.js`), are a few hundred lines of JS: written in Rust they were async state machines
//! and promise glue that cost three times the bytes every shopper downloads (see the README's
//! measurements). The exports here are synchronous; nothing here throws into the page or makes it
//! wait. Bad arguments are reported once on the console with what was expected, and the call is
//! dropped before it becomes an event.

mod args;
mod js;
pub mod record;
mod sending;

use std::cell::{Cell, RefCell};

use js_sys::Array;
use wasm_bindgen::prelude::*;

use crate::payload::{self, Kind};
use js::{cat, get, text, warn};
use record::{Record, State};

#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The tracker's Rust half in this tab: the page's settings and the decisions.
#[wasm_bindgen]
pub struct Tracker {
    endpoint_id: RefCell<Option<String>>,
    /// `kind method → operation` overrides from `mindbox("create", {operations})`.
    operations: RefCell<Vec<(String, String)>>,
    warned: RefCell<Vec<String>>,
    last_at: Cell<f64>,
}

#[wasm_bindgen]
impl Tracker {
    /// The tracker of this page; `endpoint_id` comes from the script tag.
    #[wasm_bindgen(constructor)]
    pub fn new(endpoint_id: Option<String>) -> Tracker {
        Tracker {
            endpoint_id: RefCell::new(endpoint_id),
            operations: RefCell::new(Vec::new()),
            warned: RefCell::new(Vec::new()),
            last_at: Cell::new(0.0),
        }
    }

    /// One `mindbox(method, arg, extra)` call from the page, other than `sync`, `consent` and
    /// `helpers.*` (the JS shell answers those). Returns `[id, operation, createdAt, data, onSuccess,
    /// onError]` for a call that makes an event, else `undefined`.
    pub fn call(&self, method: &str, arg: JsValue, extra: JsValue) -> JsValue {
        match method {
            "create" => {
                self.create(&arg);
                JsValue::UNDEFINED
            }
            "async" => self.raw(&arg),
            other => match Kind::from_method(other) {
                Some(kind) => self.typed(kind, &arg, &extra),
                None => {
                    self.warn(&cat(&[
                        "unknown method \"",
                        other,
                        "\"; see mindbox.d.ts for the calls this tracker takes",
                    ]));
                    JsValue::UNDEFINED
                }
            },
        }
    }

    /// The endpoint id the page declared with `mindbox("create", {endpointId})`, if any.
    #[wasm_bindgen(getter, js_name = endpointId)]
    pub fn endpoint_id(&self) -> Option<String> {
        self.endpoint_id.borrow().clone()
    }

    /// `console.warn`s `msg` once per page.
    pub fn warn(&self, msg: &str) {
        let mut warned = self.warned.borrow_mut();
        if !warned.iter().any(|w| w == msg) {
            warn(msg);
            warned.push(msg.to_string());
        }
    }

    /// Pending events (oldest first) as batches from `device` to post, for the page's endpoint: see
    /// [`sending::batches`].
    pub fn batches(&self, records: &Array, device: &str) -> Array {
        sending::batches(device, self.endpoint_id.borrow().as_deref(), records)
    }

    /// Milliseconds to wait after `failures` consecutive failed posts (≥ 1), at least the answer's
    /// `Retry-After` seconds: see [`sending::retry_delay`].
    #[wasm_bindgen(js_name = retryDelay)]
    pub fn retry_delay(&self, failures: u32, retry_after: Option<String>) -> f64 {
        sending::retry_delay(failures, retry_after) as f64
    }

    /// How many of the oldest pending events (oldest first) to evict to stay within the outbox's
    /// bounds ([`crate::eviction`]).
    pub fn evict(&self, records: &Array) -> usize {
        let sizes: Vec<usize> = records
            .iter()
            .map(|r| {
                text(&get(&r, "operation")).map_or(0, |s| s.len())
                    + text(&get(&r, "data")).map_or(0, |s| s.len())
            })
            .collect();
        crate::eviction::evict_count(
            &sizes,
            crate::eviction::MAX_EVENTS,
            crate::eviction::MAX_BYTES,
        )
    }

    /// A QA replay of a stored event: a new pending event (new id: a replay is a new Mindbox
    /// transaction) with the same operation and data, and `replayOf` naming the original.
    pub fn replay(&self, original: &JsValue) -> JsValue {
        match Record::from_js(original) {
            Some(r) => {
                let mut copy = Record::new(record::new_uuid(), r.operation, self.now(), r.data);
                copy.replay_of = Some(r.id);
                copy.to_js()
            }
            None => JsValue::UNDEFINED,
        }
    }

    /// The records of a QA export (JSON text) that are well-formed, ready for the history: a pending
    /// one becomes rejected "imported", so this browser sends it only when QA replays it.
    pub fn imported(&self, json: &str) -> Array {
        let parsed = js::parse(json);
        let Some(arr) = parsed.dyn_ref::<Array>() else {
            self.warn("qa import: expected the JSON array that export produced");
            return Array::new();
        };
        arr.iter()
            .filter_map(|v| Record::from_js(&v))
            .map(|mut r| {
                if r.state == State::Pending {
                    r.state = State::Rejected;
                    r.reason = Some("imported: replay to send it from this browser".into());
                }
                r.to_js()
            })
            .collect()
    }
}

impl Tracker {
    fn create(&self, arg: &JsValue) {
        if let Some(id) = js::text(&get(arg, "endpointId")) {
            *self.endpoint_id.borrow_mut() = Some(id);
        }
        let ops = get(arg, "operations");
        if ops.is_object() {
            for k in js::keys(&ops) {
                match js::text(&get(&ops, &k)) {
                    Some(op)
                        if Kind::from_method(&k).is_some()
                            && crate::operation::is_valid_name(&op) =>
                    {
                        self.operations.borrow_mut().push((k, op))
                    }
                    _ => self.warn(&cat(&[
                        "create: operations.",
                        &k,
                        " must name a typed method and a Mindbox operation",
                    ])),
                }
            }
        }
    }

    fn operation(&self, kind: Kind) -> String {
        self.operations
            .borrow()
            .iter()
            .rev()
            .find(|(k, _)| k == kind.method())
            .map(|(_, op)| op.clone())
            .unwrap_or_else(|| kind.default_operation().to_string())
    }

    /// `mindbox("async", {operation, data, onSuccess, onError})`.
    fn raw(&self, arg: &JsValue) -> JsValue {
        let Some(op) =
            js::text(&get(arg, "operation")).filter(|o| crate::operation::is_valid_name(o))
        else {
            let on_error = get(arg, "onError");
            js::call1(&on_error, &"invalid operation".into());
            self.warn(
                "mindbox(\"async\"): operation must be a Mindbox operation name such as \"Website.ViewProduct\"",
            );
            return JsValue::UNDEFINED;
        };
        let data = get(arg, "data");
        let text = if data.is_undefined() {
            Some("{}".to_string())
        } else {
            js::stringify_object(&data)
        };
        let Some(text) = text else {
            self.warn("mindbox(\"async\"): data must be a JSON object");
            return JsValue::UNDEFINED;
        };
        let Some(text) = self.readable(text, "async", &get(arg, "onError")) else {
            return JsValue::UNDEFINED;
        };
        self.track(op, text, get(arg, "onSuccess"), get(arg, "onError"))
    }

    /// A typed call such as `mindbox("viewProduct", {productId: "123"})`.
    fn typed(&self, kind: Kind, arg: &JsValue, extra: &JsValue) -> JsValue {
        let built = match kind {
            Kind::ViewProduct => {
                args::product(arg).and_then(|p| Ok(payload::view_product(&p, args::price(arg)?)))
            }
            Kind::ViewCategory => args::category(arg).map(|c| payload::view_category(&c)),
            Kind::SetCart | Kind::SetWishlist => {
                args::lines(arg).map(|l| payload::product_list(&l))
            }
            Kind::AddToCart => args::line(arg).map(|l| payload::add_to_list(&l)),
            Kind::RemoveFromCart => args::line(arg).map(|l| payload::remove_from_list(&l)),
            Kind::ClearCart => Ok(payload::empty()),
            Kind::Authorize | Kind::Register | Kind::EditCustomer => {
                args::customer(arg).map(|c| payload::customer(&c))
            }
            Kind::Subscribe => args::customer(arg).map(|c| payload::subscribe(&c)),
        };
        match built {
            Ok(json) => {
                let text = js::stringify_object(&js::to_js(&json)).unwrap_or_else(|| "{}".into());
                let cbs = if extra.is_object() { extra } else { arg };
                let Some(text) = self.readable(text, kind.method(), &get(cbs, "onError")) else {
                    return JsValue::UNDEFINED;
                };
                self.track(
                    self.operation(kind),
                    text,
                    get(cbs, "onSuccess"),
                    get(cbs, "onError"),
                )
            }
            Err(e) => {
                self.warn(&cat(&["mindbox(\"", kind.method(), "\"): ", &e]));
                JsValue::UNDEFINED
            }
        }
    }

    /// The call's data as the collector's reader takes it: half an emoji (a lone surrogate) becomes
    /// U+FFFD; data nested deeper than [`crate::check::MAX_DATA_DEPTH`] is refused here, on the console
    /// and through `onError`, instead of being stored and refused later.
    fn readable(&self, text: String, method: &str, on_error: &JsValue) -> Option<String> {
        match crate::json::well_formed(&text, crate::check::MAX_DATA_DEPTH) {
            Ok(None) => Some(text),
            Ok(Some(fixed)) => Some(fixed),
            Err(why) => {
                js::call1(on_error, &why.into());
                self.warn(&cat(&["mindbox(\"", method, "\"): ", why]));
                None
            }
        }
    }

    /// Strictly increasing within the tab, so events made in the same millisecond keep call order.
    fn now(&self) -> f64 {
        let at = js::now().max(self.last_at.get() + 0.001);
        self.last_at.set(at);
        at
    }

    /// Makes the event: `[id, operation, createdAt, data, onSuccess, onError]` for the JS shell,
    /// which stores it as a pending [`Record`] (building the object there is faster than field by
    /// field from here).
    fn track(
        &self,
        operation: String,
        data: String,
        on_success: JsValue,
        on_error: JsValue,
    ) -> JsValue {
        let made: Array = [
            JsValue::from(record::new_uuid()),
            JsValue::from(operation),
            JsValue::from_f64(self.now()),
            JsValue::from(data),
            on_success,
            on_error,
        ]
        .iter()
        .collect();
        made.into()
    }
}
