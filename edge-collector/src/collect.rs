//! `POST /v1/events`: gate, check, enrich, enqueue, answer.
//!
//! Answers (all JSON, all with a reason a developer can act on):
//! * `202` `{"deviceUUID", "results": [...]}` — at least one event accepted (or an empty batch); each
//!   accepted event is on the `EVENTS` queue, rejected ones carry `path` and `reason`;
//! * `422` — same body, every event was rejected;
//! * `400` / `413` `{"error", "reason"}` — the request as a whole is unusable; nothing enqueued;
//! * `403` — origin not allowed; `503` with `Retry-After` — the queue refused, nothing accepted.

use mindbox_tracker::batch::{BatchAnswer, EventResult, EventStatus};
use mindbox_tracker::check::{self, BatchError};
use worker::{Env, Request, Response, Result};

use crate::config::Config;
use crate::{cors, enrich};

/// Handles one batch from a tracker.
pub async fn handle(mut req: Request, env: &Env, config: &Config) -> Result<Response> {
    let origin = match cors::allowed_origin(&req, config) {
        Ok(o) => o,
        Err(r) => return Ok(r),
    };
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
            let mut resp = Response::from_json(
                &serde_json::json!({"error": e.code(), "reason": e.to_string()}),
            )?
            .with_status(e.http_status());
            cors::add_headers(resp.headers_mut(), &origin)?;
            return Ok(resp);
        }
    };

    let shopper = enrich::Shopper::from_request(&req, checked.device_uuid.as_deref());
    let mut results = Vec::with_capacity(checked.events.len());
    let mut deliveries = Vec::new();
    for event in checked.events {
        match event {
            Ok(event) => {
                results.push(EventResult {
                    id: Some(event.id.clone()),
                    status: EventStatus::Accepted,
                    path: None,
                    reason: None,
                });
                deliveries.push(enrich::Delivery::new(event, &shopper).to_message());
            }
            Err(r) => results.push(EventResult {
                id: r.id,
                status: EventStatus::Rejected,
                path: Some(r.path),
                reason: Some(r.reason),
            }),
        }
    }
    let accepted = deliveries.len();
    if accepted > 0 {
        if let Err(e) = env.queue("EVENTS")?.send_batch(deliveries).await {
            worker::console_error!("queue send failed for {accepted} events: {e}");
            let mut resp = Response::from_json(&serde_json::json!({
                "error": "queue_unavailable",
                "reason": "the collector could not queue the events; nothing was accepted, send them again later",
            }))?
            .with_status(503);
            resp.headers_mut().set("Retry-After", "5")?;
            cors::add_headers(resp.headers_mut(), &origin)?;
            return Ok(resp);
        }
    }
    let status = if accepted == 0 && !results.is_empty() {
        422
    } else {
        202
    };
    let mut resp = Response::from_json(&BatchAnswer {
        device_uuid: Some(shopper.device_uuid.clone()),
        results,
    })?
    .with_status(status);
    let headers = resp.headers_mut();
    cors::add_headers(headers, &origin)?;
    headers.append("Set-Cookie", &shopper.device_cookie(&req))?;
    Ok(resp)
}
