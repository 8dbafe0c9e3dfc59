//! The queue consumer: one Mindbox call per message, and exactly one outcome for each.
//!
//! | Mindbox answer | outcome |
//! |---|---|
//! | 200 `Success`, 200 `TransactionAlreadyProcessed` | ack |
//! | 429, 5xx, timeout, connection error | retry later: exponential backoff with jitter, at least `Retry-After` |
//! | 200 `ValidationError`, 400/401/403/404 and other 4xx, anything unreadable | dead letter with the reason and the answer |
//! | no call at all: the collector is broken ([`Failure::Collector`]: configuration, a Durable Object) | wait on the queue, 1 minute to 1 hour apart |
//!
//! A retry re-sends the message with `attempts + 1` and a delay, then acks the original: the `worker`
//! crate exposes no attempt count, so the count travels in the message. A duplicate this could cause is
//! harmless, since the event id is Mindbox's `transactionId`.

use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt};
use mindbox_model::backoff;
use worker::{Env, Result};

use crate::config::Config;
use crate::delivery::failure::Failure;
use crate::delivery::message::Delivery;
use crate::delivery::mindbox;
use crate::qa_trace::{self, Note};
use crate::store::ledger::{self, DeadLetter};
use crate::store::queue::{Producer, Source, Taken};
use crate::store::rate_budget;
use crate::store::snapshot_order::{self, Claim, Stamp};

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

/// Outgoing connections a Worker invocation may hold at once (Cloudflare's limit): the consumer
/// runs at most this many Mindbox calls at a time.
pub const MAX_CONNECTIONS: usize = 6;

/// How long a snapshot waits when another one for the same list is being sent.
const BUSY_DELAY_SECS: u32 = 2;

/// Delivers every message of a batch taken off the queue `source`; each gets one outcome and no error
/// escapes for one message. `queue` takes what is put back (retries with the attempt count).
pub async fn handle_batch<M: Taken>(
    source: Source,
    messages: &[M],
    queue: Option<&impl Producer>,
    env: &Env,
) -> Result<()> {
    if source == Source::DeadLetters {
        // Needs nothing but the ledger: a broken configuration never stops dead letters being kept.
        return keep_dead_letters(messages, env).await;
    }
    let config =
        match Config::get(env)
            .map_err(|e| e.to_string())
            .and_then(|c| match c.delivery_problem() {
                Some(p) => Err(p),
                None => Ok(c),
            }) {
            Ok(c) => c,
            Err(e) => return wait_misconfigured(messages, env, &e).await,
        };
    worker::console_log!("delivering a batch of {} messages", messages.len());
    let mut tally = Tally::default();
    let mut parsed = Vec::with_capacity(messages.len());
    for m in messages {
        match Delivery::from_message(m.body()) {
            Ok(d) => parsed.push((m, d)),
            Err(reason) => {
                keep_dead_letter(env, m, &unreadable(m, reason), &m.id()).await;
                bump(&mut tally.counts, "dead_lettered");
            }
        }
    }
    let within = within_budget(parsed, env, queue, &config, &mut tally).await;
    // At most six lanes at once: a Worker holds six outgoing connections, and a call's timeout
    // (`MINDBOX_TIMEOUT_MS`) starts when its lane starts it, not while it waits for a connection.
    let results: Vec<_> = stream::iter(lanes(within, &config).into_values())
        .map(|mut lane| {
            let config = &config;
            async move {
                // A total order (the collector's clock, then the place in the batch, then the id):
                // `Stamp::order` looks at the tracker's clock for near pairs only, which is not
                // transitive over a lane, and a sort needs a total order. The slot still decides
                // which snapshot is stale.
                lane.sort_by(|a, b| {
                    let (a, b) = (stamp(&a.1), stamp(&b.1));
                    a.at.total_cmp(&b.at)
                        .then(a.seq.cmp(&b.seq))
                        .then(a.id.cmp(&b.id))
                });
                let mut settled = Vec::with_capacity(lane.len());
                for (m, d) in lane {
                    let (name, reason) = deliver_one(m, &d, env, queue, config).await;
                    settled.push((d, name, reason, now_ms()));
                }
                settled
            }
        })
        .buffer_unordered(MAX_CONNECTIONS)
        .collect()
        .await;
    for (d, name, reason, at) in results.into_iter().flatten() {
        tally.settled(&d, name, reason, at);
    }
    tally.write(env).await;
    Ok(())
}

/// What happened to messages, by counter name.
type Counts = BTreeMap<String, u64>;

/// What a consumer batch did: counters for the ledger, and notes for the devices QA traces.
#[derive(Default)]
struct Tally {
    counts: Counts,
    notes: Vec<(String, Note)>,
}

