//! The wasm module's exports: [`crate::shell`] behind a handful of plain functions, called by
//! `tracker/js/wasm.js` (no generated glue; see the README's measurements).
//!
//! Text goes in through one buffer (`input(len)` returns where the caller writes `len` bytes of
//! UTF-8) and comes out through another (`output()` and `output_len()` after a call). Several
//! strings in one input are joined by `␁` ([`shell::FIELD`]). The module imports nothing: the clock
//! and random numbers are arguments.

use core::cell::UnsafeCell;

use crate::shell::{self, fields, Tracker, FIELD};

#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

struct State {
    tracker: Option<Tracker>,
    input: Vec<u8>,
    output: String,
}

/// The module's one state. (Cheaper in wasm than a `thread_local!`.)
struct Global(UnsafeCell<State>);

// SAFETY: this build has no threads (`wasm32-unknown-unknown` without `atomics`), and each export
// takes the one reference below for its own duration only; the module never calls back into JS, so
// exports never nest.
unsafe impl Sync for Global {}

static STATE: Global = Global(UnsafeCell::new(State {
    tracker: None,
    input: Vec::new(),
    output: String::new(),
}));

fn state() -> &'static mut State {
    // SAFETY: see `Global`: one export runs at a time and holds the only reference.
    unsafe { &mut *STATE.0.get() }
}

/// Runs `f` on the input text and the tracker.
fn with<T>(f: impl FnOnce(&str, &mut Tracker) -> T) -> T {
    let s = state();
    // SAFETY: the only writer of the input, wasm.js, writes `TextEncoder` output: valid UTF-8.
    let text = unsafe { core::str::from_utf8_unchecked(&s.input) };
    f(text, s.tracker.get_or_insert_with(|| Tracker::new(None)))
}

fn put(text: String) {
    state().output = text;
}

fn pair(text: &str) -> (&str, &str) {
    let mut f = fields(text, FIELD, 2);
    (f.next().unwrap_or(""), f.next().unwrap_or(""))
}

/// Where the caller writes the next input, `len` bytes.
#[no_mangle]
pub extern "C" fn input(len: usize) -> *mut u8 {
    let s = state();
    s.input.clear();
    s.input.resize(len, 0);
    s.input.as_mut_ptr()
}

/// Where the last output is.
#[no_mangle]
pub extern "C" fn output() -> *const u8 {
    state().output.as_ptr()
}

/// How long the last output is, in bytes.
#[no_mangle]
pub extern "C" fn output_len() -> usize {
    state().output.len()
}

/// Input: the endpoint id the script tag names (empty: none).
#[no_mangle]
pub extern "C" fn init() {
    let endpoint = with(|text, _| (!text.is_empty()).then(|| text.to_string()));
    state().tracker = Some(Tracker::new(endpoint));
}

/// Input: `method␁arg`. Output: [`Tracker::call`]'s.
#[no_mangle]
pub extern "C" fn call(now: f64, r0: u32, r1: u32, r2: u32, r3: u32) {
    let mut random = [0u8; 16];
    for (i, r) in [r0, r1, r2, r3].iter().enumerate() {
        random[i * 4..i * 4 + 4].copy_from_slice(&r.to_le_bytes());
    }
    let out = with(|text, tracker| {
        let (method, arg) = pair(text);
        tracker.call(method, arg, now, random)
    });
    put(out);
}

/// Input: `device␁records`. Output: [`Tracker::batches`]'s.
#[no_mangle]
pub extern "C" fn batches(now: f64) {
    let out = with(|text, tracker| {
        let (device, records) = pair(text);
        tracker.batches(device, records, now)
    });
    put(out);
}

/// Input: the `Retry-After` header (empty: none). Returns [`shell::retry_delay`]'s milliseconds.
#[no_mangle]
pub extern "C" fn retry_delay(failures: u32, jitter: f64) -> f64 {
    with(|text, _| shell::retry_delay(failures, (!text.is_empty()).then_some(text), jitter)) as f64
}

/// Input: the pending events' sizes, oldest first, as `12,345,…`. Returns [`shell::evict`]'s count.
#[no_mangle]
pub extern "C" fn evict() -> u32 {
    with(|text, _| {
        let sizes: Vec<usize> = fields(text, ',', usize::MAX)
            .filter(|s| !s.is_empty())
            .map(|s| shell::digits(s).unwrap_or(0) as usize)
            .collect();
        shell::evict(&sizes) as u32
    })
}

/// Input: `id␁operation`. Returns 1 when a QA import's record can be an event ([`shell::is_event`]).
#[no_mangle]
pub extern "C" fn is_event() -> u32 {
    with(|text, _| {
        let (id, operation) = pair(text);
        shell::is_event(id, operation) as u32
    })
}
