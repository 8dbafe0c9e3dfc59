//! The ledger: Durable Objects that keep dead letters and counters, spread over [`SHARDS`] instances
//! (`ledger-0` … `ledger-31`) so that no one object takes all the traffic.
//!
//! Dead letters are events Mindbox will never take as they are (validation errors, 4xx, retries given
//! up): each is kept with its reason and Mindbox's answer until an operator redrives it (see
//! [`crate::routes::admin`]). A letter lives on the shard its key (the event id) hashes to, so it is found
//! and deleted by id with one call; listing walks the shards in order with a cursor
//! (`<shard>.<key>`). Each shard keeps at most its share of `DEAD_LETTER_CAP` (default 100 000) letters
//! of browser events: past it, the oldest is evicted and counted (`dead_letters_evicted`). Letters of
//! the shop backend's operations (orders, statuses) have a cap and an age index of their own
//! (`BACKEND_DEAD_LETTER_CAP`, default 100 000; `backend.dead_letters_evicted`), so no amount of
//! browser traffic can push an order's letter out.
//!
//! Counters count what happened to events: `accepted`, `delivered`, `retried`, `dead_lettered`,
//! `superseded`, `redriven`, `dead_letters_evicted` and `rejected.<code>` for every rejection reason.
//! Counts are summed in each isolate and written at most once a second ([`count`], [`write_soon`]);
//! each write adds to one shard picked at random; reading sums them all, so the totals stay exact.
//!
//! The single `ledger` object of earlier versions is still read (its letters listed, redriven and
//! deleted, its counters summed) but never written: nothing kept there is lost by the change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, ListOptions, Request, Response, Result, State};

use crate::message::Delivery;
use crate::store::{objects, Store};

/// The namespace binding in wrangler.toml.
pub const BINDING: &str = crate::bindings::LEDGER;
/// How many ledger objects share the writes.
pub const SHARDS: usize = 32;
/// The one ledger object of earlier versions: read, never written.
const LEGACY: &str = "ledger";

/// The shards' names, in listing order, the legacy object last.
fn names() -> impl Iterator<Item = String> {
    (0..SHARDS)
        .map(|i| format!("ledger-{i}"))
        .chain(std::iter::once(LEGACY.to_string()))
}

/// The shard a dead letter's key lives on (FNV-1a, [`crate::store::expiry::shard_of`]: stable across
/// versions and isolates).
pub fn shard_of(key: &str) -> usize {
    crate::store::expiry::shard_of(key, SHARDS)
}

/// A dead letter as kept and listed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// The event and everything needed to deliver it again (absent for an unreadable message).
    pub delivery: Option<Delivery>,
    /// An unreadable queue message, as it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// Why it was dead-lettered.
    pub reason: String,
    /// Mindbox's answer body (truncated), when there was one.
    pub answer: Option<String>,
    /// When (ms since the Unix epoch).
    pub dead_at: f64,
    /// The ledger's key for it: the event id (or the queue message id of an unreadable message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct AddLetter {
    key: String,
    letter: DeadLetter,
    /// The most letters this shard keeps.
    cap: usize,
}

/// One page of a shard's letters.
#[derive(Serialize, Deserialize, Default)]
struct Page {
    letters: Vec<DeadLetter>,
    /// The last key listed, when there may be more after it.
    more_after: Option<String>,
}

/// The ledger Durable Object.
#[durable_object(fetch)]
pub struct Ledger {
    state: State,
}

#[derive(Serialize, Deserialize, Default)]
struct Ids {
    ids: Option<Vec<String>>,
    #[serde(default)]
    limit: Option<usize>,
    /// List the unreadable messages instead of the redrivable letters.
    #[serde(default)]
    unreadable: bool,
    /// List after this key (a cursor).
    #[serde(default)]
    after: Option<String>,
    /// For a delete: each letter only if it is still the one that died at this time (a redriven
    /// event that failed again since is a new letter, and stays).
    #[serde(default)]
    dead_at: Option<Vec<f64>>,
}

