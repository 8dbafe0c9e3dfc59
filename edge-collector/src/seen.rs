//! Event ids already queued, remembered per device, so that a resend of an event the collector has
//! already put on its queue is answered "accepted" without queueing it again: one Mindbox call per
//! event when a tab closes with a request in flight and the next visit resends it.
//!
//! One Durable Object per device (`seen:<deviceUUID>`), never one that all traffic shares. Ids are
//! recorded only after they are on the queue (so an id is never dropped as a resend of something
//! that never got queued) and forgotten after [`REMEMBER_MS`]: a resend after that still reaches
//! Mindbox, which answers a transactionId it has seen with `TransactionAlreadyProcessed`. Two copies
//! of one event arriving at the same moment (before either is recorded) may both be queued: a second
//! Mindbox call, never a loss. If the object cannot be reached, nothing is dropped.

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, ListOptions, Request, Response, Result, State};

use crate::{objects, trace};

/// The namespace binding in wrangler.toml.
pub const BINDING: &str = crate::bindings::SEEN;
/// How long an id is remembered: a week, longer than most shoppers take to come back.
pub const REMEMBER_MS: f64 = 7.0 * 24.0 * 3600.0 * 1000.0;
/// How often a device's object forgets old ids.
pub const PRUNE_EVERY_MS: i64 = 24 * 3600 * 1000;

#[derive(Serialize, Deserialize)]
struct Ids {
    ids: Vec<String>,
    /// QA's trace notes for these ids ("queued"), when the device is traced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    notes: Vec<trace::Note>,
}

/// What a check answers: the ids queued before, and whether QA traces the device.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Known {
    /// Ids of the batch already queued.
    pub seen: Vec<String>,
    /// The device is traced now: its messages carry `trace`.
    #[serde(default)]
    pub trace: bool,
}

/// One device's queued event ids.
#[durable_object(alarm)]
pub struct Seen {
    state: State,
    /// QA's trace: notes kept (`TRACE_KEEP`).
    keep: usize,
}

impl DurableObject for Seen {
    fn new(state: State, env: Env) -> Self {
        Seen {
            state,
            keep: trace::keep(&env),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let path = req.path();
        if path.starts_with("/trace/") {
            return trace::serve(&storage, self.keep, &path, req).await;
        }
        let q: Ids = objects::body(&mut req).await?;
        let mut keys: Vec<String> = q.ids.iter().map(|id| format!("s:{id}")).collect();
        match path.as_str() {
            "/check" => {
                keys.push(trace::UNTIL.into());
                let found = storage.get_multiple(keys).await?;
                let now = worker::Date::now().as_millis() as f64;
                let mut known = Known::default();
                found.for_each(&mut |value, key| match key.as_string() {
                    Some(k) if k == trace::UNTIL => {
                        known.trace = value.as_f64().is_some_and(|until| until > now)
                    }
                    Some(k) => known.seen.push(k[2..].to_string()),
                    None => {}
                });
                objects::json(&known)
            }
            "/record" => {
                let now = worker::Date::now().as_millis() as f64;
                let values = js_sys::Object::new();
                for k in &keys {
                    js_sys::Reflect::set(&values, &k.into(), &now.into())?;
                }
                storage.put_multiple_raw(values).await?;
                if storage.get_alarm().await?.is_none() {
                    storage.set_alarm(PRUNE_EVERY_MS).await?;
                }
                // QA's notes come second, and their failure costs only the QA page a state.
                if let Err(e) = trace::write(&storage, self.keep, q.notes).await {
                    worker::console_error!("trace notes not written: {e}");
                }
                objects::json(&true)
            }
            _ => Response::error("unknown seen route", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        let old_before = worker::Date::now().as_millis() as f64 - REMEMBER_MS;
        let all = storage
            .list_with_options(ListOptions::new().prefix("s:"))
            .await?;
        let mut old = Vec::new();
        let mut left = 0;
        all.for_each(&mut |at, key| match (key.as_string(), at.as_f64()) {
            (Some(k), Some(at)) if at < old_before => old.push(k),
            _ => left += 1,
        });
        trace::delete_all(&storage, old).await?;
        let traced = trace::prune(&storage, old_before + REMEMBER_MS).await?;
        if left > 0 || traced {
            storage.set_alarm(PRUNE_EVERY_MS).await?;
        }
        Response::ok("")
    }
}

/// The device's object's name.
pub fn object_name(device: &str) -> String {
    format!("seen:{device}")
}

/// Which of `ids` this device's object says were queued before, and whether QA traces the device. On
/// any error: none, untraced (nothing is dropped for want of an answer).
pub async fn already_queued(env: &Env, device: &str, ids: &[String]) -> Known {
    if ids.is_empty() {
        return Known::default();
    }
    let q = Ids {
        ids: ids.to_vec(),
        notes: Vec::new(),
    };
    match objects::call(env, BINDING, &object_name(device), "/check", &q).await {
        Ok(known) => known,
        Err(e) => {
            worker::console_error!("seen check failed, nothing dropped: {e}");
            Known::default()
        }
    }
}

/// Remembers `ids` as queued for this device, with QA's "queued" notes when it is traced. A failure
/// only means a later resend is queued again.
pub async fn record(env: &Env, device: &str, ids: Vec<String>, notes: Vec<trace::Note>) {
    if ids.is_empty() {
        return;
    }
    let q = Ids { ids, notes };
    if let Err(e) =
        objects::call::<_, bool>(env, BINDING, &object_name(device), "/record", &q).await
    {
        worker::console_error!("seen record failed: {e}");
    }
}
