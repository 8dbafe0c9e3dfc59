//! The browser layer: page calls in, batches to the collector out.
//!
//! Every event walks one pipeline, one module per step:
//! page call ([`Tracker::call`], arguments read by `args`) → event ([`outbox::Record`], payload from
//! [`crate::payload`]) → IndexedDB outbox ([`outbox`]) → batch ([`crate::wire`]) → collector
//! (`sender`), with retries on the [`crate::backoff`] schedule, beacons on page hide, and one sending
//! tab at a time (`leader`). `qa` lets QA inspect and replay the outbox.
//!
//! The JS loader (`tracker/js/loader.js`) keeps Mindbox's snippet contract — `window.mindbox(...)`
//! queues calls until [`start`] resolves — then hands every call, queued ones first and in order, to
//! [`Tracker::call`]. Nothing here throws into the page or makes it wait: bad arguments are reported
//! once on the console with what was expected, and the call is dropped before it becomes an event.

mod args;
pub mod device;
mod idb;
mod js;
mod leader;
pub mod outbox;
mod qa;
mod sender;
mod timer;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::payload::{self, Kind};
use js::{cat, get, warn};
use outbox::{Outbox, Record};

const CONSENT_KEY: &str = "mindboxEdgeConsent";

#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Shared state of the tracker in this tab.
pub(crate) struct Inner {
    collector: String,
    endpoint_id: RefCell<Option<String>>,
    /// `kind method → operation` overrides from `mindbox("create", {operations})`.
    operations: RefCell<Vec<(String, String)>>,
    device: RefCell<String>,
    outbox: Outbox,
    leader: RefCell<Option<leader::Leader>>,
    consent: Cell<bool>,
    /// This tab's events not yet settled, for beacons and callbacks.
    own: RefCell<Vec<Record>>,
    callbacks: RefCell<Vec<(String, JsValue, JsValue)>>,
    send: sender::State,
    warned: RefCell<Vec<String>>,
    last_at: Cell<f64>,
}

/// The tracker behind `window.mindbox`.
#[wasm_bindgen]
pub struct Tracker {
    inner: Rc<Inner>,
}

/// Starts the tracker: opens the outbox (IndexedDB, or memory), reads the device id, starts competing
/// to be the sending tab and sends what earlier pages left. `collector` is the collector's base URL
/// (ending in `/`).
#[wasm_bindgen]
pub async fn start(collector: String, endpoint_id: Option<String>) -> Tracker {
    let consent = web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(CONSENT_KEY).ok().flatten())
        .is_none_or(|v| v != "0");
    let inner = Rc::new(Inner {
        collector,
        endpoint_id: RefCell::new(endpoint_id),
        operations: RefCell::new(Vec::new()),
        device: RefCell::new(device::ensure()),
        outbox: Outbox::open().await,
        leader: RefCell::new(None),
        consent: Cell::new(consent),
        own: RefCell::new(Vec::new()),
        callbacks: RefCell::new(Vec::new()),
        send: sender::State::default(),
        warned: RefCell::new(Vec::new()),
        last_at: Cell::new(0.0),
    });
    sender::install(&inner);
    Tracker { inner }
}

#[wasm_bindgen]
impl Tracker {
    /// One `mindbox(method, arg, extra)` call from the page.
    pub fn call(&self, method: &str, arg: JsValue, extra: JsValue) {
        let inner = &self.inner;
        match method {
            "create" => inner.create(&arg),
            "async" => inner.raw(&arg),
            "sync" => sender::sync(inner, &arg),
            "consent" => inner.set_consent(arg.as_bool().unwrap_or(true)),
            "helpers.getDeviceUUID" => {
                let cb = if arg.is_function() { arg } else { extra };
                js::call1(&cb, &JsValue::from_str(&inner.device.borrow()));
            }
            other => match Kind::from_method(other) {
                Some(kind) => inner.typed(kind, &arg, &extra),
                None => inner.warn_once(&cat(&[
                    "unknown method \"",
                    other,
                    "\"; see mindbox.d.ts for the calls this tracker takes",
                ])),
            },
        }
    }

    /// The device id in use.
    #[wasm_bindgen(getter, js_name = deviceUUID)]
    pub fn device_uuid(&self) -> String {
        self.inner.device.borrow().clone()
    }

    /// The endpoint id the page declared with `mindbox("create", {endpointId})`, if any.
    #[wasm_bindgen(getter, js_name = endpointId)]
    pub fn endpoint_id(&self) -> Option<String> {
        self.inner.endpoint_id.borrow().clone()
    }

