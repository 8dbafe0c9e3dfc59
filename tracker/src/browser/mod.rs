//! The browser layer: the Rust half of the tracker, as the JS shell calls it.
//!
//! Every event walks one pipeline, one file per step:
//! page call (`tracker/js/loader.js` → `tracker/js/core.js` → [`Tracker::call`], decided by
//! [`crate::page`], arguments read by [`crate::args`], payload from [`crate::payload`]) → event →
//! IndexedDB outbox (`tracker/js/outbox.js`, bounds from [`crate::eviction`]) → batch
//! ([`Tracker::batches`], wire format from [`crate::wire`]) → collector (`tracker/js/flush.js` posts,
//! `answer.js` reads the answer; [`Tracker::retry_delay`] picks the retry delay from
//! [`crate::backoff`]).
//!
//! **Why the I/O is JS, and why only text crosses.** Everything that decides — argument checks,
//! payloads, event ids, the wire format, batch splitting, retry delays, eviction — is Rust and shares
//! its model with the collector. IndexedDB, `fetch`, timers, listeners, the sending-tab lock and the
//! device cookie are a few hundred lines of JS. Only strings and numbers cross between the two: the
//! page's argument as `JSON.stringify` text in, the event as text out. Reading JS objects field by
//! field from wasm cost kilobytes of glue and imports that every shopper downloads (see the README's
//! measurements). The exports are synchronous and never throw into the page.

mod js;
pub mod sending;

use std::cell::{Cell, RefCell};

use wasm_bindgen::prelude::*;

use crate::page::{cat, Page};

#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Starts what [`Tracker::call`] returns for a message (for the console and the call's `onError`).
pub const MESSAGE: char = '\u{2}';

/// The tracker's Rust half in this tab: the page's settings and the decisions.
#[wasm_bindgen]
pub struct Tracker {
    page: RefCell<Page>,
    last_at: Cell<f64>,
}

#[wasm_bindgen]
impl Tracker {
    /// The tracker of this page; `endpoint_id` comes from the script tag.
    #[wasm_bindgen(constructor)]
    pub fn new(endpoint_id: Option<String>) -> Tracker {
        Tracker {
            page: RefCell::new(Page::new(endpoint_id)),
            last_at: Cell::new(0.0),
        }
    }

    /// One `mindbox(method, arg)` call from the page, other than `sync`, `consent` and `helpers.*` (the
    /// JS shell answers those), with `arg` as JSON text. Returns the event to store as
    /// `id␁operation␁createdAt␁data`, `""` when the call only set something, or [`MESSAGE`] and what
    /// was expected when the call is dropped.
    pub fn call(&self, method: &str, arg: &str) -> String {
        match self.page.borrow_mut().call(method, arg) {
            Ok(Some(made)) => {
                let mut at = String::new();
                crate::wire::push_time(&mut at, self.now());
                let f = sending::FIELD.to_string();
                cat(&[
                    &js::new_uuid(),
                    &f,
                    &made.operation,
                    &f,
                    &at,
                    &f,
                    &made.data,
                ])
            }
            Ok(None) => String::new(),
            Err(message) => {
                let mut out = String::from(MESSAGE);
                out.push_str(&message);
                out
            }
        }
    }

    /// Pending events (oldest first, written by `core.js`) as batches from `device` for the page's
    /// endpoint: see [`sending::batches`].
    pub fn batches(&self, device: &str, records: &str) -> String {
        let page = self.page.borrow();
        sending::batches(device, page.endpoint_id.as_deref(), records)
    }

    /// Milliseconds to wait after `failures` consecutive failed posts (≥ 1), at least the answer's
    /// `Retry-After` seconds: see [`sending::retry_delay`].
    #[wasm_bindgen(js_name = retryDelay)]
    pub fn retry_delay(&self, failures: u32, retry_after: Option<String>) -> f64 {
        sending::retry_delay(failures, retry_after) as f64
    }

    /// How many of the oldest pending events, of these sizes (operation + data, oldest first), to
    /// evict to stay within the outbox's bounds ([`crate::eviction`]).
    pub fn evict(&self, sizes: &[u32]) -> usize {
        let sizes: Vec<usize> = sizes.iter().map(|&s| s as usize).collect();
        crate::eviction::evict_count(
            &sizes,
            crate::eviction::MAX_EVENTS,
            crate::eviction::MAX_BYTES,
        )
    }

    /// Whether a record QA imports can be an event of this tracker: a canonical id and an operation
    /// name.
    #[wasm_bindgen(js_name = isEvent)]
    pub fn is_event(&self, id: &str, operation: &str) -> bool {
        crate::uuid::is_canonical(id) && crate::operation::is_valid_name(operation)
    }
}

impl Tracker {
    /// Strictly increasing within the tab, so events made in the same millisecond keep call order.
    fn now(&self) -> f64 {
        let at = js::now().max(self.last_at.get() + 0.001);
        self.last_at.set(at);
        at
    }
}
