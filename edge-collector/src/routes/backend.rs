//! `POST /v1/backend/operations`: the shop's backend sends orders, order statuses and customer updates
//! through the same durable queue, retries, dead letters and redrive as the browser's events, so the
//! site never waits for Mindbox and survives its outages.
//!
//! `Authorization: Bearer <BACKEND_TOKEN>` (a secret of its own, compared in constant time; the route is
//! off without it), no CORS (browsers cannot call it). Body:
//! `{"operations": [{"id"?, "operation", "data", "deviceUUID"?, "customerIp"?, "createdAt"?}]}` — at
//! most [`MAX_OPERATIONS`]. `id` is the backend's own UUID for the operation, which it may supply so its
//! own retries are idempotent (made here when absent and returned). Mindbox's `transactionId` is made
//! from it ([`transaction_id`]): the same id always gives the same transactionId, and it can never be a
//! browser event's id, so an order is never taken for a browser event Mindbox already processed. Answers
//! as `/v1/events` does: 202 with a result per operation (`{"id", "status", "transactionId"}`) once each
//! accepted one is on the queue (422 when none was), per-operation rejections with a path and reason;
//! 400 for a body that is not such a list; 401 / 503 for the token. `data` nests at most
//! [`MAX_DATA_DEPTH`] levels, like a browser event's.
//! Operations must be on `BACKEND_OPERATIONS`; customer data is put in Mindbox's spelling but needs no
//! ticket (the backend is trusted). Order statuses keep their order per order (`SNAPSHOT_OPERATIONS`,
//! kind `order`), by the backend's `createdAt`.

use std::collections::BTreeMap;

use crate::store::Store;
use hmac::{Hmac, Mac};
use mindbox_model::check::{depth, MAX_DATA_DEPTH};
use mindbox_model::event::Event;
use mindbox_model::uuid;
use mindbox_model::wire::EventResult;
use serde::Deserialize;
use serde_json::Value;
use worker::{Context, Request, Response, Result};

use crate::config::Config;
use crate::gate::admission::{bearer_is, refuse};
use crate::gate::enrich::Shopper;
use crate::gate::identity;
use crate::message::Delivery;
use crate::store::events_queue::EventsQueue;
use crate::store::ledger;
use crate::store::queue::Producer;

/// Most operations in one request.
pub const MAX_OPERATIONS: usize = 100;
/// Largest request body.
const MAX_BODY: usize = 1024 * 1024;

/// Mindbox's `transactionId` for the backend's operation `id`: a UUID made from HMAC-SHA-512 of the
/// id under the Mindbox secret key. The same id always gives the same transactionId (the backend's
/// retries stay idempotent), browser event ids (random UUIDs the browser chose) never meet it, and
/// nobody without the key can make a browser event that takes an order's transactionId first. A new
/// secret key makes new transactionIds: a retry that spans a key change may reach Mindbox twice.
pub fn transaction_id(secret: &[u8], id: &str) -> String {
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"mindbox-edge backend operation\0");
    mac.update(id.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::v4_from_bytes(bytes)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    operations: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Operation {
    #[serde(default)]
    id: Option<String>,
    operation: String,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default, rename = "deviceUUID")]
    device_uuid: Option<String>,
    #[serde(default)]
    customer_ip: Option<String>,
    #[serde(default)]
    created_at: Option<f64>,
}

/// Handles one request from the shop's backend.
pub async fn handle(req: Request, env: Store, ctx: &Context, config: &Config) -> Result<Response> {
    let mut counts = BTreeMap::new();
    let resp = process(req, &env, config, &mut counts).await;
    ledger::count(counts);
    ctx.wait_until(async move { ledger::write_soon(&env).await });
    resp
}

fn count(counts: &mut BTreeMap<String, u64>, name: &str, n: u64) {
    *counts.entry(format!("backend.{name}")).or_default() += n;
}

async fn process(
    mut req: Request,
    env: &Store,
    config: &Config,
    counts: &mut BTreeMap<String, u64>,
) -> Result<Response> {
    let Some(token) = crate::config::Tokens::from_env(env).backend else {
        let why = "the backend route is off: set the BACKEND_TOKEN secret";
        return refuse(503, "backend_off", why, None);
    };
    // The body is read (up to the cap) before any answer, a refusal too: an answer to a request whose
    // body was left unread makes the server drop the connection, and a client reusing it fails its
    // next call.
    let bytes = crate::gate::body::read_capped(&mut req, MAX_BODY).await;
    if !bearer_is(&req, Some(&token)) {
        count(counts, "rejected.unauthorized", 1);
        return refuse(401, "unauthorized", "missing or wrong bearer token", None);
    }
    let bytes = match bytes {
        Ok(b) => b,
        Err(crate::gate::body::BodyError::Runtime(e)) => return Err(e),
        Err(crate::gate::body::BodyError::TooLong(_)) => {
            return refuse(
                413,
                "body_too_large",
                "a backend request is at most 1 MiB",
                None,
            )
        }
    };
    let body = match serde_json::from_slice::<Body>(&bytes) {
        Ok(b) if b.operations.len() <= MAX_OPERATIONS => b,
        Ok(_) => {
            let why = format!("at most {MAX_OPERATIONS} operations per request");
            return refuse(400, "too_many_operations", &why, None);
        }
        Err(e) => {
            let why = format!(
                "expected {{\"operations\": [{{\"operation\", \"data\", \"id\"?, \"deviceUUID\"?, \"customerIp\"?, \"createdAt\"?}}]}} ({e})"
            );
            return refuse(400, "not_a_batch", &why, None);
        }
    };
    let received = worker::Date::now().as_millis() as f64;
    let mut results = Vec::with_capacity(body.operations.len());
    let mut messages = Vec::new();
    for (i, raw) in body.operations.into_iter().enumerate() {
        match accept(raw, i, config, received) {
            Ok(d) => {
                let mut result = serde_json::to_value(EventResult::accepted(
                    d.backend_id.as_deref().unwrap_or_default(),
                ))?;
                result["transactionId"] = Value::String(d.event.id.clone());
                results.push(result);
                messages.push(d.to_message());
            }
            Err(r) => {
                count(counts, &format!("rejected.{}", r.code), 1);
                results.push(serde_json::to_value(EventResult::from(r))?);
            }
        }
    }
    let accepted = messages.len();
    if accepted > 0 {
        if let Err(e) = EventsQueue::of(env)?.send_all(messages).await {
            worker::console_error!("queue send failed for {accepted} backend operations: {e}");
            return crate::gate::admission::unavailable(
                "queue_unavailable",
                "nothing was accepted: send the operations again later (the same ids keep it idempotent)",
                5,
                None,
            );
        }
        count(counts, "accepted", accepted as u64);
    }
    let status = if accepted == 0 && !results.is_empty() {
        422
    } else {
        202
    };
    Ok(Response::from_json(&serde_json::json!({ "results": results }))?.with_status(status))
}

