//! A durable queue that needs no Cloudflare service: the self-hosted profile's events queue (workerd
//! has no Queues), built on Durable Object storage on local disk and alarms.
//!
//! Messages live in [`SHARDS`] objects of the `QUEUE_SHARDS` namespace (`shard-0` …); a producer
//! picks one at random, so no object takes all the traffic. A shard keeps each message under
//! `m:<due time, ms, 15 digits>:<id>`, so listing gives them in due order, and keeps an alarm at the
//! earliest due time. The shard object (`crate::self_hosted::QueueShard`, which wires this storage to
//! the delivery code) takes what is due ([`take_due`], up to [`BATCH`]), has it delivered with the
//! same consumer the Cloudflare queue runs, then stores each message's outcome ([`settle`]): an ack
//! deletes it, a retry moves it to its new due time, and after [`MAX_TRIES`] tries it goes the
//! dead-letter way (kept in the ledger). A message leaves storage only once its outcome is stored, so
//! a crash at any point delivers it again; Mindbox takes the event id as `transactionId`, so it counts
//! once. Nothing here calls the delivery code.

use std::cell::Cell;

use serde::{Deserialize, Serialize};
use worker::{Env, ListOptions, Request, Response, Result, Storage};

use crate::bindings;
use crate::store::objects;
use crate::store::queue::{Producer, Taken};

/// How many shard objects share the queue.
pub const SHARDS: u32 = 16;
/// Most messages one alarm delivers.
pub const BATCH: usize = 50;
/// Tries before a message goes the dead-letter way (as the Cloudflare queue's `max_retries` + 1). A
/// retry that delivery puts back as a new message (with the attempt count in its body) starts over
/// here; such retries stop at the retention limit in `delivery::consumer` (`GIVE_UP_AFTER_MS`), as on
/// Cloudflare.
pub const MAX_TRIES: u32 = 101;
/// When the alarm wakes again if its handler fails before it sets the next one (ms from now).
const SAFETY_NET_MS: i64 = 30_000;

/// One stored message.
#[derive(Clone, Serialize, Deserialize)]
pub struct Stored {
    id: String,
    body: String,
    enqueued_at: f64,
    tries: u32,
}

fn key(due_ms: f64, id: &str) -> String {
    format!("m:{:015}:{id}", due_ms.max(0.0) as u64)
}

fn due_of(key: &str) -> f64 {
    key.get(2..17)
        .and_then(|d| d.parse::<u64>().ok())
        .unwrap_or(0) as f64
}

/// Adds `key: <stored as JSON text>` to an object for `put_multiple_raw` (a plain JS object: a
/// `serde` map would arrive as a JS `Map`, which storage does not take as key-value pairs).
fn put(values: &js_sys::Object, key: &str, stored: &Stored) -> Result<()> {
    let text = serde_json::to_string(stored)?;
    js_sys::Reflect::set(values, &key.into(), &text.into())
        .map(|_| ())
        .map_err(worker::Error::from)
}

fn now_ms() -> f64 {
    worker::Date::now().as_millis() as f64
}

fn random_u32() -> Result<u32> {
    let mut b = [0u8; 4];
    getrandom::getrandom(&mut b)
        .map_err(|e| worker::Error::RustError(format!("no randomness: {e}")))?;
    Ok(u32::from_le_bytes(b))
}

/// A message id: 64 random bits (a failure is an error, never a fixed id that would merge messages).
fn new_id() -> Result<String> {
    Ok(format!("{:08x}{:08x}", random_u32()?, random_u32()?))
}

#[derive(Serialize, Deserialize)]
struct Enqueue {
    /// `(body, delay in seconds)`.
    messages: Vec<(String, u32)>,
}

/// What delivery decided for a taken message.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Decision {
    Ack,
    Retry(u32),
}

/// A message taken off a shard for one alarm's delivery; records the decision.
pub struct ShardTaken {
    key: String,
    stored: Stored,
    decision: Cell<Option<Decision>>,
}

