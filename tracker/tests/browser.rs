//! Browser tests of the tracker's browser layer, in headless Chromium (wasm-bindgen-test).
//! Run with `cargo xtask test` (or, in `tracker/`,
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --features browser`).
#![cfg(all(target_arch = "wasm32", feature = "browser"))]

use mindbox_tracker::browser::device;
use mindbox_tracker::browser::outbox::{Outbox, Record, State};
use mindbox_tracker::uuid::is_canonical;
use mindbox_tracker::{backoff, wire};
use wasm_bindgen::JsCast;
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

#[wasm_bindgen_test]
fn creates_a_device_id_cookie_and_keeps_it() {
    clear_device_cookie();
    assert_eq!(device::read(), None);
    let id = device::ensure();
    assert!(is_canonical(&id), "{id}");
    assert_eq!(&id[14..15], "4", "version 4: {id}");
    assert_eq!(device::read().as_deref(), Some(id.as_str()));
    assert_eq!(device::ensure(), id, "a second page load keeps the id");
}

#[wasm_bindgen_test]
fn replaces_a_malformed_device_id() {
    clear_device_cookie();
    set_cookie("mindboxDeviceUUID=NOT-A-UUID; path=/");
    assert_eq!(device::read(), None);
    let id = device::ensure();
    assert!(is_canonical(&id));
    assert_eq!(device::read().as_deref(), Some(id.as_str()));
}

#[wasm_bindgen_test]
fn adopts_the_collectors_device_id() {
    clear_device_cookie();
    device::ensure();
    let server = "0f8fad5b-d9cb-469f-a165-70867728950e";
    device::adopt(server);
    assert_eq!(device::read().as_deref(), Some(server));
    device::adopt("garbage");
    assert_eq!(device::read().as_deref(), Some(server));
}

#[wasm_bindgen_test]
fn new_ids_are_random_v4() {
    let a = device::new_uuid();
    let b = device::new_uuid();
    assert_ne!(a, b);
    assert!(is_canonical(&a) && is_canonical(&b));
}

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

#[wasm_bindgen_test]
fn restores_a_purged_cookie_from_the_local_storage_copy() {
    clear_device_cookie();
    let id = device::ensure();
    assert_eq!(device::read_copy().as_deref(), Some(id.as_str()));
    clear_device_cookie();
    assert_eq!(device::read(), None);
    assert_eq!(device::ensure(), id, "the copy brings the same id back");
    assert_eq!(device::read().as_deref(), Some(id.as_str()));
    local_storage()
        .set_item("mindboxDeviceUUID", "garbage")
        .unwrap();
    assert_eq!(device::ensure(), id, "a valid cookie wins over a bad copy");
    assert_eq!(
        device::read_copy().as_deref(),
        Some(id.as_str()),
        "and repairs it"
    );
}

fn record(n: u32, data: &str) -> Record {
    Record::new(
        device::new_uuid(),
        "Website.ViewProduct".into(),
        f64::from(n),
        data.into(),
    )
}

#[wasm_bindgen_test]
async fn events_are_durable_before_any_send_and_survive_a_reload() {
    let outbox = Outbox::open().await;
    assert_eq!(outbox.storage(), "indexeddb");
    outbox.clear().await;
    let r = record(1, r#"{"a":1}"#);
    outbox.add(r.clone()).await;
    // A new page opens the same database and finds the event pending.
    let again = Outbox::open().await;
    assert_eq!(again.pending().await, vec![r.clone()]);
    let mut sent = r.clone();
    sent.state = State::Sent;
    again.settle(vec![sent.clone()]).await;
    assert!(outbox.pending().await.is_empty());
    assert_eq!(outbox.history().await, vec![sent]);
    outbox.clear().await;
}

#[wasm_bindgen_test]
async fn the_outbox_evicts_the_oldest_beyond_its_bounds_and_counts_them() {
    let outbox = Outbox::open().await;
    outbox.clear().await;
    let before = outbox.evicted().await;
    let records: Vec<Record> = (0..10).map(|n| record(n, "{}")).collect();
    for r in &records {
        outbox.add(r.clone()).await;
    }
    let kept = outbox.trim(6, usize::MAX).await;
    assert_eq!(kept, records[4..].to_vec(), "the newest six stay");
    assert_eq!(outbox.pending().await, kept);
    assert_eq!(outbox.evicted().await, before + 4);
    // The byte bound: each record is 19 (operation) + 2 (data) bytes.
    assert_eq!(outbox.trim(100, 21 * 3).await, records[7..].to_vec());
    assert_eq!(outbox.pending().await, records[7..].to_vec());
    assert_eq!(outbox.evicted().await, before + 7);
    outbox.clear().await;
}

#[wasm_bindgen_test]
async fn without_indexeddb_the_outbox_keeps_working_in_memory() {
    let outbox = Outbox::with(None);
    assert_eq!(outbox.storage(), "memory");
    let a = record(1, "{}");
    let b = record(2, "{}");
    outbox.add(b.clone()).await;
    outbox.add(a.clone()).await;
    assert_eq!(
        outbox.pending().await,
        vec![a.clone(), b.clone()],
        "oldest first"
    );
    outbox.failed(vec![a.clone()], "offline").await;
    assert_eq!(outbox.pending().await[0].attempts, 1);
    let mut rejected = a.clone();
    rejected.state = State::Rejected;
    outbox.settle(vec![rejected]).await;
    assert_eq!(outbox.pending().await, vec![b.clone()]);
    assert_eq!(outbox.history().await[0].state, State::Rejected);
    assert!(outbox.trim(0, usize::MAX).await.is_empty());
    assert_eq!(outbox.evicted().await, 1);
}

#[wasm_bindgen_test]
fn the_backoff_schedule_doubles_with_jitter_and_honours_retry_after() {
    let upper: Vec<u64> = (1..=10).map(|f| backoff::delay_ms(f, 1.0, None)).collect();
    assert_eq!(
        upper,
        vec![1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000]
    );
    assert_eq!(
        backoff::delay_ms(3, 0.0, None),
        2_000,
        "jitter keeps at least half"
    );
    assert_eq!(backoff::delay_ms(1, 0.3, Some(60_000)), 60_000);
}

#[wasm_bindgen_test]
fn batches_split_at_64_kib() {
    let big = "x".repeat(20_000);
    let events: Vec<String> = (0..7)
        .map(|n| {
            wire::event_json(
                &device::new_uuid(),
                "Website.ViewProduct",
                n,
                &format!("{{\"b\":\"{big}\"}}"),
            )
        })
        .collect();
    let sizes: Vec<usize> = events.iter().map(String::len).collect();
    let (batches, oversize) = wire::split(&sizes, wire::MAX_BATCH_BYTES, wire::MAX_BATCH_EVENTS);
    assert!(oversize.is_empty());
    assert_eq!(batches, vec![0..3, 3..6, 6..7]);
    for r in batches {
        assert!(wire::batch_body(&device::new_uuid(), &events[r]).len() <= wire::MAX_BATCH_BYTES);
    }
}