impl DurableObject for Ledger {
    fn new(state: State, _env: Env) -> Self {
        Ledger { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        match req.path().as_str() {
            "/dead-letters/add" => {
                let add: AddLetter = objects::body(&mut req).await?;
                let mut letter = add.letter;
                letter.key = Some(add.key.clone());
                let key = storage_key(&letter, &add.key);
                let was: Option<DeadLetter> = storage
                    .get::<String>(&key)
                    .await?
                    .and_then(|t| serde_json::from_str(&t).ok());
                if let Some(old) = &was {
                    storage
                        .delete_multiple(age_keys(old, &key).to_vec())
                        .await?;
                    let old_kept = kept_key(old);
                    let n: usize = storage.get(old_kept).await?.unwrap_or(1);
                    storage.put(old_kept, n.saturating_sub(1)).await?;
                }
                storage.put(&key, serde_json::to_string(&letter)?).await?;
                storage.put(&age_key(&letter, &key), &key).await?;
                let kept_name = kept_key(&letter);
                let mut kept: usize = storage.get(kept_name).await?.unwrap_or(0) + 1;
                let mut evicted = 0u64;
                while kept > add.cap.max(1) {
                    // The oldest of its own kind first: age keys sort by the time the letter died.
                    let oldest = storage
                        .list_with_options(ListOptions::new().prefix(age_prefix(&letter)).limit(1))
                        .await?;
                    let Some((age, victim)) = first_entry(&oldest) else {
                        break;
                    };
                    if !is_backend(&letter) && self.reindex_backend(&age, &victim).await? {
                        // A backend letter kept before backend letters had an index of their own:
                        // moved there, never evicted by a browser letter.
                        kept -= 1;
                        continue;
                    }
                    storage.delete_multiple(vec![age, victim]).await?;
                    kept -= 1;
                    evicted += 1;
                }
                storage.put(kept_name, kept).await?;
                if evicted > 0 {
                    let counter = if is_backend(&letter) {
                        "backend.dead_letters_evicted"
                    } else {
                        "dead_letters_evicted"
                    };
                    add_counters(&storage, BTreeMap::from([(counter.into(), evicted)])).await?;
                }
                objects::json(&true)
            }
            "/dead-letters/list" => {
                let q: Ids = objects::body(&mut req).await?;
                objects::json(&self.letters(q).await?)
            }
            "/dead-letters/delete" => {
                let q: Ids = objects::body(&mut req).await?;
                let keys: Vec<String> = q
                    .ids
                    .unwrap_or_default()
                    .iter()
                    .map(|id| format!("{REDRIVABLE}{id}"))
                    .collect();
                let mut gone = 0;
                let mut gone_of: BTreeMap<&'static str, usize> = BTreeMap::new();
                for (i, key) in keys.into_iter().enumerate() {
                    let Some(text) = storage.get::<String>(&key).await? else {
                        continue;
                    };
                    let letter = serde_json::from_str::<DeadLetter>(&text).ok();
                    let expected = q.dead_at.as_ref().and_then(|d| d.get(i));
                    if let (Some(when), Some(l)) = (expected, &letter) {
                        if l.dead_at != *when {
                            continue;
                        }
                    }
                    let mut doomed = vec![key.clone()];
                    if let Some(letter) = &letter {
                        doomed.extend(age_keys(letter, &key));
                        *gone_of.entry(kept_key(letter)).or_default() += 1;
                    }
                    storage.delete_multiple(doomed).await?;
                    gone += 1;
                }
                for (name, n) in gone_of {
                    let kept: usize = storage.get(name).await?.unwrap_or(n);
                    storage.put(name, kept.saturating_sub(n)).await?;
                }
                objects::json(&gone)
            }
            "/counters/add" => {
                let add: BTreeMap<String, u64> = objects::body(&mut req).await?;
                add_counters(&storage, add).await?;
                objects::json(&true)
            }
            "/counters/get" => {
                let counters: BTreeMap<String, u64> =
                    storage.get("counters").await?.unwrap_or_default();
                objects::json(&counters)
            }
            _ => Response::error("unknown ledger route", 404),
        }
    }
}

impl Ledger {
    /// When the letter under `victim` (listed in the browser letters' age index at `age`) is a
    /// backend operation's, moves it to the backend index and count; whether it did.
    async fn reindex_backend(&self, age: &str, victim: &str) -> Result<bool> {
        let storage = self.state.storage();
        let letter = storage
            .get::<String>(victim)
            .await?
            .and_then(|t| serde_json::from_str::<DeadLetter>(&t).ok());
        let Some(letter) = letter.filter(is_backend) else {
            return Ok(false);
        };
        storage.delete(age).await?;
        storage.put(&age_key(&letter, victim), victim).await?;
        let kept: usize = storage.get("kept-backend").await?.unwrap_or(0);
        storage.put("kept-backend", kept + 1).await?;
        Ok(true)
    }

