//! The control API tests use to inspect and steer the emulator.
//!
//! * `GET  /__emulator/requests` — requests answered `Success`, oldest first.
//! * `GET  /__emulator/attempts` — every request to the operations API with its status and answer.
//! * `GET  /__emulator/count` — `{"accepted": N, "attempts": N, "maxInFlight": N}`, cheap to poll
//!   (`maxInFlight`: the most operations requests answered at once since the last reset).
//! * `POST /__emulator/chaos` — `{"failRate": 0.1, "timeoutRate": 0.01, "timeoutMs": 3000}`: from now
//!   on each operations request fails with 503, or hangs, at those rates (load runs; `{}` stops it).
//! * `POST /__emulator/latency` — `{"ms": N}`: every operations request takes N ms to answer (kept
//!   until changed; a reset does not clear it).
//! * `POST /__emulator/fail` — `{"count": N, "status": 500|502|503|504|429, "retryAfter": S}`,
//!   `{"count": N, "status": 200..599, "body": "<text>"}` (that answer as it is: an empty or HTML 200
//!   from a proxy, a `Success` body with an error status),
//!   `{"count": N, "mode": "timeout", "ms": 30000}` or `{"count": N, "mode": "validation",
//!   "message"?: "…"}` (Mindbox's validation message, which can quote the event's data):
//!   the next N requests fail that way, before any check.
//! * `GET  /__emulator/sms` — the confirmation codes texted, oldest first: `[{mobilePhone, code, at}]`.
//! * `GET  /__emulator/cards` — `{number: phone or null}`: who each loyalty card is bound to.
//! * `POST /__emulator/reset` — forget everything recorded and every queued failure; the cards are
//!   back to the starting ones (`cards.rs`).

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

use crate::api::{Failure, Reply, State};

/// Handles one control request.
pub fn handle(method: &str, url: &str, body: &[u8], state: &Mutex<State>) -> Reply {
    let mut state = state.lock().expect("state lock");
    match (method, url) {
        ("GET", "/__emulator/requests") => Reply::json(200, json!(state.accepted)),
        ("GET", "/__emulator/attempts") => Reply::json(200, json!(state.attempts)),
        ("GET", "/__emulator/count") => Reply::json(
            200,
            json!({"accepted": state.accepted.len(), "attempts": state.attempts.len(),
                   "maxInFlight": state.max_in_flight}),
        ),
        ("GET", "/__emulator/sms") => Reply::json(200, json!(state.cards.sms)),
        ("GET", "/__emulator/cards") => Reply::json(200, json!(state.cards.owners)),
        ("POST", "/__emulator/chaos") => {
            let v: Value = serde_json::from_slice(body).unwrap_or_default();
            let seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64);
            state.chaos = crate::api::Chaos {
                fail_rate: v["failRate"].as_f64().unwrap_or(0.0),
                timeout_rate: v["timeoutRate"].as_f64().unwrap_or(0.0),
                timeout_ms: v["timeoutMs"].as_u64().unwrap_or(30_000),
                seed,
            };
            Reply::json(200, json!({"ok": true}))
        }
        ("POST", "/__emulator/latency") => {
            match serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v["ms"].as_u64())
            {
                Some(ms) => {
                    state.latency = Duration::from_millis(ms);
                    Reply::json(200, json!({"ok": true}))
                }
                None => Reply::json(400, json!({"error": "expected {\"ms\": N}"})),
            }
        }
        ("POST", "/__emulator/reset") => {
            state.accepted.clear();
            state.attempts.clear();
            state.seen.clear();
            state.failures.clear();
            state.cards.reset();
            state.max_in_flight = state.in_flight;
            Reply::json(200, json!({"ok": true}))
        }
        ("POST", "/__emulator/fail") => match parse_failure(body) {
            Ok((count, failure)) => {
                state.failures.extend(std::iter::repeat_n(failure, count));
                Reply::json(200, json!({"ok": true, "queued": state.failures.len()}))
            }
            Err(e) => Reply::json(400, json!({"error": e})),
        },
        _ => Reply::json(
            404,
            json!({"error": "unknown control route; see control.rs"}),
        ),
    }
}

fn parse_failure(body: &[u8]) -> Result<(usize, Failure), String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let count = v["count"].as_u64().unwrap_or(1) as usize;
    let failure = match v["mode"].as_str() {
        Some("timeout") => Failure::Hang(Duration::from_millis(v["ms"].as_u64().unwrap_or(30_000))),
        Some("validation") => Failure::Validation(
            v["message"]
                .as_str()
                .unwrap_or("emulated validation error")
                .to_string(),
        ),
        Some(other) => return Err(format!("unknown mode {other:?}: use timeout or validation")),
        None => {
            let body = v["body"].as_str().map(String::from);
            let range = if body.is_some() { 200..600 } else { 400..600 };
            let status = v["status"]
                .as_u64()
                .filter(|s| range.contains(s))
                .ok_or("give \"status\" (400..599, or 200..599 with \"body\") or \"mode\"")?;
            Failure::Status {
                status: status as u16,
                retry_after: v["retryAfter"].as_u64().map(|s| s as u32),
                body,
            }
        }
    };
    Ok((count, failure))
}
