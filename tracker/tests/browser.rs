//! Browser tests of the tracker's browser layer, in headless Chromium (wasm-bindgen-test).
//! Run with `cargo xtask test` (or, in `tracker/`,
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --features browser`).
#![cfg(all(target_arch = "wasm32", feature = "browser"))]

use mindbox_tracker::browser::device;
use mindbox_tracker::uuid::is_canonical;
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