    async fn letters(&self, q: Ids) -> Result<Page> {
        let storage = self.state.storage();
        let limit = q.limit.unwrap_or(1000).clamp(1, 1000);
        let prefix = if q.unreadable { UNREADABLE } else { REDRIVABLE };
        if let Some(ids) = q.ids {
            let keys: Vec<String> = ids.iter().map(|id| format!("{REDRIVABLE}{id}")).collect();
            let letters = objects::entries(&storage.get_multiple(keys).await?)
                .iter()
                .filter_map(|(_, v)| serde_json::from_str(v).ok())
                .collect();
            return Ok(Page {
                letters,
                more_after: None,
            });
        }
        let start = q.after.as_ref().map(|after| format!("{prefix}{after}"));
        // One more than asked, and one more again for the cursor's own key: whether more follow.
        let mut options = ListOptions::new().prefix(prefix).limit(limit + 2);
        if let Some(start) = &start {
            options = options.start(start);
        }
        let mut listed: Vec<(String, String)> =
            objects::entries(&storage.list_with_options(options).await?);
        // `start` is inclusive: the cursor's own key was on the last page.
        if start.is_some() && listed.first().map(|(k, _)| k) == start.as_ref() {
            listed.remove(0);
        }
        let more = listed.len() > limit;
        listed.truncate(limit);
        let more_after = if more {
            listed.last().map(|(k, _)| k[prefix.len()..].to_string())
        } else {
            None
        };
        Ok(Page {
            letters: listed
                .iter()
                .filter_map(|(_, v)| serde_json::from_str(v).ok())
                .collect(),
            more_after,
        })
    }
}

/// Adds to this shard's counters.
async fn add_counters(storage: &worker::Storage, add: BTreeMap<String, u64>) -> Result<()> {
    let mut counters: BTreeMap<String, u64> = storage.get("counters").await?.unwrap_or_default();
    for (k, v) in add {
        *counters.entry(k).or_default() += v;
    }
    storage.put("counters", &counters).await
}

/// The age index entry of a letter kept under `key`: `age:<dead_at, 15 digits>:<key>` (a backend
/// operation's under `backend-age:`), so listing the prefix gives the oldest of its kind first.
fn age_key(letter: &DeadLetter, key: &str) -> String {
    format!(
        "{}{:015}:{key}",
        age_prefix(letter),
        letter.dead_at.max(0.0) as u64
    )
}

/// Both index entries a letter under `key` could have (its own kind's, and the other kind's, where
/// letters kept before backend letters had their own index are).
fn age_keys(letter: &DeadLetter, key: &str) -> [String; 2] {
    let at = letter.dead_at.max(0.0) as u64;
    [
        format!("{AGE}{at:015}:{key}"),
        format!("{BACKEND_AGE}{at:015}:{key}"),
    ]
}

/// Whether a letter is of a backend operation (capped apart from the browser's).
fn is_backend(letter: &DeadLetter) -> bool {
    letter.delivery.as_ref().is_some_and(|d| d.backend)
}

/// The age index a letter is in: browser letters (and unreadable messages) or backend letters.
fn age_prefix(letter: &DeadLetter) -> &'static str {
    if is_backend(letter) {
        BACKEND_AGE
    } else {
        AGE
    }
}

/// The storage key counting the letters of a letter's kind on this shard.
fn kept_key(letter: &DeadLetter) -> &'static str {
    if is_backend(letter) {
        "kept-backend"
    } else {
        "kept"
    }
}

const AGE: &str = "age:";
const BACKEND_AGE: &str = "backend-age:";

