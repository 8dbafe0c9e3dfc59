//! Event ids already queued, remembered per device, so that a resend of an event the collector has
//! already put on its queue is answered "accepted" without queueing it again: one Mindbox call per
//! event when a tab closes with a request in flight and the next visit resends it.
//!
//! Devices are spread over [`SHARDS`] Durable Objects (`seen-0` … `seen-255`, by a hash of the device
//! id), never one that all traffic shares, and never one per device: a device is keys in its shard
//! (`<device>/s:<id>`, and QA's trace under `<device>/`), so however many device ids clients make up,
//! the objects stay [`SHARDS`]. Ids are recorded only after they are on the queue (so an id is never
//! dropped as a resend of something that never got queued) and forgotten after
//! `DEVICE_STATE_SECONDS` (a week by default, [`crate::config::StorageSettings`]); a device not seen for that long
//! is forgotten whole ([`crate::store::expiry`]). A resend after that still reaches Mindbox, which answers a
//! transactionId it has seen with `TransactionAlreadyProcessed`. Two copies of one event arriving at
//! the same moment (before either is recorded) may both be queued: a second Mindbox call, never a
//! loss. If the object cannot be reached, nothing is dropped.

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, ListOptions, Request, Response, Result, State};

use crate::store::expiry;
use crate::store::trace_notes;
use crate::store::{objects, Store};

/// The namespace binding in wrangler.toml.
pub const BINDING: &str = crate::bindings::SEEN;
/// How many objects the devices are spread over.
pub const SHARDS: usize = 256;
/// How often an active device's old ids are pruned (or sooner, when `DEVICE_STATE_SECONDS` is shorter).
pub const PRUNE_EVERY_MS: f64 = 24.0 * 3600.0 * 1000.0;

#[derive(Serialize, Deserialize)]
struct Ids {
    ids: Vec<String>,
    /// QA's trace notes for these ids ("queued"), when the device is traced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    notes: Vec<trace_notes::Note>,
    /// For a device new here: the key of its address in `NEW_DEVICE_RATE_LIMIT`, which the object
    /// asks before it creates the device (nothing is recorded when the limit says no).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    create_within: Option<String>,
}

/// What a check answers: the ids queued before, and whether QA traces the device.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Known {
    /// Ids of the batch already queued.
    pub seen: Vec<String>,
    /// The device is traced now: its messages carry `trace`.
    #[serde(default)]
    pub trace: bool,
    /// Nothing is kept for the device yet: queueing its events creates its state.
    #[serde(default)]
    pub new_device: bool,
}

/// One shard of devices' queued event ids (and QA's trace of those devices).
#[durable_object(alarm)]
pub struct Seen {
    state: State,
    /// QA's trace: notes kept (`TRACE_KEEP`).
    keep: usize,
    /// How long ids and devices are remembered (`DEVICE_STATE_SECONDS`).
    remember_ms: f64,
    /// The worker's bindings (the creation limit's rate limiter).
    env: Env,
}

