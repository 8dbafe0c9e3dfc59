//! Admin routes for the team running the collector, behind `Authorization: Bearer <ADMIN_TOKEN>`:
//!
//! * `GET  /v1/admin/dead-letters[?limit=N]` — dead letters with their reasons and Mindbox's answers
//!   (`deadLetters`), and queue messages that were not events at all (`unreadable`, never redriven);
//! * `POST /v1/admin/dead-letters/redrive` — `{"ids": [...]}` or `{"all": true}`: put them back on the
//!   queue (attempts start again) and forget them;
//! * `GET  /v1/admin/health` — `{"ok", "problem"}`: which setting is wrong, if one is;
//! * `GET  /v1/admin/counters` — accepted, delivered, retried, dead_lettered, superseded, redriven,
//!   rate_limited, rejected.<code>.
//!
//! Without an `ADMIN_TOKEN` secret the routes answer 503; a wrong token gets 401. The token is compared
//! in constant time and never logged.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;
use worker::{Env, Request, Response, Result};

use crate::ledger;
use crate::queue::{EventsQueue, Producer};

fn deny(status: u16, reason: &str) -> Result<Response> {
    Ok(Response::from_json(&json!({"error": "admin", "reason": reason}))?.with_status(status))
}

#[derive(Deserialize)]
struct Redrive {
    ids: Option<Vec<String>>,
    #[serde(default)]
    all: bool,
}

/// Routes `/v1/admin/*`.
pub async fn handle(mut req: Request, env: &Env) -> Result<Response> {
    let Some(token) = env
        .secret("ADMIN_TOKEN")
        .ok()
        .map(|s| s.to_string())
        .filter(|t| !t.is_empty())
    else {
        return deny(
            503,
            "admin is off: set the ADMIN_TOKEN secret (`wrangler secret put ADMIN_TOKEN`)",
        );
    };
    let given = req.headers().get("Authorization")?.unwrap_or_default();
    let given = given.strip_prefix("Bearer ").unwrap_or("");
    if !crate::admission::same_secret(given.as_bytes(), token.as_bytes()) {
        return deny(401, "missing or wrong bearer token");
    }
    let path = req.path();
    match (req.method(), path.as_str()) {
        (worker::Method::Get, "/v1/admin/dead-letters") => {
            let limit = req
                .url()?
                .query_pairs()
                .find(|(k, _)| k == "limit")
                .and_then(|(_, v)| v.parse().ok());
            let letters = ledger::list_dead_letters(env, None, limit).await?;
            let unreadable = ledger::list_unreadable(env, limit).await?;
            Response::from_json(&json!({ "deadLetters": letters, "unreadable": unreadable }))
        }
        (worker::Method::Post, "/v1/admin/dead-letters/redrive") => {
            let body: Redrive = match req.json().await {
                Ok(b) => b,
                Err(_) => return deny(400, "body must be {\"ids\": [...]} or {\"all\": true}"),
            };
            let letters = match (body.ids, body.all) {
                (Some(ids), false) => ledger::list_dead_letters(env, Some(ids), None).await?,
                (None, true) => ledger::list_dead_letters(env, None, Some(1000)).await?,
                _ => return deny(400, "give either \"ids\" or \"all\": true"),
            };
            redrive(env, letters).await
        }
        (worker::Method::Get, "/v1/admin/health") => {
            let problem = match crate::config::Config::get(env) {
                Ok(c) => c.delivery_problem(),
                Err(e) => Some(e.to_string()),
            };
            Response::from_json(&json!({"ok": problem.is_none(), "problem": problem}))
        }
        (worker::Method::Get, "/v1/admin/counters") => {
            Response::from_json(&ledger::counters(env).await?)
        }
        _ => Response::error("unknown admin route", 404),
    }
}

async fn redrive(env: &Env, letters: Vec<ledger::DeadLetter>) -> Result<Response> {
    let queue = EventsQueue::of(env)?;
    let now = worker::Date::now().as_millis() as f64;
    let mut redriven = Vec::new();
    let mut skipped = Vec::new();
    for letter in letters {
        let key = letter.key.clone().unwrap_or_default();
        let Some(mut delivery) = letter.delivery else {
            skipped.push(key);
            continue;
        };
        delivery.attempts = 0;
        delivery.accepted_at = now;
        // One by one: a letter is forgotten only after its message is on the queue.
        queue.send(delivery.to_message(), 0).await?;
        ledger::delete_dead_letters(env, vec![key.clone()]).await?;
        redriven.push(key);
    }
    ledger::count(
        env,
        BTreeMap::from([("redriven".to_string(), redriven.len() as u64)]),
    )
    .await;
    Response::from_json(&json!({ "redriven": redriven, "skipped": skipped }))
}
