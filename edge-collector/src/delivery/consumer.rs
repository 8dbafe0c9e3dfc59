//! The queue consumer: one Mindbox call per message, and exactly one outcome for each: ack, retry
//! later, wait (the collector is broken: [`Failure::Collector`]) or dead letter. What each Mindbox
//! answer means is [`crate::delivery::outcome::classify`]; the table is in `docs/architecture.md`.
//!
//! A retry re-sends the message with `attempts + 1` and a delay, then acks the original: the `worker`
//! crate exposes no attempt count, so the count travels in the message. A duplicate this could cause is
//! harmless, since the event id is Mindbox's `transactionId`.

use std::collections::BTreeMap;

use crate::store::Store;
use futures_util::stream::{self, StreamExt};
use worker::Result;

use crate::config::Config;
use crate::delivery::dead_letters::{
    floor_char_boundary, keep_dead_letter, keep_dead_letters, unreadable, MAX_ANSWER_BYTES,
};
use crate::delivery::failure::Failure;
use crate::delivery::mindbox;
use crate::delivery::outcome::{backoff_secs, classify, wait_for_collector, Outcome};
use crate::delivery::tally::{Settled, Tally};
use crate::message::Delivery;
use crate::qa_trace::{Note, TraceState};
use crate::store::ledger::DeadLetter;
use crate::store::queue::{Producer, Source, Taken};
use crate::store::rate_budget;
use crate::store::snapshot_order::{self, Claim, Stamp};

/// Retries stop (and the event is dead-lettered) this long after it was accepted: within Cloudflare
/// Queues' default 4-day retention.
const GIVE_UP_AFTER_MS: f64 = 3.5 * 24.0 * 3600.0 * 1000.0;

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
    env: &Store,
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
                tally.unreadable();
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
                    let mut took = None;
                    let (how, reason) = deliver(m, &d, env, queue, config, &mut took).await;
                    settled.push((d, how, reason, now_ms(), took));
                }
                settled
            }
        })
        .buffer_unordered(MAX_CONNECTIONS)
        .collect()
        .await;
    for (d, how, reason, at, took) in results.into_iter().flatten() {
        tally.settled(&d, how, reason, at);
        if let Some(ms) = took {
            tally.call_took(ms);
        }
    }
    tally.write(env).await;
    Ok(())
}

/// The configuration is broken: not the events' fault, so they wait on the queue, further apart
/// each time.
async fn wait_misconfigured<M: Taken>(messages: &[M], env: &Store, problem: &str) -> Result<()> {
    worker::console_error!("configuration error, delivery waits: {problem}");
    let mut tally = Tally::default();
    for m in messages {
        wait_for_collector(m);
        if let Some(d) = Delivery::from_message(m.body()).ok().filter(|d| d.trace) {
            let why = format!("the collector's configuration is broken: {problem}");
            tally.note(
                &d.device_uuid,
                Note::of(&d, TraceState::Waiting, d.attempts, Some(why)),
            );
        }
    }
    tally.add("waited_misconfigured", messages.len() as u64);
    tally.write(env).await;
    Ok(())
}

/// Mindbox's per-operation rate limit: what is over this minute's budget goes back on the queue until
/// the next minute; the rest is returned.
async fn within_budget<'m, M: Taken>(
    parsed: Vec<(&'m M, Delivery)>,
    env: &Store,
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
            tally.settled(&d, Settled::RateLimited, Some(why), now_ms());
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
            format!("{}={v}", crate::gate::spelling::fold(k))
        })
        .collect();
    parts.sort();
    (!parts.is_empty()).then(|| (kind.to_string(), parts.join("&")))
}

/// The field `name` of object `v` in any letter case (.NET's `OrdinalIgnoreCase`).
fn field<'v>(v: &'v serde_json::Value, name: &str) -> Option<&'v serde_json::Value> {
    let name = crate::gate::spelling::fold(name);
    v.as_object()?
        .iter()
        .find(|(k, _)| crate::gate::spelling::fold(k) == name)
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

/// Delivers one message and settles it; returns the counter it adds to and why (for QA's trace),
/// and sets `took` to how long the Mindbox call took (ms), if one was made.
async fn deliver<M: Taken>(
    message: &M,
    delivery: &Delivery,
    env: &Store,
    queue: Option<&impl Producer>,
    config: &Config,
    took: &mut Option<f64>,
) -> (Settled, Option<String>) {
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
                return (Settled::Superseded, Some(why));
            }
            Ok(Claim::Busy) => {
                requeue(queue, message, delivery, BUSY_DELAY_SECS, false).await;
                let why = format!("another {kind} of this device is being sent first");
                return (Settled::Waited, Some(why));
            }
            Err(e) => {
                let id = &delivery.event.id;
                worker::console_error!("snapshot order unavailable for {op} {id}: {e}");
                wait_for_collector(message);
                return (
                    Settled::Waited,
                    Some(format!("the collector's order keeper failed: {e}")),
                );
            }
        }
    }
    let start = now_ms();
    let answer = call_mindbox(delivery, config).await;
    *took = Some(now_ms() - start);
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
                Settled::Waited,
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
    env: &Store,
    queue: Option<&impl Producer>,
) -> (Settled, Option<String>) {
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
            (Settled::Delivered, None)
        }
        Outcome::Retry {
            reason,
            min_delay_secs,
        } => {
            let delay = backoff_secs(delivery.attempts, random_unit(), min_delay_secs);
            let said = crate::delivery::redact::mask_personal(&reason);
            worker::console_log!("retrying {op} {id} in {delay}s: {said}");
            requeue(queue, message, delivery, delay, true).await;
            (
                Settled::Retried,
                Some(format!("{reason}; next try in {delay} s")),
            )
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
            (Settled::DeadLettered, Some(reason))
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

/// A random number in 0..1 (for jitter), from the platform's crypto source.
fn random_unit() -> f64 {
    let mut b = [0u8; 4];
    getrandom::getrandom(&mut b).map_or(0.5, |_| u32::from_le_bytes(b) as f64 / u32::MAX as f64)
}