/// Redrivable letters are kept under `dl:<event id>`, unreadable messages under `raw:<message id>`:
/// apart, so an unreadable message can never fill the pages "redrive all" walks, nor be found (or
/// deleted) by an event id.
fn storage_key(letter: &DeadLetter, key: &str) -> String {
    let prefix = if letter.delivery.is_some() {
        REDRIVABLE
    } else {
        UNREADABLE
    };
    format!("{prefix}{key}")
}

const REDRIVABLE: &str = "dl:";
const UNREADABLE: &str = "raw:";

/// A storage map's string entries, in key order.
/// The first entry of a listing.
fn first_entry(map: &js_sys::Map) -> Option<(String, String)> {
    objects::entries(map).into_iter().next()
}

/// Keeps a dead letter in the ledger, on its key's shard, within `DEAD_LETTER_CAP` letters of browser
/// events or `BACKEND_DEAD_LETTER_CAP` of backend operations in all (read here, not from the
/// collector's configuration: dead letters are kept even when that is broken).
pub async fn add_dead_letter(env: &Store, letter: &DeadLetter, key: &str) -> Result<()> {
    let settings = crate::config::StorageSettings::from_env(env);
    let cap = if is_backend(letter) {
        settings.backend_dead_letter_cap
    } else {
        settings.dead_letter_cap
    };
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        let evicted =
            crate::store::pg::ledger::add(db, letter, key, is_backend(letter), cap).await?;
        if evicted > 0 {
            let name = if is_backend(letter) {
                "backend.dead_letters_evicted"
            } else {
                "dead_letters_evicted"
            };
            count(BTreeMap::from([(name.to_string(), evicted)]));
        }
        return Ok(());
    }
    let add = AddLetter {
        key: key.to_string(),
        letter: letter.clone(),
        cap: cap.div_ceil(SHARDS),
    };
    let name = format!("ledger-{}", shard_of(key));
    objects::call::<_, bool>(env, BINDING, &name, "/dead-letters/add", &add).await?;
    Ok(())
}

/// Dead letters that can be redriven, by id: each from its shard (and the legacy ledger).
pub async fn get_dead_letters(env: &Store, ids: Vec<String>) -> Result<Vec<DeadLetter>> {
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        return crate::store::pg::ledger::get(db, &ids).await;
    }
    let mut by_shard: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for id in ids {
        by_shard.entry(shard_of(&id)).or_default().push(id);
    }
    let mut out = Vec::new();
    let mut legacy_ids = Vec::new();
    for (shard, ids) in by_shard {
        let q = Ids {
            ids: Some(ids.clone()),
            ..Ids::default()
        };
        let page: Page = objects::call(
            env,
            BINDING,
            &format!("ledger-{shard}"),
            "/dead-letters/list",
            &q,
        )
        .await?;
        let found: Vec<&str> = page
            .letters
            .iter()
            .filter_map(|l| l.key.as_deref())
            .collect();
        legacy_ids.extend(
            ids.iter()
                .filter(|id| !found.contains(&id.as_str()))
                .cloned(),
        );
        out.extend(page.letters);
    }
    if !legacy_ids.is_empty() {
        let q = Ids {
            ids: Some(legacy_ids),
            ..Ids::default()
        };
        let page: Page = objects::call(env, BINDING, LEGACY, "/dead-letters/list", &q).await?;
        out.extend(page.letters);
    }
    Ok(out)
}

/// One page of dead letters (redrivable, or with `unreadable` the queue messages that were not
/// events), at most `limit` (1 000), after `cursor`; and the cursor of the next page, if any.
pub async fn list_dead_letters(
    env: &Store,
    unreadable: bool,
    limit: usize,
    cursor: Option<&str>,
) -> Result<(Vec<DeadLetter>, Option<String>)> {
    let limit = limit.clamp(1, 1000);
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        return crate::store::pg::ledger::list(db, unreadable, limit, cursor).await;
    }
    let shards: Vec<String> = names().collect();
    // `<shard index>.<key>`: where the last page stopped.
    let (mut shard, mut after) = match cursor.and_then(|c| c.split_once('.')) {
        Some((i, key)) => (
            i.parse::<usize>().unwrap_or(shards.len()),
            Some(key.to_string()),
        ),
        None => (0, None),
    };
    let mut out = Vec::new();
    while shard < shards.len() && out.len() < limit {
        let q = Ids {
            limit: Some(limit - out.len()),
            unreadable,
            after: after.take(),
            ..Ids::default()
        };
        let page: Page =
            objects::call(env, BINDING, &shards[shard], "/dead-letters/list", &q).await?;
        out.extend(page.letters);
        match page.more_after {
            Some(key) => after = Some(key),
            None => shard += 1,
        }
    }
    let next = match after {
        Some(key) => Some(format!("{shard}.{key}")),
        None if shard < shards.len() => Some(format!("{shard}.")),
        None => None,
    };
    Ok((out, next))
}