    /// The QA API in one entry point (one async export keeps the wasm small):
    /// `"list"` → `{storage, sender, evicted, events}`; `"replay"` (ids) → how many were replayed;
    /// `"export"` → JSON text; `"import"` (JSON text) → how many were new; `"flush"` → sends now.
    pub async fn qa(&self, command: String, arg: JsValue) -> JsValue {
        let inner = &self.inner;
        match command.as_str() {
            "list" => qa::list(inner).await,
            "replay" => {
                let ids = js_sys::Array::from(&arg)
                    .iter()
                    .filter_map(|v| v.as_string())
                    .collect();
                qa::replay(inner, ids).await.into()
            }
            "export" => qa::export(inner).await.into(),
            "import" => qa::import(inner, &arg.as_string().unwrap_or_default())
                .await
                .into(),
            "flush" => {
                sender::flush(inner.clone()).await;
                JsValue::UNDEFINED
            }
            _ => JsValue::UNDEFINED,
        }
    }
}
impl Inner {
    pub(crate) fn warn_once(&self, msg: &str) {
        let mut warned = self.warned.borrow_mut();
        if !warned.iter().any(|w| w == msg) {
            warn(msg);
            warned.push(msg.to_string());
        }
    }

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
                    _ => self.warn_once(&cat(&[
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

    fn set_consent(self: &Rc<Self>, on: bool) {
        self.consent.set(on);
        if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = s.set_item(CONSENT_KEY, if on { "1" } else { "0" });
        }
        if !on {
            self.own.borrow_mut().clear();
            let inner = self.clone();
            wasm_bindgen_futures::spawn_local(async move { inner.outbox.clear().await });
        }
    }

    /// `mindbox("async", {operation, data, onSuccess, onError})`.
    fn raw(self: &Rc<Self>, arg: &JsValue) {
        let Some(op) =
            js::text(&get(arg, "operation")).filter(|o| crate::operation::is_valid_name(o))
        else {
            let on_error = get(arg, "onError");
            js::call1(&on_error, &"invalid operation".into());
            return self.warn_once(
                "mindbox(\"async\"): operation must be a Mindbox operation name such as \"Website.ViewProduct\"",
            );
        };
        let data = get(arg, "data");
        let text = if data.is_undefined() {
            Some("{}".to_string())
        } else {
            js::stringify_object(&data)
        };
        let Some(text) = text else {
            return self.warn_once("mindbox(\"async\"): data must be a JSON object");
        };
        self.track(op, text, get(arg, "onSuccess"), get(arg, "onError"));
    }

    /// A typed call such as `mindbox("viewProduct", {productId: "123"})`.
    fn typed(self: &Rc<Self>, kind: Kind, arg: &JsValue, extra: &JsValue) {
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
                self.track(
                    self.operation(kind),
                    text,
                    get(cbs, "onSuccess"),
                    get(cbs, "onError"),
                );
            }
            Err(e) => self.warn_once(&cat(&["mindbox(\"", kind.method(), "\"): ", &e])),
        }
    }

    /// Makes the event, writes it to the outbox, then lets the sender take it.
    fn track(
        self: &Rc<Self>,
        operation: String,
        data: String,
        on_success: JsValue,
        on_error: JsValue,
    ) {
        if !self.consent.get() {
            // Collection is off (mindbox("consent", false)): the page learns why nothing was sent.
            js::call1(
                &on_error,
                &"collection is off: consent was withdrawn".into(),
            );
            return;
        }
        // Strictly increasing within the tab, so events made in the same millisecond keep call order.
        let at = js::now().max(self.last_at.get() + 0.001);
        self.last_at.set(at);
        let record = Record::new(device::new_uuid(), operation, at, data);
        if on_success.is_function() || on_error.is_function() {
            self.callbacks
                .borrow_mut()
                .push((record.id.clone(), on_success, on_error));
        }
        self.own.borrow_mut().push(record.clone());
        let inner = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            inner.outbox.add(record).await;
            sender::kick(&inner, 0);
        });
    }

    /// Calls and forgets the page callbacks of settled events.
    pub(crate) fn settled(&self, records: &[Record]) {
        let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        self.own
            .borrow_mut()
            .retain(|r| !ids.contains(&r.id.as_str()));
        let fire: Vec<(String, JsValue, JsValue)> = {
            let mut cbs = self.callbacks.borrow_mut();
            let (fire, keep) = cbs
                .drain(..)
                .partition(|(id, _, _)| ids.contains(&id.as_str()));
            *cbs = keep;
            fire
        };
        for (id, ok, err) in fire {
            if let Some(r) = records.iter().find(|r| r.id == id) {
                match r.state {
                    outbox::State::Sent => js::call1(&ok, &JsValue::UNDEFINED),
                    _ => js::call1(&err, &r.reason.as_deref().unwrap_or("rejected").into()),
                }
            }
        }
    }
}
