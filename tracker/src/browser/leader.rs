//! One sending tab: of all the shop's tabs, only the one holding the lock sends the (shared) outbox,
//! so no event is sent twice by two tabs.
//!
//! With the Web Locks API the tab asks for the exclusive lock `mindbox-edge-sender` and holds it until
//! it closes; the next tab waiting gets it then. Where Web Locks are missing, a lease in localStorage
//! (`tab id|expiry`, renewed every second, 3 s long) stands in.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::js::{cat, now};

const LOCK: &str = "mindbox-edge-sender";
const LEASE_KEY: &str = "mindboxEdgeSender";
const LEASE_MS: f64 = 3000.0;

/// Whether this tab is the sender; updated in the background.
#[derive(Clone)]
pub struct Leader(Rc<Cell<bool>>);

impl Leader {
    /// True while this tab sends.
    pub fn is_leader(&self) -> bool {
        self.0.get()
    }

    /// Starts competing for the sender role; `on_gain` runs when this tab becomes the sender.
    pub fn start(tab_id: String, on_gain: Rc<dyn Fn()>) -> Leader {
        let flag = Rc::new(Cell::new(false));
        if !web_locks(&flag, on_gain.clone()) {
            lease(&flag, tab_id, on_gain);
        }
        Leader(flag)
    }
}

/// `navigator.locks.request(LOCK, () => { became leader; return new Promise(() => {}) })`.
fn web_locks(flag: &Rc<Cell<bool>>, on_gain: Rc<dyn Fn()>) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let locks = Reflect::get(&window.navigator(), &"locks".into()).unwrap_or(JsValue::UNDEFINED);
    let request = Reflect::get(&locks, &"request".into()).unwrap_or(JsValue::UNDEFINED);
    let Some(request) = request.dyn_ref::<Function>() else {
        return false;
    };
    let flag = flag.clone();
    let granted = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        flag.set(true);
        on_gain();
        // Held until the tab goes away.
        Promise::new(&mut |_, _| {}).into()
    });
    request
        .call2(&locks, &LOCK.into(), &granted)
        .map(|p| {
            // A rejected request (e.g. an opaque origin) must not surface as an unhandled rejection.
            if let Ok(p) = p.dyn_into::<Promise>() {
                let ignore = Closure::<dyn FnMut(JsValue)>::new(|_| {});
                let _ = p.catch(&ignore);
                ignore.forget();
            }
        })
        .is_ok()
}

fn lease(flag: &Rc<Cell<bool>>, tab_id: String, on_gain: Rc<dyn Fn()>) {
    let flag = flag.clone();
    let tick = Closure::<dyn Fn()>::new(move || {
        let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) else {
            // No storage at all: this tab is on its own, so it sends.
            if !flag.get() {
                flag.set(true);
                on_gain();
            }
            return;
        };
        let t = now();
        let current = s.get_item(LEASE_KEY).ok().flatten().unwrap_or_default();
        let (holder, expiry) = current.split_once('|').unwrap_or(("", "0"));
        let expiry = js_sys::parse_float(expiry);
        let expired = expiry.is_nan() || expiry < t;
        if holder == tab_id || expired {
            let until = super::js::num_text(t + LEASE_MS);
            let _ = s.set_item(LEASE_KEY, &cat(&[&tab_id, "|", &until]));
            let mine = s
                .get_item(LEASE_KEY)
                .ok()
                .flatten()
                .is_some_and(|v| v.starts_with(&cat(&[&tab_id, "|"])));
            if mine && !flag.get() {
                flag.set(true);
                on_gain();
            }
            flag.set(mine);
        } else {
            flag.set(false);
        }
    });
    if let Some(w) = web_sys::window() {
        let f: &Function = tick.as_ref().unchecked_ref();
        let _ = f.call0(&JsValue::NULL);
        let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(f, 1000);
    }
    tick.forget();
}
