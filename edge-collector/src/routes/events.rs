//! `POST /v1/events`: admit, read and check the batch, authorize each event, enrich, enqueue, answer.
//!
//! Answers (all JSON, all with a reason a developer can act on; the statuses are the wire contract's,
//! `mindbox_model::wire`):
//! * `202` `{"deviceUUID", "results": [...]}` — at least one event accepted (or an empty batch); each
//!   accepted event is on the `EVENTS` queue, rejected ones carry `path` and `reason`;
//! * `422` — same body, every event was rejected (also every event of a batch for another endpoint);
//! * `400` / `413` `{"error", "reason"}` — the request as a whole is unusable; nothing enqueued;
//! * `403` — origin not allowed; `429` with `Retry-After` — too many requests from this IP or device;
//! * `503` with `Retry-After` — the queue refused, nothing accepted.

use std::collections::BTreeMap;

use crate::store::Store;
use mindbox_model::check::{self, BatchError, CheckedBatch, Rejection};
use mindbox_model::event::Event;
use mindbox_model::wire::{BatchAnswer, EventResult, SETTLED_STATUSES};
use worker::{Context, Request, Response, Result};

use crate::bindings;
use crate::config::Config;
use crate::gate::admission::{self, rate_limited, refuse, within_limit};
use crate::gate::body::BodyError;
use crate::gate::cors;
use crate::gate::enrich::{self, Shopper};
use crate::gate::identity;
use crate::message::Delivery;
use crate::qa_trace;
use crate::store::events_queue::EventsQueue;
use crate::store::ledger;
use crate::store::queue::Producer;
use crate::store::seen;

/// What happened, by counter name; counted in the ledger after the answer.
type Counts = BTreeMap<String, u64>;

/// What is written after the answer: the counts, and the ids just queued for a device (with QA's
/// notes when it is traced).
#[derive(Default)]
struct Deferred {
    counts: Counts,
    queued: Option<(String, Vec<String>)>,
    notes: Vec<qa_trace::Note>,
    /// A fresh batch was queued without looking its device up: the lookup comes after the answer, and
    /// a device new to the collector is then kept only within the address's creation limit.
    unchecked: Option<String>,
}

/// Handles one batch from a tracker. What happened is counted in the ledger, and the ids queued are
/// remembered for their device ([`seen`]), after the answer.
pub async fn handle(req: Request, env: Store, ctx: &Context, config: &Config) -> Result<Response> {
    let mut after = Deferred::default();
    let resp = process(req, &env, config, &mut after).await;
    ctx.wait_until(async move {
        if let Some((device, ids)) = after.queued {
            match &after.unchecked {
                None => seen::record(&env, &device, ids, after.notes).await,
                // A fresh batch: one call records it, for a device kept already or (a new device)
                // within its address's creation limit.
                Some(ip_key) if !seen::record_within(&env, &device, &ids, ip_key).await => {
                    // Queued, but its device (new, over its address's creation limit) is not kept.
                    count(&mut after.counts, "device_not_kept", 1);
                }
                Some(_) => {}
            }
        }
        ledger::count(after.counts);
        ledger::write_soon(&env).await
    });
    resp
}

fn count(counts: &mut Counts, name: &str, n: u64) {
    *counts.entry(name.to_string()).or_default() += n;
}

