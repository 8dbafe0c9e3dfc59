//! The emulated Mindbox v3 operations endpoint: request checks and answers.
//!
//! Checks, in the order Mindbox's front door meets them: injected failure (the server is down), path,
//! method, `Authorization`, endpoint, operation, content type, JSON body, query ids, then duplicate
//! `transactionId`. Answers follow the Mindbox response classes: `Success`,
//! `TransactionAlreadyProcessed`, `ValidationError` (HTTP 200), `ProtocolError` (400/401/403/429),
//! `InternalServerError` (500/503), a bare 502/504, or no answer at all.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

/// What the emulator is configured to accept.
pub struct Config {
    /// The one endpoint (integration point) this emulated project has.
    pub endpoint_id: String,
    /// Its secret key.
    pub secret_key: String,
    /// Operation system names configured in the emulated project.
    pub operations: Vec<String>,
}

/// A failure to inject into the next requests.
#[derive(Clone, Debug)]
pub enum Failure {
    /// Answer with this HTTP status (500, 502, 503, 504, 429, …) and Mindbox's body for it.
    Status {
        status: u16,
        retry_after: Option<u32>,
        /// The body to answer with instead of Mindbox's usual one for that status.
        body: Option<String>,
    },
    /// Answer 200 `ValidationError` with this message.
    Validation(String),
    /// Do not answer for this long, then drop the connection.
    Hang(Duration),
}

/// Everything the emulator remembers.
pub struct State {
    pub config: Config,
    /// Requests answered `Success`, in arrival order.
    pub accepted: Vec<Value>,
    /// Every request to the operations API, with the status it got.
    pub attempts: Vec<Value>,
    /// transactionIds already processed.
    pub seen: HashSet<String>,
    /// Failures queued for the next requests.
    pub failures: VecDeque<Failure>,
    /// How long each operations request takes to answer (`/__emulator/latency`), like a real API's.
    pub latency: Duration,
    /// Operations requests being answered now, and the most there were at once.
    pub in_flight: usize,
    /// The most operations requests in flight at once since the last reset.
    pub max_in_flight: usize,
    /// Random failures (`/__emulator/chaos`), for load runs.
    pub chaos: Chaos,
    /// Loyalty cards and the SMS codes texted.
    pub cards: crate::cards::Cards,
}

/// Random failures: each operations request fails with 503 at `fail_rate` and hangs for
/// `timeout_ms` at `timeout_rate` (probabilities, 0 to 1).
#[derive(Clone, Copy, Debug, Default)]
pub struct Chaos {
    pub fail_rate: f64,
    pub timeout_rate: f64,
    pub timeout_ms: u64,
    /// xorshift64 state (a load run needs no better randomness).
    pub seed: u64,
}

impl Chaos {
    /// A uniform draw in [0, 1).
    fn roll(&mut self) -> f64 {
        let mut x = self.seed.max(1);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The failure this request gets, if any.
    fn failure(&mut self) -> Option<Failure> {
        if self.fail_rate <= 0.0 && self.timeout_rate <= 0.0 {
            return None;
        }
        let r = self.roll();
        if r < self.timeout_rate {
            Some(Failure::Hang(Duration::from_millis(self.timeout_ms)))
        } else if r < self.timeout_rate + self.fail_rate {
            Some(Failure::Status {
                status: 503,
                retry_after: None,
                body: None,
            })
        } else {
            None
        }
    }
}

impl State {
    pub fn new(config: Config) -> Self {
        State {
            config,
            accepted: Vec::new(),
            attempts: Vec::new(),
            seen: HashSet::new(),
            failures: VecDeque::new(),
            latency: Duration::ZERO,
            in_flight: 0,
            max_in_flight: 0,
            chaos: Chaos::default(),
            cards: crate::cards::Cards::new(),
        }
    }
}

/// What to do with a request.
pub enum Reply {
    Respond {
        status: u16,
        body: Vec<u8>,
        headers: Vec<(String, String)>,
    },
    Hang(Duration),
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::Respond {
            status,
            body: body.to_string().into_bytes(),
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            )],
        }
    }

    fn empty(status: u16) -> Reply {
        Reply::Respond {
            status,
            body: Vec::new(),
            headers: Vec::new(),
        }
    }
}

