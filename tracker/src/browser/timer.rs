//! Timers as futures (`setTimeout`), and racing a future against one.

use std::future::Future;

use futures_util::future::{select, Either};
use js_sys::{Function, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: u32) {
    let p = Promise::new(&mut |resolve: Function, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                resolve.unchecked_ref(),
                ms as i32,
            );
        }
    });
    let _ = JsFuture::from(p).await;
}

/// `Some(output)` if `fut` finishes within `ms`, else `None`.
pub async fn race<F: Future>(fut: F, ms: u32) -> Option<F::Output> {
    match select(Box::pin(fut), Box::pin(sleep(ms))).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}