impl Tally {
    /// `d` ended this batch as `name` (a counter: `delivered`, `retried`, …) at `at`, with `reason`.
    fn settled(&mut self, d: &Delivery, name: &str, reason: Option<String>, at: f64) {
        // The shop's backend's operations are counted apart (`backend.delivered`, …).
        if d.backend {
            bump(&mut self.counts, &format!("backend.{name}"));
        } else {
            bump(&mut self.counts, name);
        }
        if d.trace {
            let calls = match name {
                "delivered" | "retried" | "dead_lettered" => d.attempts + 1,
                _ => d.attempts,
            };
            let note = Note::at(d, qa_trace::state_of(name), calls, reason, at);
            self.notes.push((d.device_uuid.clone(), note));
        }
    }

    async fn write(self, env: &Env) {
        if !self.notes.is_empty() {
            qa_trace::note_all(env, self.notes).await;
        }
        ledger::count(env, self.counts).await;
    }
}

fn bump(counts: &mut Counts, name: &str) {
    *counts.entry(name.to_string()).or_default() += 1;
}

/// The configuration is broken: not the events' fault, so they wait on the queue, further apart
/// each time.
async fn wait_misconfigured<M: Taken>(messages: &[M], env: &Env, problem: &str) -> Result<()> {
    worker::console_error!("configuration error, delivery waits: {problem}");
    let mut tally = Tally::default();
    for m in messages {
        wait_for_collector(m);
        if let Some(d) = Delivery::from_message(m.body()).ok().filter(|d| d.trace) {
            let why = format!("the collector's configuration is broken: {problem}");
            tally.notes.push((
                d.device_uuid.clone(),
                Note::of(&d, qa_trace::TraceState::Waiting, d.attempts, Some(why)),
            ));
        }
    }
    tally
        .counts
        .insert("waited_misconfigured".to_string(), messages.len() as u64);
    tally.write(env).await;
    Ok(())
}

/// Mindbox's per-operation rate limit: what is over this minute's budget goes back on the queue until
/// the next minute; the rest is returned.
async fn within_budget<'m, M: Taken>(
    parsed: Vec<(&'m M, Delivery)>,
    env: &Env,
    queue: Option<&impl Producer>,
    config: &Config,
    tally: &mut Tally,
) -> Vec<(&'m M, Delivery)> {
    let mut budget: BTreeMap<String, u32> = BTreeMap::new();
    for (_, d) in &parsed {
        *budget.entry(d.event.operation.clone()).or_default() += 1;
    }
    for (op, wanted) in budget.iter_mut() {
        match rate_budget::take(env, op, *wanted, config.rate_limit_per_minute).await {
            Ok(granted) => *wanted = granted,
            // Fail open: a 429 from Mindbox is itself retried.
            Err(e) => worker::console_error!("rate budget unavailable for {op}: {e}"),
        }
    }
    let mut within = Vec::with_capacity(parsed.len());
    for (m, d) in parsed {
        let left = budget.get_mut(&d.event.operation).expect("counted above");
        if *left == 0 {
            let delay = rate_budget::secs_to_next_minute(now_ms());
            requeue(queue, m, &d, delay, false).await;
            let why = format!(
                "Mindbox's budget for {} this minute is spent",
                d.event.operation
            );
            tally.settled(&d, "rate_limited", Some(why), now_ms());
        } else {
            *left -= 1;
            within.push((m, d));
        }
    }
    within
}

/// Lanes that run in parallel: the snapshots of one list of one device go one after another (oldest
/// first), every other event in a lane of its own.
fn lanes<'m, M>(
    deliveries: Vec<(&'m M, Delivery)>,
    config: &Config,
) -> BTreeMap<String, Vec<(&'m M, Delivery)>> {
    let mut lanes: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for (m, d) in deliveries {
        let lane = match ordered_key(config, &d) {
            Some((kind, key)) => format!("{kind}:{key}"),
            None => format!("event:{}", d.event.id),
        };
        lanes.entry(lane).or_default().push((m, d));
    }
    lanes
}

/// Whose list an ordered operation replaces (`SNAPSHOT_OPERATIONS`): `(kind, device)` for carts and
/// wishlists, `("order", ids)` for an order's status, keyed by the order's ids (`k=v&…`, sorted). An
/// order operation without ids is not ordered.
fn ordered_key(config: &Config, d: &Delivery) -> Option<(String, String)> {
    let kind = config.snapshot_kind(&d.event.operation)?;
    if kind != "order" {
        return Some((kind.to_string(), d.device_uuid.clone()));
    }
    // Keys in any letter case, as Mindbox reads them: `Order.IDS.WebsiteID` is the same order.
    let ids = field(field(&d.event.data, "order")?, "ids")?.as_object()?;
    let mut parts: Vec<String> = ids
        .iter()
        .map(|(k, v)| {
            let v = v
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| v.to_string());
            format!("{}={v}", crate::gate::identity::fold(k))
        })
        .collect();
    parts.sort();
    (!parts.is_empty()).then(|| (kind.to_string(), parts.join("&")))
}

