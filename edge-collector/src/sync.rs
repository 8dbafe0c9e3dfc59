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

use crate::config::Config;
use crate::gate::{rate_limited, refuse, within_limit};
use crate::{cors, enrich, identity, mindbox};

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

/// Handles one sync call.
pub async fn handle(mut req: Request, env: &Env, config: &Config) -> Result<Response> {
    let origin = match cors::allowed_origin(&req, config) {
        Ok(o) => o,
        Err(r) => return Ok(r),
    };
    let ip = req
        .headers()
        .get("CF-Connecting-IP")?
        .unwrap_or_else(|| "unknown".into());
    if !within_limit(env, "IP_RATE_LIMIT", &format!("ip:{ip}")).await {
        return rate_limited(&origin);
    }
    let body = req.bytes().await?;
    if body.len() > MAX_BODY {
        return refuse(
            413,
            "body_too_large",
            "a sync request is at most 16 KiB",
            Some(&origin),
        );
    }
    let call: SyncRequest = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return refuse(
                400,
                "not_a_sync_request",
                &format!("expected {{\"operation\": \"…\", \"data\": {{…}}}} ({e})"),
                Some(&origin),
            )
        }
    };
    if !config.sync_operations.iter().any(|o| o == &call.operation) {
        return refuse(
            403,
            "operation_not_allowed",
            &format!(
                "sync operation {:?} is not on SYNC_OPERATIONS",
                call.operation
            ),
            Some(&origin),
        );
    }
    let mut event = mindbox_tracker::event::Event {
        id: String::new(),
        operation: call.operation.clone(),
        data: call.data,
        created_at: None,
    };
    let now = (worker::Date::now().as_millis() / 1000) as i64;
    if let Err(r) = identity::gate(
        &mut event,
        "request",
        identity::Mode::Sync,
        config.secret_key.expose().as_bytes(),
        now,
    ) {
        let status = if r.code == "ambiguous_key" || r.code.starts_with("invalid") {
            400
        } else {
            403
        };
        return refuse(
            status,
            r.code,
            &format!("{}: {}", r.path, r.reason),
            Some(&origin),
        );
    }
    let shopper = enrich::Shopper::from_request(
        &req,
        call.device_uuid
            .as_deref()
            .filter(|d| mindbox_tracker::uuid::is_canonical(d)),
    );
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
    let Some(value) = parsed else {
        let why = match &answer {
            Ok(a) => format!("HTTP {}", a.status),
            Err(e) => e.clone(),
        };
        worker::console_error!("sync {} failed: {why}", event.operation);
        return refuse(
            502,
            "mindbox_unavailable",
            "Mindbox could not answer this request now; try again later",
            Some(&origin),
        );
    };
    let mut resp = Response::from_json(&project_balance(&value))?;
    cors::add_headers(resp.headers_mut(), &origin)?;
    Ok(resp)
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
