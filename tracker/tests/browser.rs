//! Browser tests of the tracker's browser layer, in headless Chromium (wasm-bindgen-test).
//! Run with `cargo xtask test` (or, in `tracker/`,
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --features browser`).
#![cfg(all(target_arch = "wasm32", feature = "browser"))]

use js_sys::{Array, Promise};
use mindbox_tracker::check::{self, Limits, Policy};
use mindbox_tracker::eviction::{MAX_BYTES, MAX_EVENTS};
use mindbox_tracker::shell::{self, Tracker};
use mindbox_tracker::uuid::is_canonical;
use mindbox_tracker::{backoff, wire};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn set_cookie(value: &str) {
    let doc: web_sys::HtmlDocument = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .dyn_into()
        .unwrap();
    doc.set_cookie(value).unwrap();
}

fn clear_device_cookie() {
    set_cookie("mindboxDeviceUUID=; path=/; max-age=0");
}

// The JS device id (`tracker/js/device.js`) as the tracker bundles it.
#[wasm_bindgen(module = "/js/device.js")]
extern "C" {
    /// The cookie's id, when canonical.
    #[wasm_bindgen(js_name = read)]
    fn read_js() -> Option<String>;
    #[wasm_bindgen(js_name = readCopy)]
    fn read_copy() -> Option<String>;
    fn ensure() -> String;
    fn adopt(id: &str);
    #[wasm_bindgen(js_name = newId)]
    fn new_id() -> String;
}

fn read() -> Option<String> {
    read_js()
}

#[wasm_bindgen_test]
fn creates_a_device_id_cookie_and_keeps_it() {
    clear_device_cookie();
    assert_eq!(read(), None);
    let id = ensure();
    assert!(is_canonical(&id), "{id}");
    assert_eq!(&id[14..15], "4", "version 4: {id}");
    assert_eq!(read().as_deref(), Some(id.as_str()));
    assert_eq!(ensure(), id, "a second page load keeps the id");
}

#[wasm_bindgen_test]
fn replaces_a_malformed_device_id() {
    clear_device_cookie();
    set_cookie("mindboxDeviceUUID=NOT-A-UUID; path=/");
    assert_eq!(read(), None);
    let id = ensure();
    assert!(is_canonical(&id));
    assert_eq!(read().as_deref(), Some(id.as_str()));
}

#[wasm_bindgen_test]
fn adopts_the_collectors_device_id() {
    clear_device_cookie();
    ensure();
    let server = "0f8fad5b-d9cb-469f-a165-70867728950e";
    adopt(server);
    assert_eq!(read().as_deref(), Some(server));
    adopt("garbage");
    assert_eq!(read().as_deref(), Some(server));
}

#[wasm_bindgen_test]
fn new_ids_are_random_v4() {
    // Event ids (Rust) and device ids (JS) alike.
    for (a, b) in [(event_id(), event_id()), (new_id(), new_id())] {
        assert_ne!(a, b);
        assert!(is_canonical(&a) && is_canonical(&b), "{a} {b}");
        assert_eq!((&a[14..15], &b[14..15]), ("4", "4"), "version 4");
        assert!("89ab".contains(&a[19..20]), "the RFC 4122 variant: {a}");
    }
}

/// An event id as the Rust half makes them (`Tracker::call`).
fn event_id() -> String {
    let mut random = [0u8; 16];
    web_sys::window()
        .unwrap()
        .crypto()
        .unwrap()
        .get_random_values_with_u8_array(&mut random)
        .unwrap();
    let made = Tracker::new(None).call("viewProduct", r#"{"productId":"1"}"#, 0.0, random);
    made.split('\u{1}').next().unwrap().to_string()
}

/// Where a stored event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Pending,
    Sent,
    Rejected,
}

/// A stored event as the shell keeps it (the test's own reading of outbox.js's records).
#[derive(Clone, Debug, PartialEq)]
struct Record {
    id: String,
    operation: String,
    created_at: f64,
    data: String,
    state: State,
    attempts: u32,
    last_error: Option<String>,
    reason: Option<String>,
    settled_at: Option<f64>,
}

impl Record {
    fn to_js(&self) -> JsValue {
        let o = js_sys::Object::new();
        let set = |k: &str, v: JsValue| js_sys::Reflect::set(&o, &k.into(), &v).unwrap();
        set("id", self.id.as_str().into());
        set("operation", self.operation.as_str().into());
        set("createdAt", self.created_at.into());
        set("data", self.data.as_str().into());
        let state = match self.state {
            State::Pending => "pending",
            State::Sent => "sent",
            State::Rejected => "rejected",
        };
        set("state", state.into());
        set("attempts", self.attempts.into());
        let opt = |v: &Option<String>| v.as_deref().map_or(JsValue::NULL, JsValue::from_str);
        set("lastError", opt(&self.last_error));
        set("reason", opt(&self.reason));
        set(
            "settledAt",
            self.settled_at.map_or(JsValue::NULL, JsValue::from_f64),
        );
        set("replayOf", JsValue::NULL);
        o.into()
    }

    fn from_js(v: &JsValue) -> Option<Record> {
        let get = |k: &str| js_sys::Reflect::get(v, &k.into()).ok();
        Some(Record {
            id: get("id")?.as_string()?,
            operation: get("operation")?.as_string()?,
            created_at: get("createdAt")?.as_f64()?,
            data: get("data")?.as_string()?,
            state: match get("state")?.as_string()?.as_str() {
                "sent" => State::Sent,
                "rejected" => State::Rejected,
                _ => State::Pending,
            },
            attempts: get("attempts")?.as_f64().unwrap_or(0.0) as u32,
            last_error: get("lastError")?.as_string(),
            reason: get("reason")?.as_string(),
            settled_at: get("settledAt")?.as_f64(),
        })
    }
}

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

#[wasm_bindgen_test]
fn restores_a_purged_cookie_from_the_local_storage_copy() {
    clear_device_cookie();
    let id = ensure();
    assert_eq!(read_copy().as_deref(), Some(id.as_str()));
    clear_device_cookie();
    assert_eq!(read(), None);
    assert_eq!(ensure(), id, "the copy brings the same id back");
    assert_eq!(read().as_deref(), Some(id.as_str()));
    local_storage()
        .set_item("mindboxDeviceUUID", "garbage")
        .unwrap();
    assert_eq!(ensure(), id, "a valid cookie wins over a bad copy");
    assert_eq!(read_copy().as_deref(), Some(id.as_str()), "and repairs it");
}

// The JS outbox (`tracker/js/outbox.js`) as the tracker bundles it, driven from here.
#[wasm_bindgen(module = "/js/outbox.js")]
extern "C" {
    #[wasm_bindgen(js_name = openOutbox)]
    fn open_outbox(ms: u32) -> Promise;
    type Outbox;
    /// Memory only: `new Outbox()`.
    #[wasm_bindgen(constructor)]
    fn new() -> Outbox;
    #[wasm_bindgen(method, getter)]
    fn storage(this: &Outbox) -> String;
    #[wasm_bindgen(method)]
    fn add(this: &Outbox, records: &Array) -> Promise;
    #[wasm_bindgen(method)]
    fn pending(this: &Outbox) -> Promise;
    #[wasm_bindgen(method)]
    fn history(this: &Outbox) -> Promise;
    #[wasm_bindgen(method)]
    fn all(this: &Outbox) -> Promise;
    #[wasm_bindgen(method)]
    fn evicted(this: &Outbox) -> Promise;
    #[wasm_bindgen(method)]
    fn settle(this: &Outbox, records: &Array) -> Promise;
    #[wasm_bindgen(method)]
    fn failed(this: &Outbox, records: &Array, error: &str) -> Promise;
    #[wasm_bindgen(method)]
    fn evict(this: &Outbox, records: &Array) -> Promise;
    #[wasm_bindgen(method)]
    fn clear(this: &Outbox) -> Promise;
}

async fn open() -> Outbox {
    JsFuture::from(open_outbox(3000))
        .await
        .unwrap()
        .unchecked_into()
}

async fn wait(p: Promise) -> JsValue {
    JsFuture::from(p).await.unwrap()
}

async fn records(p: Promise) -> Vec<Record> {
    Array::from(&wait(p).await)
        .iter()
        .map(|v| Record::from_js(&v).expect("a stored record reads back"))
        .collect()
}

fn ids(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| r.id.clone()).collect()
}

fn record(n: u32, data: &str) -> Record {
    Record {
        id: event_id(),
        operation: "Website.ViewProduct".into(),
        created_at: f64::from(n),
        data: data.into(),
        state: State::Pending,
        attempts: 0,
        last_error: None,
        reason: None,
        settled_at: None,
    }
}

/// The sizes `core.js` gives `Tracker::evict`: operation + data lengths.
fn sizes(records: &Array) -> Vec<usize> {
    records
        .iter()
        .map(|r| {
            let r = Record::from_js(&r).unwrap();
            r.operation.len() + r.data.len()
        })
        .collect()
}

fn js(records: &[Record]) -> Array {
    records.iter().map(Record::to_js).collect()
}

#[wasm_bindgen_test]
async fn events_are_durable_before_any_send_and_survive_a_reload() {
    let outbox = open().await;
    assert_eq!(outbox.storage(), "indexeddb");
    wait(outbox.clear()).await;
    let r = record(1, r#"{"a":1}"#);
    wait(outbox.add(&js(std::slice::from_ref(&r)))).await;
    // A new page opens the same database and finds the event pending, unchanged.
    let again = open().await;
    assert!(records(again.pending()).await == vec![r.clone()]);
    let mut sent = r.clone();
    sent.state = State::Sent;
    sent.settled_at = Some(2.0);
    wait(again.settle(&js(std::slice::from_ref(&sent)))).await;
    assert!(records(outbox.pending()).await.is_empty());
    assert!(records(outbox.history()).await == vec![sent]);
    wait(outbox.clear()).await;
}

#[wasm_bindgen_test]
async fn an_event_settling_while_qa_reads_the_list_is_in_it_once() {
    // The QA page's list (`all`) asked for, then the event settles before the read is done: the list
    // holds it once, as pending or as sent, never both (a tester's pick would replay it twice).
    let outbox = open().await;
    wait(outbox.clear()).await;
    let r = record(1, "{}");
    wait(outbox.add(&js(std::slice::from_ref(&r)))).await;
    let mut sent = r.clone();
    sent.state = State::Sent;
    sent.settled_at = Some(2.0);
    let listed = outbox.all();
    let settled = outbox.settle(&js(&[sent]));
    assert_eq!(ids(&records(listed).await), vec![r.id.clone()]);
    wait(settled).await;
    assert_eq!(ids(&records(outbox.all()).await), vec![r.id]);
    wait(outbox.clear()).await;
}

#[wasm_bindgen_test]
async fn an_event_the_outbox_forgot_is_not_brought_back_by_a_late_answer() {
    // Consent withdrawn (the outbox cleared) while the event's batch was in flight: the answer that
    // comes back later must not store it again, as pending or in the history.
    let outbox = open().await;
    wait(outbox.clear()).await;
    let r = record(1, "{}");
    wait(outbox.add(&js(std::slice::from_ref(&r)))).await;
    wait(outbox.clear()).await;
    wait(outbox.failed(&js(std::slice::from_ref(&r)), "offline")).await;
    let mut sent = r.clone();
    sent.state = State::Sent;
    wait(outbox.settle(&js(&[sent]))).await;
    assert!(records(outbox.pending()).await.is_empty());
    assert!(records(outbox.history()).await.is_empty());
}

#[wasm_bindgen_test]
async fn the_outbox_evicts_the_oldest_beyond_its_bounds_and_counts_them() {
    let outbox = open().await;
    wait(outbox.clear()).await;
    let before = wait(outbox.evicted()).await.as_f64().unwrap();
    // The count bound: 1 000 events.
    let made: Vec<Record> = (0..MAX_EVENTS as u32 + 5)
        .map(|n| record(n, "{}"))
        .collect();
    wait(outbox.add(&js(&made))).await;
    let pending = Array::from(&wait(outbox.pending()).await);
    let n = shell::evict(&sizes(&pending));
    assert_eq!(n, 5, "the five oldest go");
    wait(outbox.evict(&pending.slice(0, n as u32))).await;
    assert_eq!(ids(&records(outbox.pending()).await), ids(&made[5..]));
    assert_eq!(wait(outbox.evicted()).await.as_f64().unwrap(), before + 5.0);
    // The byte bound: 2 MiB of operation + data.
    wait(outbox.clear()).await;
    let big = "x".repeat(MAX_BYTES / 4);
    let made: Vec<Record> = (0..5).map(|n| record(n, &big)).collect();
    wait(outbox.add(&js(&made))).await;
    let pending = Array::from(&wait(outbox.pending()).await);
    assert_eq!(
        shell::evict(&sizes(&pending)),
        2,
        "four quarters and the operations overflow by two"
    );
    wait(outbox.clear()).await;
}

#[wasm_bindgen_test]
async fn without_indexeddb_the_outbox_keeps_working_in_memory() {
    let outbox = Outbox::new();
    assert_eq!(outbox.storage(), "memory");
    let a = record(1, "{}");
    let b = record(2, "{}");
    wait(outbox.add(&js(std::slice::from_ref(&b)))).await;
    wait(outbox.add(&js(std::slice::from_ref(&a)))).await;
    assert_eq!(
        ids(&records(outbox.pending()).await),
        ids(&[a.clone(), b.clone()]),
        "oldest first"
    );
    wait(outbox.failed(&js(std::slice::from_ref(&a)), "offline")).await;
    let first = &records(outbox.pending()).await[0];
    assert_eq!(
        (first.attempts, first.last_error.as_deref()),
        (1, Some("offline"))
    );
    let mut rejected = a.clone();
    rejected.state = State::Rejected;
    wait(outbox.settle(&js(&[rejected]))).await;
    assert_eq!(
        ids(&records(outbox.pending()).await),
        ids(std::slice::from_ref(&b))
    );
    assert!(records(outbox.history()).await[0].state == State::Rejected);
    wait(outbox.evict(&js(&[b]))).await;
    assert!(records(outbox.pending()).await.is_empty());
    assert_eq!(wait(outbox.evicted()).await.as_f64(), Some(1.0));
}

#[wasm_bindgen_test]
fn the_backoff_schedule_doubles_with_jitter_and_honours_retry_after() {
    let upper: Vec<u64> = (1..=10)
        .map(|f| backoff::delay_ms(backoff::TRACKER, f, 1.0, None))
        .collect();
    assert_eq!(
        upper,
        vec![1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000]
    );
    assert_eq!(
        backoff::delay_ms(backoff::TRACKER, 3, 0.0, None),
        2_000,
        "jitter keeps at least half"
    );
    assert_eq!(
        backoff::delay_ms(backoff::TRACKER, 1, 0.3, Some(60_000)),
        60_000
    );
}

#[wasm_bindgen_test]
fn batches_split_at_64_kib() {
    let big = "x".repeat(20_000);
    let events: Vec<String> = (0..7)
        .map(|n| {
            wire::event_json(
                &event_id(),
                "Website.ViewProduct",
                n as f64,
                &format!("{{\"b\":\"{big}\"}}"),
            )
        })
        .collect();
    let sizes: Vec<usize> = events.iter().map(String::len).collect();
    let (batches, oversize) = wire::split(&sizes, wire::MAX_BATCH_BYTES, wire::MAX_BATCH_EVENTS);
    assert!(oversize.is_empty());
    assert_eq!(batches, vec![0..3, 3..6, 6..7]);
    for r in batches {
        assert!(
            wire::batch_body(
                &event_id(),
                Some("shop-website"),
                false,
                false,
                1.0e12,
                &events[r]
            )
            .len()
                <= wire::MAX_BATCH_BYTES
        );
    }
}

#[wasm_bindgen_test]
fn the_trackers_batches_pass_the_collectors_check() {
    let tracker = Tracker::new(None);
    let big = format!("{{\"b\":\"{}\"}}", "x".repeat(30_000));
    let too_big = format!("{{\"b\":\"{}\"}}", "x".repeat(70_000));
    let made = [
        record(
            1,
            "{\"viewProduct\":{\"product\":{\"ids\":{\"website\":\"1\"}}}}",
        ),
        record(2, &big),
        record(3, &too_big),
        record(4, &big),
        record(5, "{}"),
    ];
    let device = new_id();
    // What core.js sends: id␁operation␁createdAt␁data per record, joined by ␀.
    let records: Vec<String> = made
        .iter()
        .map(|r| {
            format!(
                "{}\u{1}{}\u{1}{}\u{1}{}",
                r.id, r.operation, r.created_at, r.data
            )
        })
        .collect();
    let out = tracker.batches(&device, &records.join("\u{0}"), js_sys::Date::now());
    let entries: Vec<&str> = out.split('\u{0}').collect();
    assert_eq!(entries.len(), 3, "one oversize event, then two batches");
    assert!(entries[0].starts_with("r2,3\u{1}"), "{}", &entries[0][..20]);
    assert!(entries[0].contains("64 KiB"));
    let mut sent = Vec::new();
    for (e, range) in entries[1..].iter().zip(["b0,2\u{1}", "b3,5\u{1}"]) {
        let body = e.strip_prefix(range).expect("records 0..2, then 3..5");
        let checked = check::check_batch(body.as_bytes(), &Limits::default(), &Policy::default())
            .expect("the collector takes the body");
        assert_eq!(checked.device_uuid.as_deref(), Some(device.as_str()));
        for ev in checked.events {
            sent.push(ev.expect("every event passes").id);
        }
    }
    let expected: Vec<String> = [0, 1, 3, 4].iter().map(|&i| made[i].id.clone()).collect();
    assert_eq!(sent, expected, "in order, none lost");
}

#[wasm_bindgen(module = "/js/contract.js")]
extern "C" {
    /// contract.js's whole-request refusal statuses (answer.js imports this module).
    #[wasm_bindgen(thread_local_v2, js_name = SPLIT)]
    static SPLIT: Array;
}

#[wasm_bindgen_test]
fn the_shells_contract_is_the_wires() {
    let split: Vec<u16> = SPLIT.with(|a| a.iter().map(|v| v.as_f64().unwrap() as u16).collect());
    assert_eq!(split, wire::SPLIT_STATUSES);
}
