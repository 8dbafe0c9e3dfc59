//! # Mindbox Edge collector
//!
//! A Cloudflare Worker on the shop's own zone between the browser tracker and Mindbox (and the same
//! build in open-source workerd, the self-hosted profile). Its folders are its stages:
//!
//! * [`routes`] — the route table and what each route answers (`/v1/events`, `/v1/sync`, the shop
//!   backend's `/v1/backend/operations`, admin, health);
//! * [`gate`] — what a request passes first: origin, client IP and rate limits, body caps, customer
//!   data only as a ticket allows, and enrichment (what only the server knows);
//! * [`store`] — the queue, the ledger of dead letters and counters, per-device state, Mindbox's
//!   budget: each behind one module, with its Cloudflare implementation;
//! * [`delivery`] — the queue consumer: Mindbox calls, outcomes, retries, dead letters;
//! * [`qa_trace`] — QA's trace of one device's events after the collector;
//! * [`message`] — the queue message, what every stage after the gate passes on; [`projection`] —
//!   what of a sync answer reaches the page (`SYNC_OPERATIONS`);
//! * [`config`] — every setting, read once per isolate.
//!
//! This file wires them: the HTTP entry point hands requests to the route table, and the queue
//! handlers (Cloudflare Queues here; on the self-hosted profile the delivery timers of
//! `self_hosted`, which take messages from PostgreSQL) hand messages to the consumer. The path an event takes is told in `docs/architecture.md`. The secret key lives
//! only in [`config::Config`] and in the `Authorization` header [`delivery::mindbox`] builds; nothing
//! logs or returns it.

pub mod bindings;
pub mod config;
pub mod delivery;
pub mod gate;
pub mod message;
pub mod projection;
pub mod qa_trace;
pub mod routes;
#[cfg(feature = "postgres")]
pub mod self_hosted;
pub mod store;

use worker::{event, Context, Env, MessageBatch, Request, Response, Result};

use crate::store::queue::{CloudflareQueue, Source};

/// The worker's HTTP entry point (`/v1/*`; the tracker files never reach it): the route table.
#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    routes::route(req, env, ctx).await
}

/// The queue consumer: delivers each message to Mindbox (the dead-letter queue's: keeps them).
#[event(queue)]
pub async fn queue(batch: MessageBatch<String>, env: Env, _ctx: Context) -> Result<()> {
    let messages = batch.messages()?;
    let events = CloudflareQueue::events(&env).ok();
    let source = Source::of(&batch.queue());
    let store = store::Store::new(&env);
    let done = delivery::consumer::handle_batch(source, &messages, events.as_ref(), &store).await;
    // The counts, when a second has passed since this isolate last wrote them (waiting here would
    // hold the next batch back).
    store::ledger::write_due(&store).await;
    done
}
