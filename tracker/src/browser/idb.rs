//! IndexedDB as futures: requests and transactions become promises awaited with `JsFuture`.

use js_sys::{Function, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbObjectStore, IdbRequest, IdbTransaction, IdbTransactionMode};

/// Database name, shared by every tab of the shop's origin.
pub const DB: &str = "mindbox-edge";
/// Pending events, keyed by event id.
pub const OUTBOX: &str = "outbox";
/// Sent (recent) and rejected events, keyed by event id.
pub const HISTORY: &str = "history";
/// Counters (`evicted`).
pub const META: &str = "meta";

fn settle(target: &JsValue, ok: &str, err: &str, value: impl Fn() -> JsValue + 'static) -> Promise {
    let target = target.clone();
    let mut value = Some(value);
    Promise::new(&mut |resolve: Function, reject: Function| {
        let value = value.take();
        let on_ok = Closure::once_into_js(move || {
            let v = value.map_or(JsValue::UNDEFINED, |f| f());
            let _ = resolve.call1(&JsValue::NULL, &v);
        });
        let on_err = Closure::once_into_js(move |e: JsValue| {
            let _ = reject.call1(&JsValue::NULL, &e);
        });
        let _ = js_sys::Reflect::set(&target, &JsValue::from_str(ok), &on_ok);
        let _ = js_sys::Reflect::set(&target, &JsValue::from_str(err), &on_err);
    })
}

/// Awaits a request's result.
pub async fn request(req: IdbRequest) -> Result<JsValue, JsValue> {
    let r = req.clone();
    let p = settle(&req, "onsuccess", "onerror", move || {
        r.result().unwrap_or(JsValue::UNDEFINED)
    });
    JsFuture::from(p).await
}

/// Awaits a transaction's commit (`oncomplete`); `onabort`/`onerror` reject.
pub async fn committed(tx: &IdbTransaction) -> Result<(), JsValue> {
    let p = settle(tx, "oncomplete", "onabort", || JsValue::UNDEFINED);
    JsFuture::from(p).await.map(|_| ())
}

/// Opens the database (version 1), creating its stores on first use.
pub async fn open() -> Result<IdbDatabase, JsValue> {
    let factory = web_sys::window()
        .ok_or(JsValue::NULL)?
        .indexed_db()?
        .ok_or(JsValue::NULL)?;
    let req = factory.open_with_u32(DB, 1)?;
    let upgrade_req = req.clone();
    let on_upgrade = Closure::once_into_js(move || {
        if let Ok(db) = upgrade_req
            .result()
            .and_then(|r| r.dyn_into::<IdbDatabase>())
        {
            let params = web_sys::IdbObjectStoreParameters::new();
            params.set_key_path(&JsValue::from_str("id"));
            let _ = db.create_object_store_with_optional_parameters(OUTBOX, &params);
            let _ = db.create_object_store_with_optional_parameters(HISTORY, &params);
            let _ = db.create_object_store(META);
        }
    });
    req.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    let db = request(req.into()).await?;
    db.dyn_into::<IdbDatabase>()
}

/// A transaction over `stores` and the stores themselves, in the same order.
pub fn tx(
    db: &IdbDatabase,
    stores: &[&str],
    write: bool,
) -> Result<(IdbTransaction, Vec<IdbObjectStore>), JsValue> {
    let names: js_sys::Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
    let mode = if write {
        IdbTransactionMode::Readwrite
    } else {
        IdbTransactionMode::Readonly
    };
    let tx = db.transaction_with_str_sequence_and_mode(&names, mode)?;
    let handles = stores
        .iter()
        .map(|s| tx.object_store(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((tx, handles))
}