impl Taken for ShardTaken {
    fn body(&self) -> &str {
        &self.stored.body
    }

    fn id(&self) -> String {
        self.stored.id.clone()
    }

    fn enqueued_at_ms(&self) -> f64 {
        self.stored.enqueued_at
    }

    fn ack(&self) {
        self.decision.set(Some(Decision::Ack));
    }

    fn retry_in(&self, secs: u32) {
        self.decision.set(Some(Decision::Retry(secs)));
    }
}

impl ShardTaken {
    /// A stored message to hand to the dead-letter consumer on its own.
    pub fn letter(stored: &Stored) -> ShardTaken {
        ShardTaken {
            key: String::new(),
            stored: stored.clone(),
            decision: Cell::new(None),
        }
    }

    /// Whether delivery acked it.
    pub fn acked(&self) -> bool {
        self.decision.get() == Some(Decision::Ack)
    }

    /// Whether this try is its last: not acked, and [`MAX_TRIES`] reached with it.
    pub fn out_of_tries(&self) -> bool {
        !self.acked() && self.stored.tries + 1 >= MAX_TRIES
    }

    /// The stored message, with this try counted.
    pub fn tried(&self) -> Stored {
        Stored {
            tries: self.stored.tries + 1,
            ..self.stored.clone()
        }
    }

