//! The queue consumer: one Mindbox call per message, and exactly one outcome for each.
//!
//! | Mindbox answer | outcome |
//! |---|---|
//! | 200 `Success`, 200 `TransactionAlreadyProcessed` | ack |
//! | 429, 5xx, timeout, connection error | retry later: exponential backoff with jitter, at least `Retry-After` |
//! | 200 `ValidationError`, 400/401/403/404 and other 4xx, anything unreadable | dead letter with the reason and the answer |
//!
//! A retry re-sends the message with `attempts + 1` and a delay, then acks the original: the `worker`
//! crate exposes no attempt count, so the count travels in the message. A duplicate this could cause is
//! harmless, since the event id is Mindbox's `transactionId`.

use std::time::Duration;

use futures_util::future::{join_all, select, Either};
use serde::Serialize;
use worker::{
    AbortController, Delay, Env, Fetch, Headers, Message, MessageBatch, MessageBuilder, MessageExt,
    Method, Request, RequestInit, Result, Url,
};

use crate::config::Config;
use crate::enrich::Delivery;

/// How long one Mindbox call may take before it counts as a timeout.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait between two attempts.
const MAX_BACKOFF_SECS: u32 = 15 * 60;
/// Retries stop (and the event is dead-lettered) this long after it was accepted: within Cloudflare
/// Queues' default 4-day retention.
const GIVE_UP_AFTER_MS: f64 = 3.5 * 24.0 * 3600.0 * 1000.0;
/// Mindbox answer bodies kept in a dead letter, at most.
const MAX_ANSWER_BYTES: usize = 2048;

/// What to do with one message after a Mindbox call.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Delivered (or delivered before): forget it.
    Ack,
    /// Temporary failure: try again, no sooner than `min_delay_secs` (from `Retry-After`).
    Retry {
        /// Why, for the log.
        reason: String,
        /// `Retry-After` in seconds, when Mindbox sent one.
        min_delay_secs: Option<u32>,
    },
    /// Will never succeed as it is: keep it in the dead-letter queue with the reason.
    DeadLetter {
        /// What Mindbox said, in one line.
        reason: String,
    },
}

/// Classifies a Mindbox HTTP answer (see the module table).
pub fn classify(status: u16, body: &str, retry_after: Option<&str>) -> Outcome {
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(|v| v.as_str())
            .map(String::from)
    };
    let min_delay_secs = retry_after.and_then(|s| s.trim().parse::<u32>().ok());
    match status {
        200 => match field("status").as_deref() {
            Some("Success" | "TransactionAlreadyProcessed") => Outcome::Ack,
            Some("ValidationError") => {
                let messages = json
                    .as_ref()
                    .and_then(|j| j.get("validationMessages"))
                    .map(|m| m.to_string())
                    .unwrap_or_default();
                Outcome::DeadLetter {
                    reason: format!("Mindbox ValidationError: {messages}"),
                }
            }
            other => Outcome::DeadLetter {
                reason: format!("unexpected Mindbox answer status {other:?} with HTTP 200"),
            },
        },
        429 => Outcome::Retry {
            reason: "Mindbox rate limit (429)".into(),
            min_delay_secs,
        },
        500..=599 => Outcome::Retry {
            reason: format!("Mindbox answered HTTP {status}"),
            min_delay_secs,
        },
        _ => Outcome::DeadLetter {
            reason: format!(
                "Mindbox answered HTTP {status}{}",
                field("errorMessage")
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ),
        },
    }
}

/// Seconds to wait before attempt number `attempts + 1`: `2^attempts` capped at 15 minutes, with
/// "equal jitter" (half fixed, half random, `jitter` in 0..1), and never less than `Retry-After`.
pub fn backoff_secs(attempts: u32, jitter: f64, min_delay_secs: Option<u32>) -> u32 {
    let base = 2u32.saturating_pow(attempts).min(MAX_BACKOFF_SECS);
    let jittered = (base as f64 / 2.0 + base as f64 / 2.0 * jitter.clamp(0.0, 1.0)).ceil() as u32;
    jittered.max(1).max(min_delay_secs.unwrap_or(0))
}

