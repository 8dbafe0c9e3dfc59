//! # Mindbox Edge tracker: the Rust half
//!
//! [`page`], [`args`], [`payload`] and [`shell`] turn page calls such as
//! `mindbox("async", {operation, data})` into events and write the batches the JS shell
//! (`tracker/js/`) stores and sends, with the shared model (`mindbox-model`, re-exported here under
//! its module names). Plain Rust, host-tested; `ffi` (the `browser` feature, on `wasm32`) exports it to
//! the shell as a wasm module without generated glue. The whole path is in `docs/architecture.md`.

pub mod args;
pub mod page;
pub mod payload;
pub mod shell;

pub use mindbox_model::{backoff, check, contact, event, eviction, json, operation, uuid, wire};

#[cfg(all(feature = "browser", target_arch = "wasm32"))]
pub mod ffi;