fn protocol_error(status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"status": "ProtocolError", "errorMessage": message, "errorId": "emulator"}),
    )
}

/// Handles one request to the operations API and records it.
pub fn handle(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    state: &Mutex<State>,
) -> Reply {
    let mut state = state.lock().expect("state lock");
    let (status, reply, mut record) = answer(method, url, headers, body, &mut state);
    record["status"] = json!(status);
    state.attempts.push(record.clone());
    if record["answer"] == "Success" {
        state.cards.learn(&record["body"]);
        state.accepted.push(record);
    }
    reply
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn answer(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    state: &mut State,
) -> (u16, Reply, Value) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let query: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let body_json: Option<Value> = serde_json::from_slice(body).ok();
    let mut record = json!({
        "path": path,
        "endpointId": q("endpointId"),
        "operation": q("operation"),
        "deviceUUID": q("deviceUUID"),
        "transactionId": q("transactionId"),
        "dateTimeOffset": q("dateTimeOffset").and_then(|o| o.parse::<u64>().ok()),
        "receivedAt": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0),
        "headers": headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "body": body_json.clone().unwrap_or_else(|| json!(String::from_utf8_lossy(body))),
    });
    let mut finish = |status: u16, answer: &str, reply: Reply| {
        record["answer"] = json!(answer);
        (status, reply, record.clone())
    };

    let chaos = state.chaos.failure();
    if let Some(failure) = state.failures.pop_front().or(chaos) {
        return match failure {
            Failure::Status {
                status,
                retry_after,
                body: Some(text),
            } => {
                let mut reply = Reply::Respond {
                    status,
                    body: text.into_bytes(),
                    headers: vec![("Content-Type".into(), "text/html".into())],
                };
                if let (Some(s), Reply::Respond { headers, .. }) = (retry_after, &mut reply) {
                    headers.push(("Retry-After".into(), s.to_string()));
                }
                finish(status, "InjectedFailure", reply)
            }
            Failure::Status {
                status,
                retry_after,
                body: None,
            } => {
                let mut reply = match status {
                    429 => protocol_error(429, "Too many requests"),
                    500 | 503 => Reply::json(
                        status,
                        json!({"status": "InternalServerError", "errorMessage": "emulated outage", "errorId": "emulator"}),
                    ),
                    _ => Reply::empty(status),
                };
                if let (Some(s), Reply::Respond { headers, .. }) = (retry_after, &mut reply) {
                    headers.push(("Retry-After".into(), s.to_string()));
                }
                finish(status, "InjectedFailure", reply)
            }
            Failure::Validation(message) => finish(
                200,
                "ValidationError",
                Reply::json(
                    200,
                    json!({"status": "ValidationError", "validationMessages": [{"message": message, "location": "/"}]}),
                ),
            ),
            Failure::Hang(d) => finish(0, "Hang", Reply::Hang(d)),
        };
    }
    if path != "/v3/operations/async" && path != "/v3/operations/sync" {
        return finish(404, "NotFound", Reply::empty(404));
    }
    if method != "POST" {
        return finish(405, "MethodNotAllowed", Reply::empty(405));
    }
    let key = match header(headers, "authorization") {
        None => {
            return finish(
                401,
                "ProtocolError",
                protocol_error(401, "Authorization header is missing"),
            )
        }
        Some(auth) => auth
            .strip_prefix("SecretKey ")
            .or_else(|| {
                auth.strip_prefix("Mindbox secretKey=\"")
                    .and_then(|k| k.strip_suffix('"'))
            })
            .unwrap_or(""),
    };
    if q("endpointId") != Some(state.config.endpoint_id.as_str()) {
        return finish(
            403,
            "ProtocolError",
            protocol_error(403, "endpointId is missing or unknown"),
        );
    }
    if key != state.config.secret_key {
        return finish(
            403,
            "ProtocolError",
            protocol_error(403, "Wrong secret key"),
        );
    }
    let Some(operation) = q("operation") else {
        return finish(
            400,
            "ProtocolError",
            protocol_error(400, "operation is missing"),
        );
    };
    if !state.config.operations.iter().any(|o| o == operation) {
        return finish(
            400,
            "ProtocolError",
            protocol_error(400, &format!("Operation {operation} not found")),
        );
    }
    let json_type = header(headers, "content-type")
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/json"));
    if !json_type {
        return finish(
            400,
            "ProtocolError",
            protocol_error(400, "Content-Type must be application/json"),
        );
    }
    if !matches!(body_json, Some(Value::Object(_))) {
        return finish(
            400,
            "ProtocolError",
            protocol_error(400, "Request body is not a JSON object"),
        );
    }
    if let Some(d) = q("deviceUUID") {
        if !mindbox_model::uuid::is_canonical(d) {
            return finish(
                400,
                "ProtocolError",
                protocol_error(400, "deviceUUID is not a UUID"),
            );
        }
    }
    if let Some(o) = q("dateTimeOffset") {
        if o.parse::<u64>().is_err() {
            return finish(
                400,
                "ProtocolError",
                protocol_error(400, "dateTimeOffset must be whole milliseconds"),
            );
        }
    }
    if let Some(t) = q("transactionId") {
        if t.is_empty() || t.len() > 100 {
            return finish(
                400,
                "ProtocolError",
                protocol_error(400, "transactionId is invalid"),
            );
        }
        if !state.seen.insert(t.to_string()) {
            return finish(
                200,
                "TransactionAlreadyProcessed",
                Reply::json(200, json!({"status": "TransactionAlreadyProcessed"})),
            );
        }
    }
    if path == "/v3/operations/sync" {
        let body = body_json.as_ref().unwrap_or(&Value::Null);
        if let Some(answer) = state.cards.answer(operation, body) {
            return match answer {
                Ok(answer) => finish(200, "Success", Reply::json(200, answer)),
                Err((message, location)) => finish(
                    200,
                    "ValidationError",
                    Reply::json(
                        200,
                        json!({"status": "ValidationError",
                               "validationMessages": [{"message": message, "location": location}]}),
                    ),
                ),
            };
        }
        if let Some(answer) = loyalty(operation, body_json.as_ref().unwrap_or(&Value::Null)) {
            return match answer {
                Ok(answer) => finish(200, "Success", Reply::json(200, answer)),
                Err(message) => finish(
                    200,
                    "ValidationError",
                    Reply::json(
                        200,
                        json!({"status": "ValidationError",
                               "validationMessages": [{"message": message, "location": "/order/lines"}]}),
                    ),
                ),
            };
        }
    }
    finish(
        200,
        "Success",
        Reply::json(200, json!({"status": "Success"})),
    )
}