/// Forgets dead letters after they were redriven, each `(id, dead_at)` only if it is still the letter
/// that died then, on its shard and in the legacy ledger.
pub async fn delete_dead_letters(env: &Store, letters: Vec<(String, f64)>) -> Result<usize> {
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        return crate::store::pg::ledger::delete(db, &letters).await;
    }
    let mut gone = 0;
    for (id, dead_at) in letters {
        let q = serde_json::json!({ "ids": [id], "dead_at": [dead_at] });
        let mut n: usize = objects::call(
            env,
            BINDING,
            &format!("ledger-{}", shard_of(&id)),
            "/dead-letters/delete",
            &q,
        )
        .await?;
        if n == 0 {
            n = objects::call(env, BINDING, LEGACY, "/dead-letters/delete", &q).await?;
        }
        gone += n;
    }
    Ok(gone)
}

/// How often one isolate writes its counts at most (ms): the counters a metrics read on another
/// isolate or node sees lag by about this much.
pub const WRITE_EVERY_MS: f64 = 1_000.0;

/// This isolate's counts not written yet, and when it last started a write.
#[derive(Default)]
struct Unwritten {
    counts: BTreeMap<String, u64>,
    /// When the last write started (ms); the next starts [`WRITE_EVERY_MS`] after it.
    last_write: f64,
    /// An invocation waits to write them: another has nothing to add.
    waiting: bool,
}

thread_local! {
    static UNWRITTEN: std::cell::RefCell<Unwritten> = std::cell::RefCell::new(Unwritten::default());
}

/// Adds to counters. The counts are summed in this isolate and written by [`write_soon`], at most once
/// every [`WRITE_EVERY_MS`], instead of one write per request or batch; [`counters`] adds this
/// isolate's unwritten counts to what it reads.
pub fn count(counts: BTreeMap<String, u64>) {
    if counts.is_empty() {
        return;
    }
    UNWRITTEN.with(|u| {
        let mut u = u.borrow_mut();
        for (k, v) in counts {
            *u.counts.entry(k).or_default() += v;
        }
    });
}

/// Writes this isolate's unwritten counts once the last write is [`WRITE_EVERY_MS`] old: for the
/// invocation's `wait_until`, after its answer (the wait costs no CPU). Returns at once when there is
/// nothing to write or another invocation already waits to. Counting never fails a request: a write
/// that fails is logged and its counts are kept for the next one.
pub async fn write_soon(env: &Store) {
    let wait = UNWRITTEN.with(|u| {
        let mut u = u.borrow_mut();
        if u.waiting || u.counts.is_empty() {
            return None;
        }
        u.waiting = true;
        Some((u.last_write + WRITE_EVERY_MS - now_ms()).max(0.0))
    });
    let Some(wait) = wait else { return };
    if wait > 0.0 {
        worker::Delay::from(std::time::Duration::from_millis(wait as u64)).await;
    }
    let counts = UNWRITTEN.with(|u| {
        let mut u = u.borrow_mut();
        u.waiting = false;
        u.last_write = now_ms();
        std::mem::take(&mut u.counts)
    });
    if counts.is_empty() {
        return;
    }
    if let Err(e) = write(env, &counts).await {
        worker::console_error!("counters not updated (kept for the next write): {e}");
        count(counts);
    }
}

