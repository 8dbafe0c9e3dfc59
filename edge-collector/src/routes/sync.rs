//! `POST /v1/sync`: the sync operations a browser may ask (`SYNC_OPERATIONS`), answered with only
//! the fields their projection keeps ([`crate::projection`]), never Mindbox's body as it is.
//!
//! The request is `{"operation": "Website.GetCustomerBalance", "data": {"customer": {"ids": {…},
//! "authenticationTicket": "…"}}, "deviceUUID"?}`. The customer must be vouched for by a valid ticket,
//! except for a `cart` projection (the points a cart will earn), which any visitor may ask; a cart
//! calculation that names a customer still needs the ticket for it. The `phoneCode` and `bindCard`
//! projections need no ticket but are read strictly and counted per address, device, phone and card
//! ([`crate::gate::sms_code`]): over a limit, 429 `too_many_codes` / `too_many_tries` with
//! `Retry-After`, and nothing reaches Mindbox.

use crate::store::Store;
use serde::Deserialize;
use serde_json::Value;
use worker::{Request, Response, Result};

use mindbox_model::event::Event;
use mindbox_model::uuid;

use crate::config::Config;
use crate::delivery::mindbox;
use crate::gate::admission::{self, refuse};
use crate::gate::body::BodyError;
use crate::gate::cors;
use crate::gate::enrich::Shopper;
use crate::gate::identity;
use crate::gate::sms_code;
use crate::projection::{self, Projection};
use crate::store::attempts;

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

/// Handles one sync call: admit, read, authorize, ask Mindbox, answer with the projection.
pub async fn handle(mut req: Request, env: &Store, config: &Config) -> Result<Response> {
    let (origin, ip) = match admission::admit(&req, env, config).await {
        Ok(a) => (a.origin, a.ip),
        Err(refused) => return refused.into_response(),
    };
    let refused = |status, code: &str, reason: &str| refuse(status, code, reason, Some(&origin));
    let call = match read_call(&mut req, config).await {
        Ok(c) => c,
        Err(ReadError::Runtime(e)) => return Err(e),
        Err(e) => return refused(e.status(), e.code(), &e.to_string()),
    };
    let (call, projection) = (call.request, call.projection);
    let mut event = mindbox_model::event::Event {
        id: String::new(),
        operation: call.operation.clone(),
        data: call.data,
        created_at: None,
    };
    let device = call.device_uuid.as_deref();
    let shopper = Shopper::from_request(&req, device.filter(|d| uuid::is_canonical(d)));
    if let Some(code_call) = projection.code_call() {
        // No ticket: the SMS code is the proof. Exactly the call's fields go to Mindbox, and every
        // key of the call takes an attempt first.
        let read = match code_call.read(&event.data, "request.data") {
            Ok(r) => r,
            Err(r) => return refused(400, r.code, &format!("{}: {}", r.path, r.reason)),
        };
        if !config.code_phone_prefixes.is_empty()
            && !config
                .code_phone_prefixes
                .iter()
                .any(|p| read.phone.starts_with(p.as_str()))
        {
            let why = format!(
                "request.data.customer.mobilePhone: this shop texts codes only to numbers starting with +{}",
                config.code_phone_prefixes.join(", +")
            );
            return refused(400, "phone_not_allowed", &why);
        }
        let ip_key = admission::ip_key(&ip);
        let per_ip = config.code_attempts_per_ip;
        let mut taken: Vec<String> = Vec::new();
        for a in code_call.attempts(
            &read,
            &shopper.device_uuid,
            &ip_key,
            per_ip,
            config.codes_per_hour,
        ) {
            match attempts::attempt(env, &a.key, a.limit, a.window_ms).await {
                Ok(None) => taken.push(a.key),
                Ok(Some(secs)) => {
                    // The call is not made: the keys it took before this one get their attempt
                    // back, so a phone a stranger keeps busy costs the shopper's own address and
                    // device nothing.
                    for key in &taken {
                        if let Err(e) = attempts::refund(env, key).await {
                            worker::console_error!("attempt refund failed: {e}");
                        }
                    }
                    let window = match a.window_ms {
                        w if w == sms_code::WINDOW_MS => "in 10 minutes",
                        _ => "",
                    };
                    let why = format!(
                        "at most {} of these per {} {window}: try again in {secs} s",
                        a.limit, a.what
                    );
                    let mut resp = refused(429, code_call.over_limit_code(), &why)?;
                    resp.headers_mut().set("Retry-After", &secs.to_string())?;
                    return Ok(resp);
                }
                Err(e) => {
                    // Without its count, a call that texts or guesses is not let through.
                    worker::console_error!("attempts unavailable: {e}");
                    return admission::unavailable(
                        "state_unreachable",
                        "the collector cannot count these attempts now; try again later",
                        5,
                        Some(&origin),
                    );
                }
            }
        }
        event.data = read.data;
    } else {
        let now = (worker::Date::now().as_millis() / 1000) as i64;
        let secret = config.secret_key.expose().as_bytes();
        let mode = if projection.needs_customer() {
            identity::Mode::Sync
        } else {
            identity::Mode::Verified
        };
        let vouched = match identity::authorize(&mut event, "request", mode, secret, now) {
            Ok(v) => v,
            Err(r) => {
                let status = if r.code == "ambiguous_key" || r.code.starts_with("invalid") {
                    400
                } else {
                    403
                };
                return refused(status, r.code, &format!("{}: {}", r.path, r.reason));
            }
        };
        if vouched == identity::Vouched::Nobody {
            // Unless a valid ticket vouched for the customer it names, only the cart's lines go to
            // Mindbox, whatever `customer` is (absent, null, empty, no identifier): no order ids,
            // cards, coupons or anything else a stranger could ask about with the shop's key.
            event.data = projection::anonymous_cart(&event.data);
        }
        if let Some(system) = &config.product_id_system {
            crate::gate::enrich::product_id_system(&mut event.data, system);
        }
    }
    let value = match ask_mindbox(&event, &shopper, config).await {
        Asked::Answered(value) => value,
        Asked::Refused(status) if projection.code_call().is_some() => {
            // Mindbox documents no answer for a wrong code; its ValidationError is our reading.
            let why = format!(
                "Mindbox answered {status:?}: the code is wrong or used, or the phone or card is not one it takes"
            );
            return refused(422, "code_not_accepted", &why);
        }
        Asked::Refused(status) => {
            let why = format!(
                "Mindbox answered {status:?} (the request's data is not what this operation takes)"
            );
            return refused(422, "mindbox_refused", &why);
        }
        Asked::Unavailable => {
            return refused(
                502,
                "mindbox_unavailable",
                "Mindbox could not answer this request now; try again later",
            )
        }
    };
    let mut resp = Response::from_json(&projection.apply(&value))?;
    cors::add_headers(resp.headers_mut(), &origin)?;
    Ok(resp)
}

