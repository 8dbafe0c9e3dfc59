//! What a Mindbox answer means for its message ([`classify`]), and how long a retry waits
//! ([`backoff_secs`], [`broken_collector_delay_secs`]). Pure: the consumer carries it out.

use mindbox_model::backoff;

use crate::store::queue::Taken;

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
///
/// A body whose `status` is `Success` or `TransactionAlreadyProcessed` is an ack whatever the HTTP
/// status (as Mindbox's Android SDK reads it). An answer that is no verdict at all (200 with an empty,
/// HTML or otherwise unreadable body: a proxy, not Mindbox) and 408 are retried; only Mindbox's own
/// word that the event is wrong (`ValidationError`, `ProtocolError` and other 4xx) dead-letters it.
pub fn classify(status: u16, body: &str, retry_after: Option<&str>) -> Outcome {
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(|v| v.as_str())
            .map(String::from)
    };
    let min_delay_secs = retry_after.and_then(|s| s.trim().parse::<u32>().ok());
    let verdict = field("status");
    if matches!(
        verdict.as_deref(),
        Some("Success" | "TransactionAlreadyProcessed")
    ) {
        return Outcome::Ack;
    }
    let retry = |reason: String| Outcome::Retry {
        reason,
        min_delay_secs,
    };
    match status {
        200 => match verdict.as_deref() {
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
            Some(other) => Outcome::DeadLetter {
                reason: format!("unexpected Mindbox answer status {other:?} with HTTP 200"),
            },
            None => retry(format!(
                "HTTP 200 without a Mindbox verdict ({}): not Mindbox's answer, trying again",
                if body.trim().is_empty() {
                    "empty body"
                } else {
                    "unreadable body"
                }
            )),
        },
        408 => retry("HTTP 408 request timeout".into()),
        429 => retry("Mindbox rate limit (429)".into()),
        500..=599 => retry(format!("Mindbox answered HTTP {status}")),
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

/// Seconds to wait before attempt number `attempts + 1`: the shared [`backoff::CONSUMER`] schedule
/// (1 s doubling to 15 minutes, equal jitter, `jitter` in 0..1), never less than `Retry-After`, though
/// never more than the queue's longest delay (12 hours): a larger `Retry-After` is capped.
pub fn backoff_secs(attempts: u32, jitter: f64, min_delay_secs: Option<u32>) -> u32 {
    let ms = backoff::delay_ms(
        backoff::CONSUMER,
        attempts.saturating_add(1),
        jitter,
        min_delay_secs.map(|s| u64::from(s) * 1000),
    );
    ms.div_ceil(1000).clamp(1, u64::from(MAX_QUEUE_DELAY_SECS)) as u32
}

/// The longest delay Cloudflare Queues takes on a send or a retry.
pub const MAX_QUEUE_DELAY_SECS: u32 = 12 * 3600;

/// Seconds to wait when the collector itself is broken (configuration, a Durable Object), which is
/// not the event's fault: half the time the message has already waited, from 1 minute up to 1 hour.
/// With the queue's 100 retries that spans about four days, the queue's retention; then the
/// dead-letter queue's consumer keeps the message in the ledger.
pub fn broken_collector_delay_secs(waited_secs: f64) -> u32 {
    (waited_secs / 2.0).clamp(60.0, 3600.0) as u32
}

/// Retries a message later because the collector itself is broken, further apart the longer it has
/// waited ([`broken_collector_delay_secs`]).
pub fn wait_for_collector<M: Taken>(message: &M) {
    let waited = (worker::Date::now().as_millis() as f64 - message.enqueued_at_ms()) / 1000.0;
    message.retry_in(broken_collector_delay_secs(waited));
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
            classify(200, r#"{"status":"Mystery"}"#, None),
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
        for s in [500, 502, 503, 504, 408] {
            assert!(matches!(classify(s, "", None), Outcome::Retry { .. }));
        }
    }

    #[test]
    fn answers_that_are_no_verdict_are_retried_and_a_success_body_is_an_ack() {
        for body in [
            "",
            "   ",
            "<html><body>502 Bad Gateway</body></html>",
            "{\"ok\":true}",
        ] {
            assert!(
                matches!(classify(200, body, None), Outcome::Retry { .. }),
                "{body:?}"
            );
        }
        for status in [201, 202, 400, 409, 500] {
            assert_eq!(
                classify(status, r#"{"status":"Success"}"#, None),
                Outcome::Ack
            );
            assert_eq!(
                classify(status, r#"{"status":"TransactionAlreadyProcessed"}"#, None),
                Outcome::Ack
            );
        }
    }

    #[test]
    fn a_broken_collector_waits_minutes_growing_to_an_hour() {
        assert_eq!(broken_collector_delay_secs(0.0), 60);
        assert_eq!(broken_collector_delay_secs(600.0), 300);
        assert_eq!(broken_collector_delay_secs(1e9), 3600);
        // 100 retries cover about four days (the queue's retention).
        let mut waited = 0.0;
        for _ in 0..100 {
            waited += broken_collector_delay_secs(waited) as f64;
        }
        assert!((3.0 * 86400.0..4.2 * 86400.0).contains(&waited), "{waited}");
    }

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        assert_eq!(backoff_secs(0, 0.0, None), 1);
        assert_eq!(backoff_secs(3, 0.0, None), 4);
        assert_eq!(backoff_secs(3, 1.0, None), 8);
        assert_eq!(backoff_secs(40, 1.0, None), 15 * 60);
        assert_eq!(backoff_secs(0, 0.5, Some(60)), 60);
        assert_eq!(
            backoff_secs(0, 0.5, Some(u32::MAX)),
            MAX_QUEUE_DELAY_SECS,
            "a Retry-After beyond the queue's longest delay is capped"
        );
    }
}