/// The loyalty program's sync answers, in the shapes Mindbox's public clients read (see the
/// collector's `projection` module for sources), each with fields a page must never see (the
/// collector filters them out). `None` for other operations; `Err` is a validation message.
fn loyalty(operation: &str, body: &Value) -> Option<Result<Value, String>> {
    let ids = body.pointer("/customer/ids").cloned();
    let private = json!({"processingStatus": "Found", "email": "private@example.com", "ids": ids});
    let answer = match operation {
        "Website.GetCustomerBalance" => json!({
            "status": "Success",
            "customer": private,
            "balances": [{
                "systemName": "Main", "total": 150, "available": 100, "blocked": 50,
                "balanceType": {"ids": {"systemName": "Main"}, "name": "Бонусные баллы"},
                "internalNote": "emulator-private-field"
            }]
        }),
        "Website.GetCustomerBonusPointsHistory" => json!({
            "status": "Success",
            "customer": private,
            "customerActionsCount": 2,
            "customerActions": [
                {"ids": {"mindboxId": 9001}, "dateTimeUtc": "2026-11-20T10:00:00Z",
                 "actionTemplate": {"systemName": "RetailOrder", "name": "Покупка"},
                 "order": {"ids": {"websiteID": "demo-1"}},
                 "customerBalanceChanges": [{"changeAmount": 120, "comment": "за заказ demo-1",
                     "expirationDateTimeUtc": "2027-11-20T10:00:00Z", "isAvailable": true,
                     "balanceChangeKind": {"systemName": "RetailOrderBonus"},
                     "balanceType": {"ids": {"systemName": "Main"}, "name": "Бонусные баллы"}}]},
                {"ids": {"mindboxId": 9002}, "dateTimeUtc": "2026-11-22T12:30:00Z",
                 "actionTemplate": {"systemName": "RetailOrder", "name": "Оплата баллами"},
                 "customerBalanceChanges": [{"changeAmount": -20, "isAvailable": true,
                     "balanceChangeKind": {"systemName": "RetailOrderPayment"},
                     "balanceType": {"ids": {"systemName": "Main"}, "name": "Бонусные баллы"}}]}
            ]
        }),
        "Website.GetCustomerSegments" => json!({
            "status": "Success",
            "customer": private,
            "customerSegmentations": [{
                "segmentation": {"ids": {"externalId": "LoyaltyLevel"}, "name": "Уровень лояльности"},
                "segment": {"ids": {"externalId": "Gold"}, "name": "Золотой"}
            }]
        }),
        "Website.CalculateAuthorizedCart" | "Website.CalculateUnauthorizedCart" => {
            return Some(calculate_cart(body));
        }
        _ => return None,
    };
    Some(Ok(answer))
}

