//! `POST /v1/events`: gate, check, enrich, enqueue, answer.
//!
//! Answers (all JSON, all with a reason a developer can act on):
//! * `202` `{"deviceUUID", "results": [...]}` — at least one event accepted (or an empty batch); each
//!   accepted event is on the `EVENTS` queue, rejected ones carry `path` and `reason`;
//! * `422` — same body, every event was rejected;
//! * `400` / `413` `{"error", "reason"}` — the request as a whole is unusable; nothing enqueued;
//! * `403` — origin not allowed; `429` with `Retry-After` — too many requests from this IP or device;
//! * `503` with `Retry-After` — the queue refused, nothing accepted.

use mindbox_tracker::check::{self, BatchError};
use mindbox_tracker::wire::{BatchAnswer, EventResult, EventStatus, SETTLED_STATUSES};
use std::collections::BTreeMap;

use worker::{Context, Env, Request, Response, Result};

use crate::config::Config;
use crate::gate::{rate_limited, refuse, within_limit};
use crate::{cors, enrich, identity, ledger};

/// Handles one batch from a tracker. What happened is counted in the ledger after the answer.
pub async fn handle(req: Request, env: Env, ctx: &Context, config: &Config) -> Result<Response> {
    let mut counts = BTreeMap::new();
    let resp = answer(req, &env, config, &mut counts).await;
    ctx.wait_until(async move { ledger::count(&env, counts).await });
    resp
}

fn bump(counts: &mut BTreeMap<String, u64>, name: &str) {
    *counts.entry(name.to_string()).or_default() += 1;
}

async fn answer(
    mut req: Request,
    env: &Env,
    config: &Config,
    counts: &mut BTreeMap<String, u64>,
) -> Result<Response> {
    let origin = match cors::allowed_origin(&req, config) {
        Ok(o) => o,
        Err(r) => {
            bump(counts, "rejected.origin_not_allowed");
            return Ok(r);
        }
    };
    let ip = req
        .headers()
        .get("CF-Connecting-IP")?
        .unwrap_or_else(|| "unknown".into());
    if !within_limit(env, "IP_RATE_LIMIT", &format!("ip:{ip}")).await {
        bump(counts, "rejected.rate_limited");
        return rate_limited(&origin);
    }
    let declared = req
        .headers()
        .get("Content-Length")?
        .and_then(|l| l.parse::<usize>().ok());
    let outcome = match declared {
        // Refuse an oversized body before reading it.
        Some(size) if size > config.limits.max_body_bytes => Err(BatchError::TooLarge {
            size,
            max: config.limits.max_body_bytes,
        }),
        _ => {
            let body = req.bytes().await?;
            check::check_batch(&body, &config.limits, &config.policy)
        }
    };
    let checked = match outcome {
        Ok(c) => c,
        Err(e) => {
            bump(counts, &format!("rejected.{}", e.code()));
            return refuse(e.http_status(), e.code(), &e.to_string(), Some(&origin));
        }
    };

    let shopper = enrich::Shopper::from_request(&req, checked.device_uuid.as_deref());
    if !within_limit(
        env,
        "DEVICE_RATE_LIMIT",
        &format!("device:{}", shopper.device_uuid),
    )
    .await
    {
        bump(counts, "rejected.rate_limited");
        return rate_limited(&origin);
    }
    let mut results = Vec::with_capacity(checked.events.len());
    let mut deliveries = Vec::new();
    let received = worker::Date::now().as_millis() as f64;
    let now_secs = (received / 1000.0) as i64;
    let sent_at = checked.sent_at;
    let wrong_endpoint = checked
        .endpoint_id
        .as_deref()
        .filter(|id| !config.endpoint_id.is_empty() && *id != config.endpoint_id);
    for (i, event) in checked.events.into_iter().enumerate() {
        let event = event.and_then(|e| match wrong_endpoint {
            Some(theirs) => Err(endpoint_mismatch(&e.id, theirs, &config.endpoint_id)),
            None => Ok(e),
        });
        let event = event.and_then(|mut e| {
            let mode = if config.unverified_operations.contains(&e.operation) {
                identity::Mode::Unverified
            } else {
                identity::Mode::Verified
            };
            identity::gate(
                &mut e,
                &format!("events[{i}]"),
                mode,
                config.secret_key.expose().as_bytes(),
                now_secs,
            )
            .map(|_| e)
        });
        match event {
            Ok(event) => {
                results.push(EventResult {
                    id: Some(event.id.clone()),
                    status: EventStatus::Accepted,
                    path: None,
                    reason: None,
                });
                deliveries.push(
                    enrich::Delivery::new(event, &shopper, received, sent_at, i as u32)
                        .to_message(),
                );
            }
            Err(r) => results.push({
                bump(counts, &format!("rejected.{}", r.code));
                EventResult {
                    id: r.id,
                    status: EventStatus::Rejected,
                    path: Some(r.path),
                    reason: Some(r.reason),
                }
            }),
        }
    }
    let accepted = deliveries.len();
    if accepted > 0 {
        if let Err(e) = env.queue("EVENTS")?.send_batch(deliveries).await {
            worker::console_error!("queue send failed for {accepted} events: {e}");
            bump(counts, "queue_unavailable");
            let mut resp = refuse(
                503,
                "queue_unavailable",
                "the collector could not queue the events; nothing was accepted, send them again later",
                Some(&origin),
            )?;
            resp.headers_mut().set("Retry-After", "5")?;
            return Ok(resp);
        }
        *counts.entry("accepted".into()).or_default() += accepted as u64;
    }
    let [some_accepted, none_accepted] = SETTLED_STATUSES;
    let status = if accepted == 0 && !results.is_empty() {
        none_accepted
    } else {
        some_accepted
    };
    let mut resp = Response::from_json(&BatchAnswer {
        device_uuid: Some(shopper.device_uuid.clone()),
        results,
    })?
    .with_status(status);
    let headers = resp.headers_mut();
    cors::add_headers(headers, &origin)?;
    headers.append(
        "Set-Cookie",
        &shopper.device_cookie(&req, config.cookie_domain.as_deref()),
    )?;
    Ok(resp)
}

/// The rejection of every event of a batch made for another Mindbox endpoint: the page's snippet names
/// another shop's endpoint (a pasted wrong snippet), and its events must not land in this shop.
fn endpoint_mismatch(id: &str, theirs: &str, ours: &str) -> check::Rejection {
    check::Rejection {
        id: Some(id.to_string()),
        code: "wrong_endpoint",
        path: "endpointId".into(),
        reason: format!(
            "the page's tracker is set up for Mindbox endpoint {theirs:?}, but this collector serves {ours:?}: \
             fix data-endpoint-id on the script tag (or mindbox(\"create\", {{endpointId}})), or point the \
             tracker at this endpoint's collector"
        ),
    }
}
