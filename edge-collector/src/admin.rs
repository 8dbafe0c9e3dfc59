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
//! * `POST /v1/admin/trace` — `{"deviceUUID", "hours"}`: QA's trace of one device ([`crate::trace`])
//!   on for `hours` (default 24, at most 72; 0 switches it off); answers `{"deviceUUID", "until"}`;
//! * `GET  /v1/admin/trace?device=<uuid>` — `{"deviceUUID", "until", "events"}`: what became of that
//!   device's traced events after the collector (state, Mindbox calls, reason, when), newest first;
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
use crate::trace::{self, Note};

fn deny(status: u16, reason: &str) -> Result<Response> {
    Ok(Response::from_json(&json!({"error": "admin", "reason": reason}))?.with_status(status))
}

/// Letters one "redrive all" call takes: each is a queue send and a ledger delete, and an invocation's
/// subrequests are limited.
const REDRIVE_PAGE: usize = 300;

#[derive(Deserialize)]
struct TraceOn {
    #[serde(rename = "deviceUUID")]
    device_uuid: String,
    hours: Option<f64>,
}

/// The device a trace route names, when it is a canonical device id.
fn device(given: &str) -> Option<String> {
    let d = given.trim().to_ascii_lowercase();
    mindbox_tracker::uuid::is_canonical(&d).then_some(d)
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
        (worker::Method::Post, "/v1/admin/trace") => {
            let Ok(body) = req.json::<TraceOn>().await else {
                return deny(400, "body must be {\"deviceUUID\": \"…\", \"hours\": 24}");
            };
            let Some(device) = device(&body.device_uuid) else {
                return deny(400, "deviceUUID must be a device id (a UUID)");
            };
            let hours = body.hours.unwrap_or(24.0);
            if !hours.is_finite() || hours < 0.0 {
                return deny(400, "hours must be a number from 0 (off) to 72");
            }
            let until = trace::switch(env, &device, hours).await?;
            Response::from_json(&json!({ "deviceUUID": device, "until": until }))
        }
        (worker::Method::Get, "/v1/admin/trace") => {
            let url = req.url()?;
            let given = url.query_pairs().find(|(k, _)| k == "device");
            let Some(device) = given.and_then(|(_, v)| device(&v)) else {
                return deny(400, "give ?device=<deviceUUID>");
            };
            Response::from_json(&trace::read(env, &device).await?)
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
    let mut notes = Vec::new();
    let mut failed = None;
    for letter in letters {
        let key = letter.key.clone().unwrap_or_default();
        let Some(mut delivery) = letter.delivery else {
            skipped.push(key);
            continue;
        };
        delivery.attempts = 0;
        delivery.accepted_at = now;
        // One by one: a letter is forgotten only after its message is on the queue.
        if let Err(e) = queue.send(delivery.to_message(), 0).await {
            failed = Some(e);
            break;
        }
        if delivery.trace {
            let note = Note::of(&delivery, trace::REDRIVEN, 0, None);
            notes.push((delivery.device_uuid.clone(), note));
        }
        if let Err(e) = ledger::delete_dead_letters(env, vec![(key.clone(), letter.dead_at)]).await
        {
            failed = Some(e);
            break;
        }
        redriven.push(key);
    }
    // What was put back is noted for QA's trace even when a later letter failed.
    trace::note_all(env, notes).await;
    if let Some(e) = failed {
        return Err(e);
    }
    ledger::count(
        env,
        BTreeMap::from([("redriven".to_string(), redriven.len() as u64)]),
    )
    .await;
    Response::from_json(&json!({ "redriven": redriven, "skipped": skipped, "more": more }))
}