/// The field `name` of object `v` in any letter case (.NET's `OrdinalIgnoreCase`).
fn field<'v>(v: &'v serde_json::Value, name: &str) -> Option<&'v serde_json::Value> {
    let name = crate::gate::identity::fold(name);
    v.as_object()?
        .iter()
        .find(|(k, _)| crate::gate::identity::fold(k) == name)
        .map(|(_, v)| v)
}

fn now_ms() -> f64 {
    worker::Date::now().as_millis() as f64
}

fn stamp(d: &Delivery) -> Stamp {
    Stamp {
        at: d.made_at(),
        device_at: d.device_at,
        seq: d.seq,
        id: d.event.id.clone(),
    }
}

/// Delivers one message and settles it; returns the counter it adds to, and why (for QA's trace).
async fn deliver_one<M: Taken>(
    message: &M,
    delivery: &Delivery,
    env: &Env,
    queue: Option<&impl Producer>,
    config: &Config,
) -> (&'static str, Option<String>) {
    let op = &delivery.event.operation;
    let snapshot = ordered_key(config, delivery).map(|(kind, key)| (kind, key, stamp(delivery)));
    if let Some((kind, key, stamp)) = &snapshot {
        match snapshot_order::claim(env, kind, key, stamp).await {
            Ok(Claim::Go) => {}
            Ok(Claim::Stale) => {
                let id = &delivery.event.id;
                worker::console_log!("superseded {op} {id}: a newer {kind} snapshot was sent");
                message.ack();
                let why = format!("a newer {kind} of this device was sent to Mindbox");
                return ("superseded", Some(why));
            }
            Ok(Claim::Busy) => {
                requeue(queue, message, delivery, BUSY_DELAY_SECS, false).await;
                let why = format!("another {kind} of this device is being sent first");
                return ("waited", Some(why));
            }
            Err(e) => {
                let id = &delivery.event.id;
                worker::console_error!("snapshot order unavailable for {op} {id}: {e}");
                wait_for_collector(message);
                return (
                    "waited",
                    Some(format!("the collector's order keeper failed: {e}")),
                );
            }
        }
    }
    let answer = call_mindbox(delivery, config).await;
    if let Some((kind, key, stamp)) = &snapshot {
        if let Err(e) = snapshot_order::release(env, kind, key, stamp).await {
            let id = &delivery.event.id;
            worker::console_error!(
                "snapshot claim not released for {op} {id} (expires by itself): {e}"
            );
        }
    }
    match answer {
        Ok((outcome, body)) => settle(message, delivery, outcome, body, env, queue).await,
        Err(Failure::Collector(why)) => {
            worker::console_error!("delivery of {op} {} waits: {why}", delivery.event.id);
            wait_for_collector(message);
            (
                "waited",
                Some(format!("the collector cannot call Mindbox: {why}")),
            )
        }
        Err(Failure::NoAnswer(reason)) => {
            let outcome = Outcome::Retry {
                reason,
                min_delay_secs: None,
            };
            settle(message, delivery, outcome, None, env, queue).await
        }
    }
}

/// The async call for one event; its outcome ([`classify`]) and Mindbox's answer body.
async fn call_mindbox(
    delivery: &Delivery,
    config: &Config,
) -> std::result::Result<(Outcome, Option<String>), Failure> {
    let call = mindbox::Call {
        mode: mindbox::Mode::Async,
        operation: &delivery.event.operation,
        device_uuid: &delivery.device_uuid,
        transaction_id: Some(&delivery.event.id),
        date_time_offset_ms: Some((now_ms() - delivery.made_at()).max(0.0) as u64),
        body: &delivery.event.data,
        client_ip: delivery.client_ip.as_deref(),
        user_agent: delivery.user_agent.as_deref(),
    };
    let a = call.send(config).await?;
    let outcome = classify(a.status, &a.body, a.retry_after.as_deref());
    Ok((outcome, Some(a.body)))
}

