//! When a device's state is forgotten, inside the sharded Durable Objects that keep it ([`crate::store::seen`],
//! [`crate::store::snapshot_order`]): each thing kept under a name (a device, a snapshot slot) has a life
//! record `d:<name>` and an index entry `x:<expiry ms, 15 digits>:<name>`, so the object's alarm finds
//! what has expired by listing the index up to now, oldest first, and never walks what is still live.
//!
//! A device (or slot) is one of many in its shard, so forgetting it deletes its keys, not an object:
//! the shard's storage (on the self-hosted profile, one SQLite file) is reused, and its count of
//! objects stays the number of shards however many devices come and go.

use serde::{Deserialize, Serialize};
use worker::{ListOptions, Result, Storage};

use crate::store::objects;

/// Keys one storage call takes at most.
pub const KEYS_PER_CALL: usize = 128;
/// Names one alarm forgets at most before it comes again (a second later).
const PER_ALARM: usize = 512;

/// How long a name lives, and when its old parts were last pruned (ms since the Unix epoch).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Life {
    /// Forgotten from then on.
    pub expires: f64,
    /// When the owner last pruned what aged out inside it.
    #[serde(default)]
    pub pruned: f64,
}

impl Life {
    /// The life as storage keeps it (what `storage.get::<Life>` reads back).
    fn to_js(self) -> Result<js_sys::Object> {
        let o = js_sys::Object::new();
        js_sys::Reflect::set(&o, &"expires".into(), &self.expires.into())?;
        js_sys::Reflect::set(&o, &"pruned".into(), &self.pruned.into())?;
        Ok(o)
    }
}

/// The storage key of `name`'s life record (present while anything is kept under the name).
pub fn life_key(name: &str) -> String {
    format!("d:{name}")
}

fn index_key(expires: f64, name: &str) -> String {
    format!("x:{:015}:{name}", expires.max(0.0) as u64)
}

/// The hash that spreads names over shards (FNV-1a: stable across versions and isolates).
pub fn shard_of(name: &str, shards: usize) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h as usize % shards
}

/// Makes `name` live at least until `expires` (ms). The index moves only when the expiry moves by
/// more than `slack` (ms), which saves two writes on most calls; so a name may be forgotten up to
/// `slack` before `expires`. Returns its life, as stored now.
pub async fn extend(storage: &Storage, name: &str, expires: f64, slack: f64) -> Result<Life> {
    let old: Option<Life> = storage.get(&life_key(name)).await?;
    extend_from(storage, name, old, expires, slack).await
}

/// [`extend`] when the caller has just read `name`'s life (`old`, none if it has none).
pub async fn extend_from(
    storage: &Storage,
    name: &str,
    old: Option<Life>,
    expires: f64,
    slack: f64,
) -> Result<Life> {
    extend_with(
        storage,
        name,
        old,
        expires,
        slack,
        0.0,
        js_sys::Object::new(),
    )
    .await
}

/// [`extend_from`] that also writes `values` (key to value), in the same storage call as the life and
/// its index entry. A name new here (`old` none) starts as pruned at `new_pruned` (ms): it has nothing
/// old to prune yet.
pub async fn extend_with(
    storage: &Storage,
    name: &str,
    old: Option<Life>,
    expires: f64,
    slack: f64,
    new_pruned: f64,
    values: js_sys::Object,
) -> Result<Life> {
    let life = match old {
        Some(life) if life.expires >= expires - slack => life,
        _ => Life {
            expires,
            pruned: old.map_or(new_pruned, |l| l.pruned),
        },
    };
    let moved = old.is_none_or(|o| o.expires != life.expires);
    if moved {
        js_sys::Reflect::set(&values, &life_key(name).into(), &life.to_js()?.into())?;
        js_sys::Reflect::set(&values, &index_key(expires, name).into(), &name.into())?;
    }
    if js_sys::Object::keys(&values).length() > 0 {
        storage.put_multiple_raw(values).await?;
    }
    if !moved {
        return Ok(life);
    }
    if let Some(o) = old {
        storage.delete(&index_key(o.expires, name)).await?;
    }
    let alarm = storage.get_alarm().await?;
    if alarm.is_none_or(|at| at as f64 > expires) {
        storage.set_alarm(wait_until(expires)).await?;
    }
    Ok(life)
}

/// Notes that `name`'s old parts were pruned at `now`.
pub async fn pruned(storage: &Storage, name: &str, life: Life, now: f64) -> Result<()> {
    storage
        .put(
            &life_key(name),
            Life {
                pruned: now,
                ..life
            },
        )
        .await
}

/// Names whose life ended by `now`, oldest first, at most [`PER_ALARM`]; each with its index key.
pub async fn expired(storage: &Storage, now: f64) -> Result<Vec<(String, String)>> {
    let end = index_key(now + 1.0, "");
    let listed = storage
        .list_with_options(ListOptions::new().prefix("x:").end(&end).limit(PER_ALARM))
        .await?;
    Ok(objects::entries(&listed))
}

/// Forgets a name's life record and its index entry (the owner deletes what it kept under it).
pub fn doomed(index_key: String, name: &str) -> [String; 2] {
    [index_key, life_key(name)]
}

/// Sets the alarm for the next expiry, if anything is left to expire.
pub async fn rearm(storage: &Storage) -> Result<()> {
    let next = storage
        .list_with_options(ListOptions::new().prefix("x:").limit(1))
        .await?;
    let at = objects::entries(&next)
        .into_iter()
        .next()
        .and_then(|(k, _)| {
            k.get(2..17)
                .and_then(|ms| ms.parse::<u64>().ok())
                .map(|ms| ms as f64)
        });
    if let Some(at) = at {
        storage.set_alarm(wait_until(at)).await?;
    }
    Ok(())
}

/// Milliseconds from now until `at`, at least one second (an alarm in the past fires at once; a
/// second's wait lets a busy shard batch its expiries).
fn wait_until(at: f64) -> i64 {
    let now = worker::Date::now().as_millis() as f64;
    ((at - now).max(1000.0)) as i64
}

/// Deletes `keys`, [`KEYS_PER_CALL`] at a time.
pub async fn delete_all(storage: &Storage, keys: Vec<String>) -> Result<()> {
    for chunk in keys.chunks(KEYS_PER_CALL) {
        storage.delete_multiple(chunk.to_vec()).await?;
    }
    Ok(())
}

/// Deletes every key under `prefix`, a listing at a time.
pub async fn delete_under(storage: &Storage, prefix: &str) -> Result<()> {
    loop {
        let listed = storage
            .list_with_options(ListOptions::new().prefix(prefix).limit(KEYS_PER_CALL * 8))
            .await?;
        let mut keys = Vec::new();
        listed.for_each(&mut |_, key| keys.extend(key.as_string()));
        if keys.is_empty() {
            return Ok(());
        }
        delete_all(storage, keys).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_sort_by_expiry_and_carry_it() {
        let a = index_key(1_795_000_000_000.0, "dev-b");
        let b = index_key(1_795_000_000_001.0, "dev-a");
        assert!(a < b);
        assert_eq!(&a[2..17], "001795000000000");
        assert!(index_key(5.0, "z") < index_key(10.0, ""));
    }

    #[test]
    fn names_spread_over_shards_the_same_way_everywhere() {
        assert_eq!(shard_of("a", 32), shard_of("a", 32));
        let mut hit = [0usize; 16];
        for i in 0..1600 {
            hit[shard_of(&format!("device-{i}"), 16)] += 1;
        }
        assert!(hit.iter().all(|&n| n > 50), "{hit:?}");
    }
}
