//! The collector's routes: what each HTTP request is answered with. [`route`] is the route table; each route reads its request, runs it through the [`crate::gate`], and hands what it accepts
//! to the queue ([`crate::store::queue`]) or asks Mindbox at once ([`sync`]).

pub mod admin;
pub mod backend;
pub mod events;
pub mod metrics;
pub mod sync;

use crate::store::Store;
use worker::{Context, Env, Request, Response, Result};

use crate::config::Config;
use crate::gate::{admission, cors};

/// The route table: a request to its route. `/v1/health` and the admin routes answer whatever the
/// Mindbox configuration says; the rest needs it.
pub async fn route(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let store = Store::new(&env);
    let path = req.path();
    let on_postgres = store.on_postgres();
    let kicks = path == "/v1/health" || path.ends_with("/redrive");
    let resp = route_in(req, store, &ctx).await;
    // The self-hosted profile's delivery timers: woken when something was queued, and by the load
    // balancer's health checks (which keep them armed on a node that started with none).
    #[cfg(feature = "postgres")]
    if on_postgres && store_kicks(kicks, &resp) {
        ctx.wait_until(async move { crate::self_hosted::kick(&env).await });
    }
    #[cfg(not(feature = "postgres"))]
    let _ = (kicks, on_postgres, env);
    resp
}

/// Whether a request woke the delivery timers: a health check or a redrive, or anything queued
/// (202).
#[cfg(feature = "postgres")]
fn store_kicks(kicks: bool, resp: &Result<Response>) -> bool {
    kicks || resp.as_ref().is_ok_and(|r| r.status_code() == 202)
}

async fn route_in(req: Request, env: Store, ctx: &Context) -> Result<Response> {
    let path = req.path();
    let method = req.method();
    if path.starts_with("/v1/admin/") {
        // The QA page (on an origin ALLOWED_ORIGINS writes out) may call QA's routes with QA_TOKEN.
        let origin = Config::get(&env)
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
        // What a redrive counted.
        ctx.wait_until(async move { crate::store::ledger::write_soon(&env).await });
        if let Some(o) = origin {
            cors::add_headers(resp.headers_mut(), &o)?;
        }
        return Ok(resp);
    }
    if (method.clone(), path.as_str()) == (worker::Method::Get, "/v1/health") {
        return health(&env).await;
    }
    let config = match Config::get(&env) {
        Ok(c) => c,
        Err(e) => {
            worker::console_error!("configuration error: {e}");
            return admission::unavailable(
                "misconfigured",
                "the collector is misconfigured; keep the events and send them again later",
                60,
                None,
            );
        }
    };
    match (method, path.as_str()) {
        (worker::Method::Options, p) if p.starts_with("/v1/") => cors::preflight(&req, &config),
        (worker::Method::Post, "/v1/events") => events::handle(req, env, ctx, &config).await,
        (worker::Method::Post, "/v1/sync") => sync::handle(req, &env, &config).await,
        (worker::Method::Post, "/v1/backend/operations") => {
            backend::handle(req, env, ctx, &config).await
        }
        _ => Response::error(
            "not found: the collector serves POST /v1/events, POST /v1/sync and the tracker files",
            404,
        ),
    }
}

/// `GET /v1/health`: `{"ok": true}`, or 503 `{"ok": false, "status": "misconfigured"}` without
/// saying which setting is wrong, or (self-hosted) 503 `"state_unreachable"` when PostgreSQL cannot
/// be used, so a load balancer takes the node out (the admin route `/v1/admin/health` says why).
async fn health(env: &Store) -> Result<Response> {
    if env.on_postgres() && crate::store::state_problem(env).await.is_some() {
        return Ok(Response::from_json(
            &serde_json::json!({"ok": false, "status": "state_unreachable"}),
        )?
        .with_status(503));
    }
    let broken = match Config::get(env) {
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
