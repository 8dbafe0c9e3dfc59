//! # Mindbox Edge tracker
//!
//! One crate, two layers (the Snowplow `tracker-core` split):
//!
//! * **The event model** — [`event`], [`wire`], [`check`], [`operation`], [`uuid`] — is plain Rust with
//!   no browser or worker types. It builds for the host (fast unit tests) and is compiled into *both*
//!   the browser tracker and the edge collector, so an event has exactly one definition and one set of
//!   validation rules on both sides of the wire.
//! * **The tracker's Rust half** — [`page`], [`args`], [`payload`], [`shell`] — turns page calls such as
//!   `mindbox("async", {operation, data})` into events and writes the batches the JS shell
//!   (`tracker/js/`) stores and sends. Also plain Rust, host-tested; `ffi` (the `browser` feature, on
//!   `wasm32`) exports it to the shell as a wasm module without generated glue.
//!
//! The data path is: page call → [`event::Event`] → batch ([`wire`], the one contract between tracker
//! and collector) → collector → [`check`] → enrich → queue → Mindbox.

pub mod args;
pub mod backoff;
pub mod check;
pub mod contact;
pub mod event;
pub mod eviction;
pub mod json;
pub mod operation;
pub mod page;
pub mod payload;
pub mod shell;
pub mod uuid;
pub mod wire;

#[cfg(all(feature = "browser", target_arch = "wasm32"))]
pub mod ffi;