async fn process(
    mut req: Request,
    env: &Store,
    config: &Config,
    after: &mut Deferred,
) -> Result<Response> {
    let counts = &mut after.counts;
    let admitted = match admission::admit(&req, env, config).await {
        Ok(a) => a,
        Err(admission::Refused::Runtime(e)) => return Err(e),
        Err(refused) => {
            count(counts, &format!("rejected.{}", refused.code()), 1);
            return refused.into_response();
        }
    };
    let origin = admitted.origin;
    let checked = match read_batch(&mut req, config).await {
        Ok(c) => c,
        Err(Unread::Runtime(e)) => return Err(e),
        Err(Unread::Batch(e)) => {
            count(counts, &format!("rejected.{}", e.code()), 1);
            return refuse(e.http_status(), e.code(), &e.to_string(), Some(&origin));
        }
    };
    let shopper = Shopper::from_request(&req, checked.device_uuid.as_deref());
    // Limits count events: the request took one from its IP's budget at admission.
    let events = checked.events.len().max(1) as u32;
    let device_key = format!("device:{}", shopper.device_uuid);
    let ip_key = admission::ip_key(&admitted.ip);
    let ip_ok = within_limit(env, bindings::IP_RATE_LIMIT, &ip_key, events - 1).await;
    if !ip_ok || !within_limit(env, bindings::DEVICE_RATE_LIMIT, &device_key, events).await {
        count(counts, "rejected.rate_limited", 1);
        return rate_limited(&origin);
    }
    // Under CONSENT=opt-in the device cookie is set only for a page that says the visitor consented.
    let set_cookie = !config.consent_opt_in || checked.consent;
    let checked_fresh = checked.fresh;
    let (results, deliveries) = accept_events(checked, &shopper, config, counts);
    let accepted = deliveries.len();
    // A resend of what is already on the queue (a keepalive request that arrived after its page
    // closed, sent again by the next visit) is accepted again, not queued again.
    let ids: Vec<String> = deliveries.iter().map(|(d, _)| d.event.id.clone()).collect();
    // A batch the tracker says was never sent before has no resend to look for: it is queued without
    // the lookup, which (for the creation limit below) comes after the answer. A client that says so
    // falsely only gets its own events queued twice, within its limits.
    let fresh = checked_fresh;
    let known = if fresh {
        after.unchecked = Some(ip_key.clone());
        seen::Known::default()
    } else {
        seen::already_queued(env, &shopper.device_uuid, &ids).await
    };
    // A device the collector keeps nothing for yet is created below (its queued ids, its slots):
    // one address creates only so many a minute, whatever device ids or cookies it makes up.
    if known.new_device && !within_limit(env, bindings::NEW_DEVICE_RATE_LIMIT, &ip_key, 1).await {
        count(counts, "rejected.rate_limited", 1);
        return rate_limited(&origin);
    }
    let again = known.seen;
    let mut fresh_ids = Vec::new();
    let mut fresh = Vec::new();
    for (mut d, message) in deliveries {
        if again.contains(&d.event.id) {
            continue;
        }
        fresh_ids.push(d.event.id.clone());
        if known.trace {
            // QA traces this device: the message says so, and the consumer notes what becomes of it.
            d.trace = true;
            after.notes.push(qa_trace::Note::of(
                &d,
                qa_trace::TraceState::Queued,
                0,
                None,
            ));
            fresh.push(d.to_message());
        } else {
            fresh.push(message);
        }
    }
    if !fresh.is_empty() {
        if let Err(e) = EventsQueue::of(env)?.send_all(fresh).await {
            worker::console_error!("queue send failed for {accepted} events: {e}");
            count(counts, "queue_unavailable", 1);
            // What did get on the queue is remembered, so the tracker's resend does not queue it twice.
            if e.sent > 0 {
                count(counts, "accepted", e.sent as u64);
                after.queued = Some((shopper.device_uuid.clone(), fresh_ids[..e.sent].to_vec()));
            }
            // Only what reached the queue is noted as queued.
            after.notes.truncate(e.sent);
            return queue_unavailable(&origin);
        }
        count(counts, "accepted", fresh_ids.len() as u64);
        after.queued = Some((shopper.device_uuid.clone(), fresh_ids));
    }
    if !again.is_empty() {
        count(&mut after.counts, "resent", again.len() as u64);
    }
    let cookie = set_cookie.then(|| shopper.device_cookie(&req, config.cookie_domain.as_deref()));
    respond(&origin, &shopper, cookie, results, accepted, known.trace)
}

/// Why a batch was not read.
enum Unread {
    /// The shared model refused the batch as a whole (answered with its status and code).
    Batch(BatchError),
    /// The runtime failed reading the body.
    Runtime(worker::Error),
}

/// Reads the body (at most the cap plus one byte, [`crate::gate::body::read_capped`]) and checks it with
/// the shared model.
async fn read_batch(
    req: &mut Request,
    config: &Config,
) -> std::result::Result<CheckedBatch, Unread> {
    let max = config.limits.max_body_bytes;
    match crate::gate::body::read_capped(req, max).await {
        Ok(body) => {
            check::check_batch(&body, &config.limits, &config.policy).map_err(Unread::Batch)
        }
        Err(BodyError::TooLong(long)) => Err(Unread::Batch(BatchError::TooLarge {
            size: long.declared.map_or(max + 1, |d| d as usize),
            max,
        })),
        Err(BodyError::Runtime(e)) => Err(Unread::Runtime(e)),
    }
}