impl DurableObject for Seen {
    fn new(state: State, env: Env) -> Self {
        let settings = crate::config::StorageSettings::from_env(&env);
        Seen {
            state,
            keep: settings.trace_keep,
            remember_ms: settings.device_state_ms,
            env,
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let path = req.path();
        let url = req.url()?;
        let Some(device) = url
            .query_pairs()
            .find(|(k, _)| k == "device")
            .map(|(_, v)| v.to_string())
            .filter(|d| mindbox_model::uuid::is_canonical(d))
        else {
            return Response::error("a seen route names its ?device=", 400);
        };
        let prefix = format!("{device}/");
        let now = worker::Date::now().as_millis() as f64;
        if path.starts_with("/trace/") {
            let answer = trace_notes::serve(&storage, self.keep, &prefix, &path, req).await?;
            if path == "/trace/set" {
                // The device (and its notes) lives at least until a day after its trace ends.
                let ends = trace_notes::kept_until(&storage, &prefix).await?;
                let until = ends.max(now + self.remember_ms);
                expiry::extend(&storage, &device, until, 0.0).await?;
            }
            return Ok(answer);
        }
        let q: Ids = objects::body(&mut req).await?;
        let mut keys: Vec<String> = q.ids.iter().map(|id| format!("{prefix}s:{id}")).collect();
        match path.as_str() {
            "/check" => {
                let until_key = trace_notes::until_key(&prefix);
                let life_key = expiry::life_key(&device);
                keys.push(until_key.clone());
                keys.push(life_key.clone());
                let found = storage.get_multiple(keys).await?;
                let mut known = Known {
                    new_device: true,
                    ..Known::default()
                };
                found.for_each(&mut |value, key| match key.as_string() {
                    Some(k) if k == until_key => {
                        known.trace = value.as_f64().is_some_and(|until| until > now)
                    }
                    Some(k) if k == life_key => known.new_device = false,
                    Some(k) => known.seen.push(k[prefix.len() + 2..].to_string()),
                    None => {}
                });
                objects::json(&known)
            }
            "/record" => {
                // Read once here, for the condition and for the life's extension below.
                let old = storage
                    .get::<expiry::Life>(&expiry::life_key(&device))
                    .await?;
                if let (None, Some(address)) = (&old, &q.create_within) {
                    let store = Store::new(&self.env);
                    let limit = crate::bindings::NEW_DEVICE_RATE_LIMIT;
                    if !crate::gate::admission::within_limit(&store, limit, address, 1).await {
                        return objects::json(&false);
                    }
                }
                // The ids, and the device's life when it moves, in one write.
                let values = js_sys::Object::new();
                for k in &keys {
                    js_sys::Reflect::set(&values, &k.into(), &now.into())?;
                }
                let life = expiry::extend_with(
                    &storage,
                    &device,
                    old,
                    now + self.remember_ms,
                    self.remember_ms / 8.0,
                    now,
                    values,
                )
                .await?;
                if now - life.pruned > PRUNE_EVERY_MS.min(self.remember_ms) {
                    self.prune(&storage, &prefix, now).await?;
                    expiry::pruned(&storage, &device, life, now).await?;
                }
                // QA's notes come second, and their failure costs only the QA page a state.
                if let Err(e) = trace_notes::write(&storage, self.keep, &prefix, q.notes).await {
                    worker::console_error!("trace notes not written: {e}");
                }
                objects::json(&true)
            }
            _ => Response::error("unknown seen route", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        let now = worker::Date::now().as_millis() as f64;
        for (index_key, device) in expiry::expired(&storage, now).await? {
            expiry::delete_under(&storage, &format!("{device}/")).await?;
            expiry::delete_all(&storage, expiry::doomed(index_key, &device).to_vec()).await?;
        }
        expiry::rearm(&storage).await?;
        Response::ok("")
    }
}

impl Seen {
    /// Forgets an active device's ids older than the memory, and its trace a day after it ended.
    async fn prune(&self, storage: &worker::Storage, prefix: &str, now: f64) -> Result<()> {
        let listed = storage
            .list_with_options(ListOptions::new().prefix(&format!("{prefix}s:")))
            .await?;
        let mut old = Vec::new();
        listed.for_each(&mut |at, key| {
            if let (Some(k), Some(at)) = (key.as_string(), at.as_f64()) {
                if at < now - self.remember_ms {
                    old.push(k);
                }
            }
        });
        expiry::delete_all(storage, old).await?;
        trace_notes::prune(storage, prefix, now).await?;
        Ok(())
    }
}

/// The shard a device's ids live on, and the route with the device named.
pub fn route(device: &str, path: &str) -> (String, String) {
    (
        format!("seen-{}", expiry::shard_of(device, SHARDS)),
        format!("{path}?device={device}"),
    )
}

/// Which of `ids` this device's object says were queued before, and whether QA traces the device. On
/// any error: none, untraced (nothing is dropped for want of an answer).
pub async fn already_queued(env: &Store, device: &str, ids: &[String]) -> Known {
    if ids.is_empty() {
        return Known::default();
    }
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        return crate::store::pg::seen::already_queued(db, device, ids)
            .await
            .unwrap_or_else(|e| {
                worker::console_error!("seen check failed, nothing dropped: {e}");
                Known::default()
            });
    }
    let q = Ids {
        ids: ids.to_vec(),
        notes: Vec::new(),
        create_within: None,
    };
    let (shard, path) = route(device, "/check");
    match objects::call(env, BINDING, &shard, &path, &q).await {
        Ok(known) => known,
        Err(e) => {
            worker::console_error!("seen check failed, nothing dropped: {e}");
            Known::default()
        }
    }
}

/// Remembers `ids` as queued for this device, with QA's "queued" notes when it is traced. A failure
/// only means a later resend is queued again.
pub async fn record(env: &Store, device: &str, ids: Vec<String>, notes: Vec<trace_notes::Note>) {
    if ids.is_empty() {
        return;
    }
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        let remember = crate::config::StorageSettings::from_env(env).device_state_ms;
        if let Err(e) = crate::store::pg::seen::record(db, device, &ids, &notes, remember).await {
            worker::console_error!("seen record failed: {e}");
        }
        return;
    }
    let q = Ids {
        ids,
        notes,
        create_within: None,
    };
    let (shard, path) = route(device, "/record");
    if let Err(e) = objects::call::<_, bool>(env, BINDING, &shard, &path, &q).await {
        worker::console_error!("seen record failed: {e}");
    }
}

/// Remembers `ids` as queued for this device, in one call, when the device is kept already or its
/// address (`ip_key`) is within `NEW_DEVICE_RATE_LIMIT`: `false` when neither (nothing was recorded,
/// and the device is not kept). A failure is logged and answers `true`: it only means a later resend
/// is queued again.
pub async fn record_within(env: &Store, device: &str, ids: &[String], ip_key: &str) -> bool {
    if ids.is_empty() {
        return true;
    }
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        let remember = crate::config::StorageSettings::from_env(env).device_state_ms;
        let limit = crate::bindings::NEW_DEVICE_RATE_LIMIT;
        let window = crate::gate::admission::window_key(limit, ip_key);
        let per_minute = crate::bindings::NEW_DEVICE_LIMIT_PER_MINUTE;
        return crate::store::pg::seen::record_within(
            db, device, ids, remember, &window, per_minute,
        )
        .await
        .unwrap_or_else(|e| {
            worker::console_error!("seen record failed: {e}");
            true
        });
    }
    let q = Ids {
        ids: ids.to_vec(),
        notes: Vec::new(),
        create_within: Some(ip_key.to_string()),
    };
    let (shard, path) = route(device, "/record");
    objects::call::<_, bool>(env, BINDING, &shard, &path, &q)
        .await
        .unwrap_or_else(|e| {
            worker::console_error!("seen record failed: {e}");
            true
        })
}