/// Carries out an outcome: ack, retry later (dead letter once past the queue's retention), or dead
/// letter with the reason and Mindbox's answer. Returns the counter it adds to, and the reason.
async fn settle<M: Taken>(
    message: &M,
    delivery: &Delivery,
    outcome: Outcome,
    answer: Option<String>,
    env: &Env,
    queue: Option<&impl Producer>,
) -> (&'static str, Option<String>) {
    let (id, op) = (&delivery.event.id, &delivery.event.operation);
    let outcome = match outcome {
        Outcome::Retry { reason, .. } if now_ms() - delivery.accepted_at > GIVE_UP_AFTER_MS => {
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
            message.ack();
            ("delivered", None)
        }
        Outcome::Retry {
            reason,
            min_delay_secs,
        } => {
            let delay = backoff_secs(delivery.attempts, random_unit(), min_delay_secs);
            let said = crate::delivery::redact::mask_personal(&reason);
            worker::console_log!("retrying {op} {id} in {delay}s: {said}");
            requeue(queue, message, delivery, delay, true).await;
            ("retried", Some(format!("{reason}; next try in {delay} s")))
        }
        Outcome::DeadLetter { reason } => {
            let said = crate::delivery::redact::mask_personal(&reason);
            worker::console_error!("dead-lettering {op} {id}: {said}");
            let letter = DeadLetter {
                delivery: Some(delivery.clone()),
                raw: None,
                reason: reason.clone(),
                answer: answer.map(|a| a[..floor_char_boundary(&a, MAX_ANSWER_BYTES)].to_string()),
                dead_at: now_ms(),
                key: None,
            };
            keep_dead_letter(env, message, &letter, id).await;
            ("dead_lettered", Some(reason))
        }
    }
}

/// Puts a message back on the queue after `delay` seconds (as a new message carrying the attempt
/// count), then acks the original; if the queue refuses (or there is none), the original is retried
/// instead.
async fn requeue<M: Taken>(
    queue: Option<&impl Producer>,
    message: &M,
    d: &Delivery,
    delay: u32,
    attempt: bool,
) {
    let mut next = d.clone();
    if attempt {
        next.attempts += 1;
    }
    let sent = match queue {
        Some(q) => q.send(next.to_message(), delay).await.is_ok(),
        None => false,
    };
    if sent {
        message.ack();
    } else {
        message.retry_in(delay);
    }
}

/// Keeps a dead letter in the ledger, then acks; if the ledger is unreachable the message waits.
async fn keep_dead_letter<M: Taken>(env: &Env, message: &M, letter: &DeadLetter, key: &str) {
    match ledger::add_dead_letter(env, letter, key).await {
        Ok(()) => message.ack(),
        Err(e) => {
            worker::console_error!("dead letter {key} not kept, waiting: {e}");
            wait_for_collector(message);
        }
    }
}

/// Retries a message later because the collector itself is broken, further apart the longer it has
/// waited ([`broken_collector_delay_secs`]).
fn wait_for_collector<M: Taken>(message: &M) {
    let waited = (now_ms() - message.enqueued_at_ms()) / 1000.0;
    message.retry_in(broken_collector_delay_secs(waited));
}

/// A dead letter for a queue message that is not a [`Delivery`].
fn unreadable<M: Taken>(m: &M, reason: String) -> DeadLetter {
    DeadLetter {
        delivery: None,
        raw: Some(m.body().to_string()),
        reason,
        answer: None,
        dead_at: now_ms(),
        key: None,
    }
}

/// The dead-letter queue's consumer: what the queue gave up on (its own `max_retries`) is kept in the
/// ledger under the event id, so redrive by id finds it; an unreadable message under its message id.
async fn keep_dead_letters<M: Taken>(messages: &[M], env: &Env) -> Result<()> {
    let mut tally = Tally::default();
    for m in messages {
        let (letter, key) = match Delivery::from_message(m.body()) {
            Ok(d) => {
                let reason = format!(
                    "the queue gave up after its retries ({} delivery attempts made)",
                    d.attempts
                );
                if d.trace {
                    let note = Note::of(
                        &d,
                        qa_trace::TraceState::DeadLettered,
                        d.attempts,
                        Some(reason.clone()),
                    );
                    tally.notes.push((d.device_uuid.clone(), note));
                }
                let key = d.event.id.clone();
                let letter = DeadLetter {
                    reason,
                    delivery: Some(d),
                    raw: None,
                    answer: None,
                    dead_at: now_ms(),
                    key: None,
                };
                (letter, key)
            }
            Err(reason) => (unreadable(m, reason), m.id()),
        };
        keep_dead_letter(env, m, &letter, &key).await;
        bump(&mut tally.counts, "dead_lettered");
    }
    tally.write(env).await;
    Ok(())
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

/// A random number in 0..1 (for jitter), from the platform's crypto source.
fn random_unit() -> f64 {
    let mut b = [0u8; 4];
    getrandom::getrandom(&mut b).map_or(0.5, |_| u32::from_le_bytes(b) as f64 / u32::MAX as f64)
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