/// A sync request for an operation on `SYNC_OPERATIONS`, with its projection.
struct Call {
    request: SyncRequest,
    projection: Projection,
}

/// Why a sync request cannot be read as a call: each with its status and code.
#[derive(Debug)]
enum ReadError {
    /// Over [`MAX_BODY`]: 413 `body_too_large`.
    TooLarge,
    /// Not `{"operation", "data", "deviceUUID"?}`: 400 `not_a_sync_request`.
    NotASyncRequest(String),
    /// `data` nests deeper than the model allows: 400 `too_deep`.
    TooDeep,
    /// The operation is not on `SYNC_OPERATIONS`: 403 `operation_not_allowed`.
    NotAllowed(String),
    /// The runtime failed reading the body.
    Runtime(worker::Error),
}

impl ReadError {
    fn status(&self) -> u16 {
        match self {
            ReadError::TooLarge => 413,
            ReadError::NotASyncRequest(_) | ReadError::TooDeep => 400,
            ReadError::NotAllowed(_) => 403,
            ReadError::Runtime(_) => 500,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ReadError::TooLarge => "body_too_large",
            ReadError::NotASyncRequest(_) => "not_a_sync_request",
            ReadError::TooDeep => "too_deep",
            ReadError::NotAllowed(_) => "operation_not_allowed",
            ReadError::Runtime(_) => "internal",
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge => write!(f, "a sync request is at most 16 KiB"),
            ReadError::NotASyncRequest(e) => write!(
                f,
                "expected {{\"operation\": \"…\", \"data\": {{…}}}} ({e})"
            ),
            ReadError::TooDeep => write!(
                f,
                "data nests deeper than {} levels",
                mindbox_model::check::MAX_DATA_DEPTH
            ),
            ReadError::NotAllowed(op) => {
                write!(f, "sync operation {op:?} is not on SYNC_OPERATIONS")
            }
            ReadError::Runtime(e) => write!(f, "{e}"),
        }
    }
}

/// Reads the body as a sync call for an operation on `SYNC_OPERATIONS`.
async fn read_call(req: &mut Request, config: &Config) -> std::result::Result<Call, ReadError> {
    let body = crate::gate::body::read_capped(req, MAX_BODY)
        .await
        .map_err(|e| match e {
            BodyError::TooLong(_) => ReadError::TooLarge,
            BodyError::Runtime(e) => ReadError::Runtime(e),
        })?;
    let call: SyncRequest =
        serde_json::from_slice(&body).map_err(|e| ReadError::NotASyncRequest(e.to_string()))?;
    if mindbox_model::check::depth(&call.data) > mindbox_model::check::MAX_DATA_DEPTH {
        return Err(ReadError::TooDeep);
    }
    let op = config
        .sync_operations
        .iter()
        .find(|o| o.name == call.operation)
        .ok_or_else(|| ReadError::NotAllowed(call.operation.clone()))?;
    Ok(Call {
        projection: op.projection.clone(),
        request: call,
    })
}

/// What became of a sync call.
enum Asked {
    /// Mindbox's `Success` answer.
    Answered(Value),
    /// Mindbox read the request and answered another status (`ValidationError`, …): only the
    /// status reaches the page.
    Refused(String),
    /// No answer, or not one Mindbox's API gives for a readable request (logged).
    Unavailable,
}

/// The Mindbox sync call.
async fn ask_mindbox(event: &Event, shopper: &Shopper, config: &Config) -> Asked {
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
        .and_then(|a| serde_json::from_str::<Value>(&a.body).ok());
    match parsed {
        Some(v) if v["status"] == "Success" => Asked::Answered(v),
        Some(v) => {
            let status = v["status"].as_str().unwrap_or("unknown").to_string();
            worker::console_error!("sync {} answered {status}", event.operation);
            Asked::Refused(status)
        }
        None => {
            let why = match &answer {
                Ok(a) => format!("HTTP {}", a.status),
                Err(e) => e.to_string(),
            };
            worker::console_error!("sync {} failed: {why}", event.operation);
            Asked::Unavailable
        }
    }
}