/// Each checked event through the endpoint and identity rules: a result per event, and the queue
/// messages of those accepted (with what they were made from).
fn accept_events(
    checked: CheckedBatch,
    shopper: &Shopper,
    config: &Config,
    counts: &mut Counts,
) -> (Vec<EventResult>, Vec<(Delivery, String)>) {
    let received = worker::Date::now().as_millis() as f64;
    let now_secs = (received / 1000.0) as i64;
    let wrong_endpoint = checked
        .endpoint_id
        .as_deref()
        .filter(|id| !config.endpoint_id.is_empty() && *id != config.endpoint_id);
    let mut results = Vec::with_capacity(checked.events.len());
    let mut deliveries = Vec::new();
    for (i, event) in checked.events.into_iter().enumerate() {
        let event = event
            .and_then(|e| match wrong_endpoint {
                Some(theirs) => Err(endpoint_mismatch(&e.id, theirs, &config.endpoint_id)),
                None => Ok(e),
            })
            .and_then(|e| authorize(e, i, config, now_secs));
        match event {
            Ok(event) => {
                let d = Delivery::new(event, shopper, received, checked.sent_at, i as u32);
                let message = d.to_message();
                if message.len() > crate::store::queue::MAX_MESSAGE {
                    // Only with an outsized User-Agent: the event itself fits a 64 KiB batch.
                    count(counts, "rejected.too_large", 1);
                    results.push(EventResult {
                        id: Some(d.event.id.clone()),
                        status: mindbox_model::wire::EventStatus::Rejected,
                        path: Some(format!("events[{i}]")),
                        reason: Some("the event with its request's headers is larger than a queue message (120 KiB)".into()),
                    });
                    continue;
                }
                results.push(EventResult::accepted(&d.event.id));
                deliveries.push((d, message));
            }
            Err(r) => {
                count(counts, &format!("rejected.{}", r.code), 1);
                results.push(r.into());
            }
        }
    }
    (results, deliveries)
}

/// The identity rules for event `i` ([`identity::authorize`]): verified unless its operation is on
/// `UNVERIFIED_OPERATIONS`.
fn authorize(
    mut e: Event,
    i: usize,
    config: &Config,
    now_secs: i64,
) -> std::result::Result<Event, Rejection> {
    let mode = if config.unverified_operations.contains(&e.operation) {
        identity::Mode::Unverified
    } else {
        identity::Mode::Verified
    };
    let secret = config.secret_key.expose().as_bytes();
    identity::authorize(&mut e, &format!("events[{i}]"), mode, secret, now_secs)?;
    if let Some(system) = &config.product_id_system {
        enrich::product_id_system(&mut e.data, system);
    }
    Ok(e)
}

/// The rejection of every event of a batch made for another Mindbox endpoint: the page's snippet names
/// another shop's endpoint (a pasted wrong snippet), and its events must not land in this shop.
fn endpoint_mismatch(id: &str, theirs: &str, ours: &str) -> Rejection {
    Rejection {
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

/// 503 with `Retry-After`: nothing was accepted, the tracker keeps the events.
fn queue_unavailable(origin: &str) -> Result<Response> {
    admission::unavailable(
        "queue_unavailable",
        "the collector could not queue the events; nothing was accepted, send them again later",
        5,
        Some(origin),
    )
}

/// 202 (or 422 when every event was rejected) with a result per event, the CORS headers and the
/// server-set device `cookie` (when it may be set).
fn respond(
    origin: &str,
    shopper: &Shopper,
    cookie: Option<String>,
    results: Vec<EventResult>,
    accepted: usize,
    trace: bool,
) -> Result<Response> {
    let [some_accepted, none_accepted] = SETTLED_STATUSES;
    let status = if accepted == 0 && !results.is_empty() {
        none_accepted
    } else {
        some_accepted
    };
    let mut resp = Response::from_json(&BatchAnswer {
        device_uuid: Some(shopper.device_uuid.clone()),
        trace,
        results,
    })?
    .with_status(status);
    let headers = resp.headers_mut();
    cors::add_headers(headers, origin)?;
    if let Some(cookie) = cookie {
        headers.append("Set-Cookie", &cookie)?;
    }
    Ok(resp)
}