/// A dead letter as it is kept on the `DEAD_LETTERS` queue.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeadLetter<'a> {
    delivery: &'a Delivery,
    reason: &'a str,
    answer: Option<&'a str>,
}

/// Delivers every message of a queue batch; each gets one outcome and no error escapes for one message.
pub async fn handle_batch(batch: MessageBatch<String>, env: &Env) -> Result<()> {
    let config = match Config::from_env(env) {
        Ok(c) => c,
        Err(e) => {
            // Nothing can be delivered without configuration: keep everything for later.
            worker::console_error!("configuration error, retrying the batch later: {e}");
            batch.retry_all();
            return Ok(());
        }
    };
    let messages = batch.messages()?;
    join_all(messages.iter().map(|m| deliver_one(m, env, &config))).await;
    Ok(())
}

async fn deliver_one(message: &Message<String>, env: &Env, config: &Config) {
    let delivery = match Delivery::from_message(message.body()) {
        Ok(d) => d,
        Err(reason) => {
            worker::console_error!("dead-lettering message {}: {reason}", message.id());
            let kept = match env.queue("DEAD_LETTERS") {
                Ok(q) => q
                    .send(serde_json::json!({"raw": message.body(), "reason": reason}).to_string())
                    .await
                    .is_ok(),
                Err(_) => false,
            };
            if kept {
                message.ack();
            } else {
                message.retry();
            }
            return;
        }
    };
    let delivery = &delivery;
    let (outcome, answer) = match call_mindbox(delivery, config).await {
        Ok((status, body, retry_after)) => {
            let outcome = classify(status, &body, retry_after.as_deref());
            (outcome, Some(body))
        }
        Err(reason) => (
            Outcome::Retry {
                reason,
                min_delay_secs: None,
            },
            None,
        ),
    };
    let id = &delivery.event.id;
    let op = &delivery.event.operation;
    let outcome = match outcome {
        Outcome::Retry { reason, .. }
            if worker::Date::now().as_millis() as f64 - delivery.accepted_at > GIVE_UP_AFTER_MS =>
        {
            Outcome::DeadLetter {
                reason: format!(
                    "gave up after {} attempts over the queue's retention; last: {reason}",
                    delivery.attempts + 1
                ),
            }
        }
        o => o,
    };
    match outcome {
        Outcome::Ack => {
            worker::console_log!("delivered {op} {id} (attempt {})", delivery.attempts + 1);
            message.ack();
        }
        Outcome::Retry {
            reason,
            min_delay_secs,
        } => {
            let mut next = delivery.clone();
            next.attempts += 1;
            let delay = backoff_secs(delivery.attempts, js_random(), min_delay_secs);
            worker::console_log!("retrying {op} {id} in {delay}s: {reason}");
            let sent = match env.queue("EVENTS") {
                Ok(q) => q
                    .send(
                        MessageBuilder::new(next.to_message())
                            .delay_seconds(delay)
                            .build(),
                    )
                    .await
                    .is_ok(),
                Err(_) => false,
            };
            if sent {
                message.ack();
            } else {
                message.retry_with_options(
                    &worker::QueueRetryOptionsBuilder::new()
                        .with_delay_seconds(delay)
                        .build(),
                );
            }
        }
        Outcome::DeadLetter { reason } => {
            worker::console_error!("dead-lettering {op} {id}: {reason}");
            let letter = DeadLetter {
                delivery,
                reason: &reason,
                answer: answer
                    .as_deref()
                    .map(|a| &a[..floor_char_boundary(a, MAX_ANSWER_BYTES)]),
            };
            let kept = match env.queue("DEAD_LETTERS") {
                // JSON text, like every message here (see `Delivery::to_message`).
                Ok(q) => match serde_json::to_string(&letter) {
                    Ok(text) => q.send(text).await.is_ok(),
                    Err(_) => false,
                },
                Err(_) => false,
            };
            if kept {
                message.ack();
            } else {
                message.retry();
            }
        }
    }
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

fn js_random() -> f64 {
    let mut b = [0u8; 4];
    getrandom::getrandom(&mut b).map_or(0.5, |_| u32::from_le_bytes(b) as f64 / u32::MAX as f64)
}

/// The Mindbox v3 async call for one delivery: `(status, body, Retry-After)` or why it failed to run.
async fn call_mindbox(
    d: &Delivery,
    config: &Config,
) -> std::result::Result<(u16, String, Option<String>), String> {
    let url = Url::parse_with_params(
        &format!("{}/v3/operations/async", config.api_base),
        &[
            ("endpointId", config.endpoint_id.as_str()),
            ("operation", d.event.operation.as_str()),
            ("deviceUUID", d.device_uuid.as_str()),
            ("transactionId", d.event.id.as_str()),
        ],
    )
    .map_err(|e| format!("MINDBOX_API_BASE is not a URL: {e}"))?;
    let headers = Headers::new();
    let set = |k: &str, v: &str| headers.set(k, v).map_err(|e| e.to_string());
    set("Content-Type", "application/json; charset=utf-8")?;
    set("Accept", "application/json")?;
    set(
        "Authorization",
        &format!("SecretKey {}", config.secret_key.expose()),
    )?;
    set("Mindbox-Integration", "MindboxEdge")?;
    set("Mindbox-Integration-Version", env!("CARGO_PKG_VERSION"))?;
    if let Some(ip) = &d.client_ip {
        set("X-Customer-IP", ip)?;
    }
    if let Some(ua) = &d.user_agent {
        set("User-Agent", ua)?;
    }
    let body = serde_json::to_string(&d.event.data).map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let request = Request::new_with_init(url.as_str(), &init).map_err(|e| e.to_string())?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let call = Box::pin(fetch.send_with_signal(&signal));
    let timeout = Box::pin(Delay::from(TIMEOUT));
    let mut response = match select(call, timeout).await {
        Either::Left((Ok(r), _)) => r,
        Either::Left((Err(e), _)) => return Err(format!("connection error: {e}")),
        Either::Right(_) => {
            controller.abort();
            return Err(format!("Mindbox did not answer within {TIMEOUT:?}"));
        }
    };
    let status = response.status_code();
    let retry_after = response.headers().get("Retry-After").ok().flatten();
    let text = response.text().await.unwrap_or_default();
    Ok((status, text, retry_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_answer_class() {
        assert_eq!(classify(200, r#"{"status":"Success"}"#, None), Outcome::Ack);
        assert_eq!(
            classify(200, r#"{"status":"TransactionAlreadyProcessed"}"#, None),
            Outcome::Ack
        );
        assert!(matches!(
            classify(200, r#"{"status":"ValidationError","validationMessages":[{"message":"bad","location":"/x"}]}"#, None),
            Outcome::DeadLetter { reason } if reason.contains("bad")
        ));
        assert!(matches!(
            classify(200, "garbage", None),
            Outcome::DeadLetter { .. }
        ));
        for s in [400, 401, 403, 404] {
            assert!(matches!(
                classify(
                    s,
                    r#"{"status":"ProtocolError","errorMessage":"Wrong key"}"#,
                    None
                ),
                Outcome::DeadLetter { .. }
            ));
        }
        assert_eq!(
            classify(429, "", Some("30")),
            Outcome::Retry {
                reason: "Mindbox rate limit (429)".into(),
                min_delay_secs: Some(30)
            }
        );
        for s in [500, 502, 503, 504] {
            assert!(matches!(classify(s, "", None), Outcome::Retry { .. }));
        }
    }

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        assert_eq!(backoff_secs(0, 0.0, None), 1);
        assert_eq!(backoff_secs(3, 0.0, None), 4);
        assert_eq!(backoff_secs(3, 1.0, None), 8);
        assert_eq!(backoff_secs(40, 1.0, None), MAX_BACKOFF_SECS);
        assert_eq!(backoff_secs(0, 0.5, Some(60)), 60);
    }
}