fn reject(
    id: Option<String>,
    code: &'static str,
    path: String,
    reason: &str,
) -> mindbox_model::check::Rejection {
    mindbox_model::check::Rejection {
        id,
        code,
        path,
        reason: reason.to_string(),
    }
}

/// One operation checked and made a queue message.
fn accept(
    raw: Value,
    i: usize,
    config: &Config,
    received: f64,
) -> std::result::Result<Delivery, mindbox_model::check::Rejection> {
    let path = format!("operations[{i}]");
    let op: Operation = serde_json::from_value(raw).map_err(|e| {
        reject(
            None,
            "invalid_operation",
            path.clone(),
            &format!("not an operation: {e}"),
        )
    })?;
    let id = match op.id {
        Some(id) if uuid::is_canonical(&id) => id,
        Some(_) => {
            let why =
                "id must be a lower-case hyphenated UUID (it becomes the Mindbox transactionId)";
            return Err(reject(None, "invalid_id", format!("{path}.id"), why));
        }
        None => crate::gate::enrich::new_uuid(),
    };
    let rid = Some(id.clone());
    if !config.backend_operations.iter().any(|o| o == &op.operation) {
        let why = format!("operation {:?} is not on BACKEND_OPERATIONS", op.operation);
        return Err(reject(
            rid,
            "operation_not_allowed",
            format!("{path}.operation"),
            &why,
        ));
    }
    let data = match op.data {
        Some(d @ Value::Object(_)) if depth(&d) <= MAX_DATA_DEPTH => d,
        Some(Value::Object(_)) => {
            let why = format!("data nests deeper than {MAX_DATA_DEPTH} levels");
            return Err(reject(rid, "too_deep", format!("{path}.data"), &why));
        }
        None => Value::Object(Default::default()),
        Some(_) => {
            let why = "data must be a JSON object (the Mindbox operation body)";
            return Err(reject(rid, "invalid_data", format!("{path}.data"), why));
        }
    };
    if op
        .device_uuid
        .as_deref()
        .is_some_and(|d| !uuid::is_canonical(d))
    {
        let why = "deviceUUID must be a lower-case hyphenated UUID";
        return Err(reject(
            rid,
            "invalid_device",
            format!("{path}.deviceUUID"),
            why,
        ));
    }
    let ip_ok = |ip: &str| {
        !ip.is_empty()
            && ip.len() <= 45
            && ip
                .bytes()
                .all(|c| c.is_ascii_hexdigit() || c == b'.' || c == b':')
    };
    if op.customer_ip.as_deref().is_some_and(|ip| !ip_ok(ip)) {
        let why = "customerIp must be an IPv4 or IPv6 address";
        return Err(reject(rid, "invalid_ip", format!("{path}.customerIp"), why));
    }
    if op.created_at.is_some_and(|t| !(t.is_finite() && t >= 0.0)) {
        let why = "createdAt must be milliseconds since the Unix epoch";
        return Err(reject(
            rid,
            "invalid_created_at",
            format!("{path}.createdAt"),
            why,
        ));
    }
    let mut event = Event {
        id: transaction_id(config.secret_key.expose().as_bytes(), &id),
        operation: op.operation,
        data,
        created_at: op.created_at,
    };
    let now_secs = (received / 1000.0) as i64;
    identity::authorize(&mut event, &path, identity::Mode::Trusted, &[], now_secs)?;
    if let Some(system) = &config.product_id_system {
        crate::gate::enrich::product_id_system(&mut event.data, system);
    }
    let shopper = Shopper {
        device_uuid: op.device_uuid.unwrap_or_else(crate::gate::enrich::new_uuid),
        client_ip: op.customer_ip,
        user_agent: None,
    };
    let mut d = Delivery::new(event, &shopper, received, None, i as u32);
    d.backend = true;
    d.backend_id = Some(id);
    if d.to_message().len() > crate::store::queue::MAX_MESSAGE {
        let why = "the operation is larger than a queue message (120 KiB)";
        return Err(reject(d.backend_id.clone(), "too_large", path, why));
    }
    Ok(d)
}
