//! The ledger: a Durable Object (one instance, `ledger`) that keeps dead letters and counters.
//!
//! Dead letters are events Mindbox will never take as they are (validation errors, 4xx, retries given
//! up): each is kept with its reason and Mindbox's answer until an operator redrives it (see
//! [`crate::admin`]). Counters count what happened to events: `accepted`, `delivered`, `retried`,
//! `dead_lettered`, `superseded`, `redriven` and `rejected.<code>` for every rejection reason.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, ListOptions, Request, Response, Result, State};

use crate::message::Delivery;
use crate::objects;

/// The namespace binding in wrangler.toml.
pub const BINDING: &str = crate::bindings::LEDGER;
const NAME: &str = "ledger";

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
}

/// The ledger Durable Object.
#[durable_object(fetch)]
pub struct Ledger {
    state: State,
}

#[derive(Deserialize)]
struct Ids {
    ids: Option<Vec<String>>,
    #[serde(default)]
    limit: Option<usize>,
    /// List the unreadable messages instead of the redrivable letters.
    #[serde(default)]
    unreadable: bool,
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
                storage
                    .put(
                        &storage_key(&letter, &add.key),
                        serde_json::to_string(&letter)?,
                    )
                    .await?;
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
                let n = if keys.is_empty() {
                    0
                } else {
                    storage.delete_multiple(keys).await?
                };
                objects::json(&n)
            }
            "/counters/add" => {
                let add: BTreeMap<String, u64> = objects::body(&mut req).await?;
                let mut counters: BTreeMap<String, u64> =
                    storage.get("counters").await?.unwrap_or_default();
                for (k, v) in add {
                    *counters.entry(k).or_default() += v;
                }
                storage.put("counters", &counters).await?;
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
    async fn letters(&self, q: Ids) -> Result<Vec<DeadLetter>> {
        let storage = self.state.storage();
        let limit = q.limit.unwrap_or(1000).min(1000);
        let prefix = if q.unreadable { UNREADABLE } else { REDRIVABLE };
        let values: Vec<String> = match q.ids {
            Some(ids) => {
                let keys: Vec<String> = ids.iter().map(|id| format!("{REDRIVABLE}{id}")).collect();
                map_values(storage.get_multiple(keys).await?)
            }
            None => map_values(
                storage
                    .list_with_options(ListOptions::new().prefix(prefix).limit(limit))
                    .await?,
            ),
        };
        Ok(values
            .iter()
            .filter_map(|v| serde_json::from_str(v).ok())
            .collect())
    }
}

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

fn map_values(map: js_sys::Map) -> Vec<String> {
    let mut out = Vec::new();
    map.for_each(&mut |value, _key| {
        if let Some(s) = value.as_string() {
            out.push(s);
        }
    });
    out
}

/// Keeps a dead letter in the ledger.
pub async fn add_dead_letter(env: &Env, letter: &DeadLetter, key: &str) -> Result<()> {
    let add = AddLetter {
        key: key.to_string(),
        letter: letter.clone(),
    };
    objects::call::<_, bool>(env, BINDING, NAME, "/dead-letters/add", &add).await?;
    Ok(())
}

/// Lists dead letters that can be redriven: the given ids, or the first `limit` (at most 1000).
pub async fn list_dead_letters(
    env: &Env,
    ids: Option<Vec<String>>,
    limit: Option<usize>,
) -> Result<Vec<DeadLetter>> {
    objects::call(
        env,
        BINDING,
        NAME,
        "/dead-letters/list",
        &serde_json::json!({"ids": ids, "limit": limit}),
    )
    .await
}

/// Lists queue messages that could not be read as events (kept for a human, never redriven).
pub async fn list_unreadable(env: &Env, limit: Option<usize>) -> Result<Vec<DeadLetter>> {
    objects::call(
        env,
        BINDING,
        NAME,
        "/dead-letters/list",
        &serde_json::json!({"limit": limit, "unreadable": true}),
    )
    .await
}

/// Forgets dead letters (after they were redriven).
pub async fn delete_dead_letters(env: &Env, ids: Vec<String>) -> Result<usize> {
    objects::call(
        env,
        BINDING,
        NAME,
        "/dead-letters/delete",
        &serde_json::json!({ "ids": ids }),
    )
    .await
}

/// Adds to counters. Counting never fails a request: errors are logged and dropped.
pub async fn count(env: &Env, counts: BTreeMap<String, u64>) {
    if counts.is_empty() {
        return;
    }
    if let Err(e) = objects::call::<_, bool>(env, BINDING, NAME, "/counters/add", &counts).await {
        worker::console_error!("counters not updated: {e}");
    }
}

/// Every counter.
pub async fn counters(env: &Env) -> Result<BTreeMap<String, u64>> {
    objects::call(env, BINDING, NAME, "/counters/get", &()).await
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
}
