//! A durable queue that needs no Cloudflare service: the self-hosted profile's events queue (workerd
//! has no Queues), built on Durable Object storage on local disk and alarms.
//!
//! Messages live in [`SHARDS`] objects of the `QUEUE_SHARDS` namespace (`shard-0` …); a producer
//! picks one at random, so no object takes all the traffic. A shard keeps each message under
//! `m:<due time, ms, 15 digits>:<id>`, so listing gives them in due order, and keeps an alarm at the
//! earliest due time. The alarm takes what is due (up to [`BATCH`]) and delivers it with the same
//! [`deliver::handle_batch`] the Cloudflare consumer runs; then it stores each message's outcome: an
//! ack deletes it, a retry moves it to its new due time, and after [`MAX_TRIES`] tries it goes the
//! dead-letter way (kept in the ledger). A message leaves storage only once its outcome is stored, so
//! a crash at any point delivers it again; Mindbox takes the event id as `transactionId`, so it counts
//! once.

use std::cell::Cell;

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, ListOptions, Request, Response, Result, State};

use crate::queue::{Producer, Source, Taken};
use crate::{bindings, deliver, objects};

/// How many shard objects share the queue.
pub const SHARDS: u32 = 16;
/// Most messages one alarm delivers.
pub const BATCH: usize = 50;
/// Tries before a message goes the dead-letter way (as the Cloudflare queue's `max_retries` + 1). A
/// retry that delivery puts back as a new message (with the attempt count in its body) starts over
/// here; such retries stop at the retention limit in `deliver` (`GIVE_UP_AFTER_MS`), as on Cloudflare.
pub const MAX_TRIES: u32 = 101;
/// When the alarm wakes again if its handler fails before it sets the next one (ms from now).
const SAFETY_NET_MS: i64 = 30_000;

/// One stored message.
#[derive(Clone, Serialize, Deserialize)]
struct Stored {
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
struct ShardTaken {
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

/// One shard of the queue.
#[durable_object(alarm)]
pub struct QueueShard {
    state: State,
    env: Env,
}

impl DurableObject for QueueShard {
    fn new(state: State, env: Env) -> Self {
        QueueShard { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
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
                    self.wake_by(earliest).await?;
                    self.state.storage().put_multiple_raw(values).await?;
                }
                objects::json(&true)
            }
            "/depth" => {
                let all = self
                    .state
                    .storage()
                    .list_with_options(ListOptions::new().prefix("m:"))
                    .await?;
                objects::json(&all.size())
            }
            _ => Response::error("unknown queue-shard route", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        // A safety net first: if anything below fails, the shard wakes again in a while instead of
        // waiting for the next message to arrive. The end of the handler replaces it.
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
                // Never left in place (it would stay first and block the shard): the dead-letter
                // way keeps it apart, unreadable, for a human.
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
        for (k, stored) in unreadable {
            if self.dead_letter(&stored).await {
                storage.delete(&k).await?;
            }
        }
        if !taken.is_empty() {
            let queue = ShardQueue::new(&self.env);
            deliver::handle_batch(Source::Events, &taken, queue.as_ref().ok(), &self.env).await?;
            self.settle(taken).await?;
        }
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
            Some(due) => {
                storage
                    .set_alarm(((due - now_ms()).max(0.0)) as i64)
                    .await?
            }
            None => storage.delete_alarm().await?,
        }
        Response::ok("")
    }
}

impl QueueShard {
    /// Sets the alarm for `due` (ms) unless one is set sooner.
    async fn wake_by(&self, due: f64) -> Result<()> {
        let storage = self.state.storage();
        let current = storage.get_alarm().await?;
        if current.is_none_or(|at| (at as f64) > due) {
            storage
                .set_alarm(((due - now_ms()).max(0.0)) as i64)
                .await?;
        }
        Ok(())
    }

    /// Stores each taken message's outcome: ack deletes it, retry moves it, too many tries send it the
    /// dead-letter way.
    async fn settle(&self, taken: Vec<ShardTaken>) -> Result<()> {
        let storage = self.state.storage();
        let now = now_ms();
        let mut gone = Vec::new();
        let moved = js_sys::Object::new();
        let mut any_moved = false;
        for t in taken {
            match t.decision.get() {
                Some(Decision::Ack) => gone.push(t.key),
                decision => {
                    let secs = match decision {
                        Some(Decision::Retry(s)) => s,
                        _ => 1,
                    };
                    let mut stored = t.stored.clone();
                    stored.tries += 1;
                    if stored.tries >= MAX_TRIES && self.dead_letter(&stored).await {
                        gone.push(t.key);
                        continue;
                    }
                    let due = now + f64::from(secs) * 1000.0;
                    let new_key = key(due, &stored.id);
                    put(&moved, &new_key, &stored)?;
                    any_moved = true;
                    // The new copy is stored before the old key goes (a crash duplicates, never
                    // loses); the same key (a clock stepped back) must not be deleted after it.
                    if new_key != t.key {
                        gone.push(t.key);
                    }
                }
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

    /// Keeps a message the queue gave up on in the ledger (the dead-letter consumer's path); whether
    /// it was kept.
    async fn dead_letter(&self, stored: &Stored) -> bool {
        let letter = ShardTaken {
            key: String::new(),
            stored: stored.clone(),
            decision: Cell::new(None),
        };
        let none: Option<&ShardQueue> = None;
        let kept = deliver::handle_batch(
            Source::DeadLetters,
            std::slice::from_ref(&letter),
            none,
            &self.env,
        )
        .await;
        kept.is_ok() && letter.decision.get() == Some(Decision::Ack)
    }
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
    async fn send_all(&self, bodies: Vec<String>) -> std::result::Result<(), crate::queue::Unsent> {
        self.enqueue(bodies.into_iter().map(|b| (b, 0)).collect())
            .await
            .map_err(crate::queue::Unsent::none)
    }
}