/// Writes this isolate's unwritten counts now if the last write is [`WRITE_EVERY_MS`] old, without
/// waiting: for the queue consumer and the delivery timers, whose invocations must not be held
/// open. What it leaves is written by the isolate's next invocation (or by a request's
/// [`write_soon`]).
pub async fn write_due(env: &Store) {
    let counts = UNWRITTEN.with(|u| {
        let mut u = u.borrow_mut();
        if u.waiting || u.counts.is_empty() || now_ms() - u.last_write < WRITE_EVERY_MS {
            return None;
        }
        u.last_write = now_ms();
        Some(std::mem::take(&mut u.counts))
    });
    let Some(counts) = counts else { return };
    if let Err(e) = write(env, &counts).await {
        worker::console_error!("counters not updated (kept for the next write): {e}");
        count(counts);
    }
}

fn now_ms() -> f64 {
    worker::Date::now().as_millis() as f64
}

/// Adds `counts` to the stored counters: on one shard picked at random.
async fn write(env: &Store, counts: &BTreeMap<String, u64>) -> Result<()> {
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        return crate::store::pg::ledger::count(db, counts).await;
    }
    let mut r = [0u8; 2];
    let shard = match getrandom::getrandom(&mut r) {
        Ok(()) => usize::from(u16::from_le_bytes(r)) % SHARDS,
        Err(_) => 0,
    };
    let name = format!("ledger-{shard}");
    objects::call::<_, bool>(env, BINDING, &name, "/counters/add", counts).await?;
    Ok(())
}

/// Every counter: the sum over the shards (and the legacy ledger), read at once, with this isolate's
/// counts not written yet.
pub async fn counters(env: &Store) -> Result<BTreeMap<String, u64>> {
    let mut total = stored_counters(env).await?;
    UNWRITTEN.with(|u| {
        for (k, v) in &u.borrow().counts {
            *total.entry(k.clone()).or_default() += v;
        }
    });
    Ok(total)
}

/// The stored counters: the sum over the shards (and the legacy ledger).
async fn stored_counters(env: &Store) -> Result<BTreeMap<String, u64>> {
    #[cfg(feature = "postgres")]
    if let Some(db) = env.db() {
        return crate::store::pg::ledger::counters(db).await;
    }
    let reads = names().map(|name| async move {
        objects::call::<_, BTreeMap<String, u64>>(env, BINDING, &name, "/counters/get", &()).await
    });
    let mut total = BTreeMap::new();
    for shard in futures_util::future::join_all(reads).await {
        for (k, v) in shard? {
            *total.entry(k).or_default() += v;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(delivery: Option<Delivery>) -> DeadLetter {
        DeadLetter {
            delivery,
            raw: Some("not an event".into()),
            reason: "unreadable".into(),
            answer: None,
            dead_at: 0.0,
            key: None,
        }
    }

    #[test]
    fn unreadable_messages_are_kept_apart_from_redrivable_letters() {
        let delivery: Delivery = serde_json::from_value(serde_json::json!({
            "event": {"id": "e1", "operation": "Website.ViewProduct", "data": {}},
            "deviceUuid": "d", "acceptedAt": 0.0, "attempts": 0
        }))
        .expect("a delivery");
        assert_eq!(storage_key(&letter(Some(delivery)), "e1"), "dl:e1");
        // Even a message id that looks like an event id stays out of "redrive all" and redrive by id.
        let raw = storage_key(&letter(None), "e1");
        assert_eq!(raw, "raw:e1");
        assert!(!raw.starts_with(REDRIVABLE));
    }

    #[test]
    fn letters_spread_over_the_shards_and_stay_on_one() {
        let mut seen = vec![0usize; SHARDS];
        for i in 0..3200 {
            let id = format!("0f8fad5b-d9cb-469f-a165-{i:012}");
            assert_eq!(shard_of(&id), shard_of(&id));
            seen[shard_of(&id)] += 1;
        }
        assert!(seen.iter().all(|&n| (50..=150).contains(&n)), "{seen:?}");
    }

    #[test]
    fn the_age_index_sorts_oldest_first() {
        let mut a = letter(None);
        a.dead_at = 9_000.0;
        let mut b = letter(None);
        b.dead_at = 10_000.0;
        assert!(age_key(&a, "z") < age_key(&b, "a"));
    }
}
