//! # Mindbox Edge's shared model
//!
//! Plain Rust with no browser or worker types, compiled into the browser tracker, the edge collector
//! and the Mindbox emulator, so an event has exactly one definition and one set of rules on both sides
//! of the wire: [`event`] (the event), [`wire`] (the batch and the answers: the one contract between
//! tracker and collector), [`check`] (reading a batch and checking each event), [`operation`]
//! (operation names and the default allowlist), [`uuid`], [`contact`] (phones and emails in Mindbox's
//! spelling), [`backoff`] (retry delays), [`eviction`] (the outbox's bounds) and [`json`] (small JSON
//! writing helpers). The path an event takes through them is told in `docs/architecture.md`.

pub mod backoff;
pub mod check;
pub mod contact;
pub mod event;
pub mod eviction;
pub mod json;
pub mod operation;
pub mod uuid;
pub mod wire;

/// The Mindbox id system of product and category ids unless the page or the collector's
/// `PRODUCT_ID_SYSTEM` says otherwise.
pub const DEFAULT_ID_SYSTEM: &str = "website";
