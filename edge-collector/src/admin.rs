//! Admin routes for the team running the collector, behind `Authorization: Bearer <ADMIN_TOKEN>`:
//!
//! * `GET  /v1/admin/dead-letters?ids=a,b` — the dead letters of these event ids (up to 1 000);
//! * `GET  /v1/admin/dead-letters[?limit=N][&cursor=C]` — a page of dead letters with their reasons
//!   and Mindbox's answers (`deadLetters`, at most `limit`, default and cap 1 000), `next` (the cursor
//!   of the next page, absent on the last), and on the first page the queue messages that were not
//!   events at all (`unreadable`, never redriven; `?unreadable=1` pages through those instead);
//! * `POST /v1/admin/dead-letters/redrive` — `{"ids": [...]}` or `{"all": true}`: put them back on the
//!   queue (attempts start again) and forget them; "all" takes up to 300 at a time and says `more`
//!   when there are others to call it again for;
//! * `GET  /v1/admin/health` — `{"ok", "problem"}`: which setting is wrong, if one is;
//! * `GET  /v1/admin/counters` — accepted, delivered, retried, dead_lettered, superseded, redriven,
//!   rate_limited, rejected.<code>.
//!
//! The QA page calls them from an origin on `ALLOWED_ORIGINS` (CORS, preflight included) with the token
//! QA enters. Without an `ADMIN_TOKEN` secret the routes answer 503; a wrong token gets 401. The token is compared
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

/// Letters one "redrive all" call takes: each is a queue send and a ledger delete, and an invocation's
/// subrequests are limited.
const REDRIVE_PAGE: usize = 300;

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
            let url = req.url()?;
            let param = |name: &str| {
                url.query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.to_string())
            };
            if let Some(ids) = param("ids") {
                // The letters of these event ids (the QA page asks about the events it shows).
                let ids: Vec<String> = ids
                    .split(',')
                    .map(str::trim)
                    .filter(|i| !i.is_empty())
                    .take(1000)
                    .map(String::from)
                    .collect();
                let letters = ledger::get_dead_letters(env, ids).await?;
                return Response::from_json(&json!({ "deadLetters": letters }));
            }
            let limit = param("limit").and_then(|v| v.parse().ok()).unwrap_or(1000);
            let cursor = param("cursor");
            if param("unreadable").is_some() {
                let (unreadable, next) =
                    ledger::list_dead_letters(env, true, limit, cursor.as_deref()).await?;
                return Response::from_json(&json!({ "unreadable": unreadable, "next": next }));
            }
            let (letters, next) =
                ledger::list_dead_letters(env, false, limit, cursor.as_deref()).await?;
            let mut answer = json!({ "deadLetters": letters, "next": next });
            if cursor.is_none() {
                answer["unreadable"] =
                    json!(ledger::list_dead_letters(env, true, limit, None).await?.0);
            }
            Response::from_json(&answer)
        }
        (worker::Method::Post, "/v1/admin/dead-letters/redrive") => {
            let body: Redrive = match req.json().await {
                Ok(b) => b,
                Err(_) => return deny(400, "body must be {\"ids\": [...]} or {\"all\": true}"),
            };
            let (letters, more) = match (body.ids, body.all) {
                (Some(ids), false) => (ledger::get_dead_letters(env, ids).await?, false),
                (None, true) => {
                    let (page, next) =
                        ledger::list_dead_letters(env, false, REDRIVE_PAGE, None).await?;
                    (page, next.is_some())
                }
                _ => return deny(400, "give either \"ids\" or \"all\": true"),
            };
            redrive(env, letters, more).await
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

async fn redrive(env: &Env, letters: Vec<ledger::DeadLetter>, more: bool) -> Result<Response> {
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
        ledger::delete_dead_letters(env, vec![(key.clone(), letter.dead_at)]).await?;
        redriven.push(key);
    }
    ledger::count(
        env,
        BTreeMap::from([("redriven".to_string(), redriven.len() as u64)]),
    )
    .await;
    Response::from_json(&json!({ "redriven": redriven, "skipped": skipped, "more": more }))
}
