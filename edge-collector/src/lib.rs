//! # Mindbox Edge collector
//!
//! A Cloudflare Worker that sits on the shop's own zone between the browser tracker and Mindbox.
//! Every event walks one path, and each step has a module named after it:
//!
//! 1. [`collect`] — `POST /v1/events`: [`admission`] (origin, rate limit), the size cap, then the shared event model
//!    ([`mindbox_model::check`]) checks every event of the batch;
//! 2. [`enrich`] — adds what only the server knows (client IP, user agent, the server-set device id)
//!    and turns each event into a [`message::Delivery`], the queue message;
//! 3. the `EVENTS` Cloudflare Queue — the answer `202` is given only after the queue took the events;
//! 4. [`deliver`] — the queue consumer calls the Mindbox v3 operations API with the secret key and
//!    gives each message exactly one outcome: ack, retry later, or dead letter with the reason.
//!
//! The tracker files (`tracker/dist`) are static assets of the same deploy, served before the worker
//! runs (wrangler.toml `run_worker_first = ["/v1/*"]`, headers from `tracker/dist/_headers`), so the
//! script is first-party to the shop.
//! [`config`] reads the worker's variables and secrets once per isolate.
//!
//! The secret key lives only in [`config::Config`] and in the `Authorization` header built in
//! [`deliver`]; nothing logs or returns it.

pub mod admin;
pub mod admission;
pub mod backend;
pub mod bindings;
pub mod body;
pub mod collect;
pub mod config;
pub mod cors;
pub mod deliver;
pub mod enrich;
pub mod error;
pub mod expiry;
pub mod identity;
pub mod ledger;
pub mod message;
pub mod mindbox;
pub mod objects;
pub mod projection;
pub mod queue;
pub mod rate_budget;
pub mod redact;
pub mod seen;
pub mod shard_queue;
pub mod snapshot_order;
pub mod sync;
pub mod ticket;
pub mod trace;

use worker::{event, Context, Env, MessageBatch, Request, Response, Result};

/// The worker's HTTP entry point (`/v1/*`; the tracker files never reach it): routes a request to its
/// step. `/v1/health` and the admin routes answer whatever the Mindbox configuration says; the rest
/// needs it.
#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let path = req.path();
    let method = req.method();
    if path.starts_with("/v1/admin/") {
        // The QA page (on an origin ALLOWED_ORIGINS writes out) may call QA's routes with QA_TOKEN.
        let origin = config::Config::get(&env)
            .ok()
            .and_then(|c| cors::listed_origin(&req, &c));
        if method == worker::Method::Options {
            return match origin {
                Some(o) => cors::admin_preflight(&o),
                None => Response::error(
                    "admin preflight from an origin not written out on ALLOWED_ORIGINS",
                    403,
                ),
            };
        }
        let origin = origin.filter(|_| admin::is_qa_route(&method, &path));
        let mut resp = admin::handle(req, &env).await?;
        if let Some(o) = origin {
            cors::add_headers(resp.headers_mut(), &o)?;
        }
        return Ok(resp);
    }
    if (method.clone(), path.as_str()) == (worker::Method::Get, "/v1/health") {
        return health(&env);
    }
    let config = match config::Config::get(&env) {
        Ok(c) => c,
        Err(e) => {
            worker::console_error!("configuration error: {e}");
            let mut resp = admission::refuse(
                503,
                "misconfigured",
                "the collector is misconfigured; keep the events and send them again later",
                None,
            )?;
            resp.headers_mut().set("Retry-After", "60")?;
            return Ok(resp);
        }
    };
    match (method, path.as_str()) {
        (worker::Method::Options, p) if p.starts_with("/v1/") => cors::preflight(&req, &config),
        (worker::Method::Post, "/v1/events") => collect::handle(req, env, &ctx, &config).await,
        (worker::Method::Post, "/v1/sync") => sync::handle(req, &env, &config).await,
        (worker::Method::Post, "/v1/backend/operations") => {
            backend::handle(req, env, &ctx, &config).await
        }
        _ => Response::error(
            "not found: the collector serves POST /v1/events, POST /v1/sync and the tracker files",
            404,
        ),
    }
}

/// `GET /v1/health`: `{"ok": true}`, or 503 `{"ok": false, "status": "misconfigured"}` without
/// saying which setting is wrong (the admin route `/v1/admin/health` says).
fn health(env: &Env) -> Result<Response> {
    let broken = match config::Config::get(env) {
        Ok(c) => !c.delivery_problems.is_empty(),
        Err(_) => true,
    };
    if broken {
        return Ok(Response::from_json(
            &serde_json::json!({"ok": false, "status": "misconfigured"}),
        )?
        .with_status(503));
    }
    Response::from_json(&serde_json::json!({"ok": true, "status": "ok"}))
}

/// The queue consumer: delivers each message to Mindbox (the dead-letter queue's: keeps them).
#[event(queue)]
pub async fn queue(batch: MessageBatch<String>, env: Env, _ctx: Context) -> Result<()> {
    let messages = batch.messages()?;
    let events = queue::CloudflareQueue::events(&env).ok();
    let source = queue::Source::of(&batch.queue());
    deliver::handle_batch(source, &messages, events.as_ref(), &env).await
}
