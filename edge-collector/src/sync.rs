//! `POST /v1/sync`: the few sync operations a browser may call, for a verified customer only.
//!
//! The case shops build by hand is the loyalty balance on a "my points" page. The request is
//! `{"operation": "Website.GetCustomerBalance", "data": {"customer": {"ids": {…},
//! "authenticationTicket": "…"}}}`; the operation must be on `SYNC_OPERATIONS` and the customer must be
//! vouched for by a valid ticket. The answer carries only the fields the page needs —
//! `{"status", "balances": [{"systemName", "totalValue", "availableValue", "blockedValue"}]}` — never
//! Mindbox's body as it is.

use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Env, Request, Response, Result};

use mindbox_tracker::event::Event;
use mindbox_tracker::uuid;

use crate::admission::{self, refuse};
use crate::config::Config;
use crate::enrich::Shopper;
use crate::{cors, identity, mindbox};

/// Largest `/v1/sync` body.
const MAX_BODY: usize = 16 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncRequest {
    operation: String,
    #[serde(default)]
    data: Value,
    #[serde(rename = "deviceUUID", default)]
    device_uuid: Option<String>,
}

/// Keeps only the balance fields a "my points" page shows.
pub fn project_balance(answer: &Value) -> Value {
    let balances: Vec<Value> = answer
        .get("balances")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|b| {
                    json!({
                        "systemName": b.pointer("/balanceType/ids/systemName").cloned().unwrap_or(Value::Null),
                        "totalValue": b.get("totalValue").cloned().unwrap_or(Value::Null),
                        "availableValue": b.get("availableValue").cloned().unwrap_or(Value::Null),
                        "blockedValue": b.get("blockedValue").cloned().unwrap_or(Value::Null),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({ "status": answer.get("status").cloned().unwrap_or(Value::Null), "balances": balances })
}

/// Handles one sync call: admit, read, authorize, ask Mindbox, answer with the projection.
pub async fn handle(mut req: Request, env: &Env, config: &Config) -> Result<Response> {
    let origin = match admission::admit(&req, env, config).await? {
        Ok(a) => a.origin,
        Err(refused) => return Ok(refused.response),
    };
    let refused = |status, code: &str, reason: &str| refuse(status, code, reason, Some(&origin));
    let call = match read_call(&mut req, config).await? {
        Ok(c) => c,
        Err((status, code, reason)) => return refused(status, code, &reason),
    };
    let mut event = mindbox_tracker::event::Event {
        id: String::new(),
        operation: call.operation.clone(),
        data: call.data,
        created_at: None,
    };
    let now = (worker::Date::now().as_millis() / 1000) as i64;
    let secret = config.secret_key.expose().as_bytes();
    let mode = identity::Mode::Sync;
    if let Err(r) = identity::authorize(&mut event, "request", mode, secret, now) {
        let status = if r.code == "ambiguous_key" || r.code.starts_with("invalid") {
            400
        } else {
            403
        };
        return refused(status, r.code, &format!("{}: {}", r.path, r.reason));
    }
    let device = call.device_uuid.as_deref();
    let shopper = Shopper::from_request(&req, device.filter(|d| uuid::is_canonical(d)));
    let Some(value) = ask_mindbox(&event, &shopper, config).await else {
        return refused(
            502,
            "mindbox_unavailable",
            "Mindbox could not answer this request now; try again later",
        );
    };
    let mut resp = Response::from_json(&project_balance(&value))?;
    cors::add_headers(resp.headers_mut(), &origin)?;
    Ok(resp)
}

/// Reads the body as a sync call for an operation on `SYNC_OPERATIONS`; `Err` is the refusal
/// (status, code, reason).
async fn read_call(
    req: &mut Request,
    config: &Config,
) -> Result<std::result::Result<SyncRequest, (u16, &'static str, String)>> {
    let body = req.bytes().await?;
    if body.len() > MAX_BODY {
        let why = "a sync request is at most 16 KiB".to_string();
        return Ok(Err((413, "body_too_large", why)));
    }
    let call: SyncRequest = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            let why = format!("expected {{\"operation\": \"…\", \"data\": {{…}}}} ({e})");
            return Ok(Err((400, "not_a_sync_request", why)));
        }
    };
    if !config.sync_operations.iter().any(|o| o == &call.operation) {
        let why = format!(
            "sync operation {:?} is not on SYNC_OPERATIONS",
            call.operation
        );
        return Ok(Err((403, "operation_not_allowed", why)));
    }
    Ok(Ok(call))
}

/// The Mindbox sync call; its answer when it is a `Success`, else `None` (logged).
async fn ask_mindbox(event: &Event, shopper: &Shopper, config: &Config) -> Option<Value> {
    let answer = mindbox::Call {
        mode: mindbox::Mode::Sync,
        operation: &event.operation,
        device_uuid: &shopper.device_uuid,
        transaction_id: None,
        date_time_offset_ms: None,
        body: &event.data,
        client_ip: shopper.client_ip.as_deref(),
        user_agent: shopper.user_agent.as_deref(),
    }
    .send(config)
    .await;
    let parsed = answer
        .as_ref()
        .ok()
        .filter(|a| a.status == 200)
        .and_then(|a| serde_json::from_str::<Value>(&a.body).ok())
        .filter(|v| v["status"] == "Success");
    if parsed.is_none() {
        let why = match &answer {
            Ok(a) => format!("HTTP {}", a.status),
            Err(e) => e.to_string(),
        };
        worker::console_error!("sync {} failed: {why}", event.operation);
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_balance_fields() {
        let answer = json!({
            "status": "Success",
            "customer": {"email": "private@example.com", "processingStatus": "Found"},
            "balances": [{"totalValue": 150, "availableValue": 100, "blockedValue": 50,
                          "balanceType": {"ids": {"systemName": "Main"}, "name": "Баллы"},
                          "internal": "x"}]
        });
        assert_eq!(
            project_balance(&answer),
            json!({"status": "Success", "balances": [
                {"systemName": "Main", "totalValue": 150, "availableValue": 100, "blockedValue": 50}
            ]})
        );
    }
}