    /// Its storage key.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// What one alarm takes off a shard: the due messages, and the unreadable ones (each with its key,
/// to go the dead-letter way and never block the shard).
pub struct Due {
    /// Readable messages, in due order.
    pub taken: Vec<ShardTaken>,
    /// Unreadable values, as stored messages that are out of tries.
    pub unreadable: Vec<(String, Stored)>,
}

/// A shard's routes: `/enqueue` (messages with their delays, all or none) and `/depth`.
pub async fn serve(storage: &Storage, mut req: Request) -> Result<Response> {
    match req.path().as_str() {
        "/enqueue" => {
            let e: Enqueue = objects::body(&mut req).await?;
            let now = now_ms();
            let values = js_sys::Object::new();
            let mut earliest = f64::MAX;
            for (body, delay) in e.messages {
                let due = now + f64::from(delay) * 1000.0;
                let stored = Stored {
                    id: new_id()?,
                    body,
                    enqueued_at: now,
                    tries: 0,
                };
                put(&values, &key(due, &stored.id), &stored)?;
                earliest = earliest.min(due);
            }
            if earliest < f64::MAX {
                // The alarm first, then all or none of the messages: a message is never stored
                // without a wake-up (an alarm that finds nothing does no harm).
                wake_by(storage, earliest).await?;
                storage.put_multiple_raw(values).await?;
            }
            objects::json(&true)
        }
        "/depth" => {
            let all = storage
                .list_with_options(ListOptions::new().prefix("m:"))
                .await?;
            objects::json(&all.size())
        }
        _ => Response::error("unknown queue-shard route", 404),
    }
}

/// Takes what is due, after setting a safety-net alarm (if anything after fails, the shard wakes
/// again in a while instead of waiting for the next message).
pub async fn take_due(storage: &Storage) -> Result<Due> {
    storage.set_alarm(SAFETY_NET_MS).await?;
    let now = now_ms();
    let end = key(now + 1.0, "");
    let due = storage
        .list_with_options(ListOptions::new().start("m:").end(&end).limit(BATCH))
        .await?;
    let mut taken = Vec::new();
    let mut unreadable = Vec::new();
    due.for_each(&mut |value, k| {
        let Some(k) = k.as_string() else { return };
        // Values are JSON text (as the ledger keeps its letters).
        let text = value.as_string().unwrap_or_default();
        match serde_json::from_str::<Stored>(&text) {
            Ok(stored) => taken.push(ShardTaken {
                key: k,
                stored,
                decision: Cell::new(None),
            }),
            Err(_) => unreadable.push((
                k.clone(),
                Stored {
                    id: k,
                    body: text,
                    enqueued_at: now,
                    tries: MAX_TRIES,
                },
            )),
        }
    });
    Ok(Due { taken, unreadable })
}

/// Sets the alarm for the earliest message left, or none.
pub async fn rearm(storage: &Storage) -> Result<()> {
    let next = storage
        .list_with_options(ListOptions::new().prefix("m:").limit(1))
        .await?;
    let mut earliest = None;
    next.for_each(&mut |_, k| {
        if let Some(k) = k.as_string() {
            earliest = Some(due_of(&k));
        }
    });
    match earliest {
        Some(due) => storage.set_alarm(((due - now_ms()).max(0.0)) as i64).await,
        None => storage.delete_alarm().await,
    }
}

/// Sets the alarm for `due` (ms) unless one is set sooner.
async fn wake_by(storage: &Storage, due: f64) -> Result<()> {
    let current = storage.get_alarm().await?;
    if current.is_none_or(|at| (at as f64) > due) {
        storage
            .set_alarm(((due - now_ms()).max(0.0)) as i64)
            .await?;
    }
    Ok(())
}

/// Stores each taken message's outcome: ack deletes it, retry moves it to its new due time. Those
/// whose keys are in `dead_lettered` (out of tries, and kept in the ledger) are deleted; one out of
/// tries whose letter could not be kept is retried like any other.
pub async fn settle(
    storage: &Storage,
    taken: Vec<ShardTaken>,
    dead_lettered: &[String],
) -> Result<()> {
    let now = now_ms();
    let mut gone = Vec::new();
    let moved = js_sys::Object::new();
    let mut any_moved = false;
    for t in taken {
        if t.acked() || dead_lettered.contains(&t.key) {
            gone.push(t.key);
            continue;
        }
        let secs = match t.decision.get() {
            Some(Decision::Retry(s)) => s,
            _ => 1,
        };
        let stored = t.tried();
        let due = now + f64::from(secs) * 1000.0;
        let new_key = key(due, &stored.id);
        put(&moved, &new_key, &stored)?;
        any_moved = true;
        // The new copy is stored before the old key goes (a crash duplicates, never loses); the same
        // key (a clock stepped back) must not be deleted after it.
        if new_key != t.key {
            gone.push(t.key);
        }
    }
    if any_moved {
        storage.put_multiple_raw(moved).await?;
    }
    if !gone.is_empty() {
        storage.delete_multiple(gone).await?;
    }
    Ok(())
}

/// The producer side: puts messages on a random shard.
pub struct ShardQueue {
    env: Env,
}

impl ShardQueue {
    /// The queue of this worker, when it has the `QUEUE_SHARDS` namespace.
    pub fn new(env: &Env) -> Result<ShardQueue> {
        env.durable_object(bindings::QUEUE_SHARDS)?;
        Ok(ShardQueue { env: env.clone() })
    }

    async fn enqueue(&self, messages: Vec<(String, u32)>) -> Result<()> {
        let shard = format!("shard-{}", random_u32()? % SHARDS);
        objects::call::<_, bool>(
            &self.env,
            bindings::QUEUE_SHARDS,
            &shard,
            "/enqueue",
            &Enqueue { messages },
        )
        .await?;
        Ok(())
    }
}

impl Producer for ShardQueue {
    async fn send(&self, body: String, delay_secs: u32) -> Result<()> {
        self.enqueue(vec![(body, delay_secs)]).await
    }

    /// All or none: one shard takes them in one storage write.
    async fn send_all(
        &self,
        bodies: Vec<String>,
    ) -> std::result::Result<(), crate::store::queue::Unsent> {
        self.enqueue(bodies.into_iter().map(|b| (b, 0)).collect())
            .await
            .map_err(crate::store::queue::Unsent::none)
    }
}