/// A cart calculation: 5 % of each line's price in points (rounded down), as `earnedBonusPoints`
/// promotions on the lines and in `order.bonusPointsChanges`.
fn calculate_cart(body: &Value) -> Result<Value, String> {
    let lines = body
        .pointer("/order/lines")
        .and_then(Value::as_array)
        .ok_or("order.lines is required")?;
    let mut total = 0.0;
    let mut earned = 0.0;
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let price = l["basePricePerItem"]
            .as_f64()
            .ok_or(format!("lines[{i}].basePricePerItem is required"))?;
        let quantity = l["quantity"]
            .as_f64()
            .ok_or(format!("lines[{i}].quantity is required"))?;
        if !l["product"]["ids"].is_object() {
            return Err(format!("lines[{i}].product.ids is required"));
        }
        let line_total = price * quantity;
        let points = (line_total * 0.05).floor();
        total += line_total;
        earned += points;
        out.push(json!({
            "lineNumber": l.get("lineNumber").cloned().unwrap_or(json!(i + 1)),
            "quantity": quantity, "basePricePerItem": price, "discountedPriceOfLine": line_total,
            "product": l["product"].clone(),
            "appliedPromotions": [{"type": "earnedBonusPoints", "amount": points,
                "promotion": {"ids": {"externalId": "emulator-private-promo"}, "name": "5 % баллами"},
                "balanceType": {"ids": {"systemName": "Main"}, "name": "Бонусные баллы"}}]
        }));
    }
    Ok(json!({
        "status": "Success",
        "order": {
            "processingStatus": "Calculated",
            "totalPrice": total,
            "lines": out,
            "bonusPointsChanges": [{"balanceType": {"ids": {"systemName": "Main"}, "name": "Бонусные баллы"},
                                    "earnedAmount": earned, "spentAmount": 0}]
        }
    }))
}

/// Percent-decodes a query component (`+` is a space).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
