//! Admin routes for the team running the collector, behind `Authorization: Bearer <ADMIN_TOKEN>`:
//!
//! * `GET  /v1/admin/dead-letters?ids=a,b[&device=<uuid>]` — the dead letters of these event ids (up to
//!   1 000), only that device's when `device` is given;
//! * `GET  /v1/admin/dead-letters[?limit=N][&cursor=C]` — a page of dead letters with their reasons
//!   and Mindbox's answers (`deadLetters`, at most `limit`, default and cap 1 000), `next` (the cursor
//!   of the next page, absent on the last), and on the first page the queue messages that were not
//!   events at all (`unreadable`, never redriven; `?unreadable=1` pages through those instead);
//! * `POST /v1/admin/dead-letters/redrive` — `{"ids": [...]}` (at most 1 000) or `{"all": true}`: put them back on the
//!   queue (attempts start again) and forget them; "all" takes up to 300 at a time and says `more`
//!   when there are others to call it again for;
//! * `POST /v1/admin/trace` — `{"deviceUUID", "hours"}`: QA's trace of one device ([`crate::qa_trace`])
//!   on for `hours` (default 24, at most 72; 0 switches it off); answers `{"deviceUUID", "until"}`;
//! * `GET  /v1/admin/trace?device=<uuid>` — `{"deviceUUID", "until", "events"}`: what became of that
//!   device's traced events after the collector (state, Mindbox calls, reason, when), newest first;
//! * `GET  /v1/admin/health` — `{"ok", "problem"}`: which setting is wrong, if one is, or (on the
//!   self-hosted profile) that PostgreSQL is unreachable or its schema is not this build's;
//! * `GET  /v1/admin/metrics` — Prometheus' text format ([`crate::routes::metrics`]);
//! * `GET  /v1/admin/counters` — accepted, delivered, retried, dead_lettered, superseded, redriven,
//!   rate_limited, rejected.<code>.
//!
//! Two tokens, each a secret of its own, compared in constant time and never logged:
//! * `ADMIN_TOKEN` (the operator's): every route, from a script or a terminal. A request that carries
//!   an `Origin` header (a web page's) is refused with the admin token: a page on the shop's origin
//!   runs third-party scripts that could read it, and with it every customer's dead letters.
//! * `QA_TOKEN` (what QA types into the QA page): only a device's trace (switch it, read it) and that
//!   device's dead letters (`?ids=…&device=…`, `device` required), and only for the device whose
//!   `mindboxDeviceUUID` cookie the request carries (QA's own browser); every other route is 403.
//!
//! The QA routes answer CORS (preflight included) for origins written out on `ALLOWED_ORIGINS`, never
//! for `*`. Without either secret the routes answer 503; a wrong token gets 401. Bodies are at most
//! [`MAX_BODY`].

use std::collections::BTreeMap;

use crate::store::Store;
use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response, Result};

use crate::gate::admission::bearer_is;
use crate::qa_trace::{self, Note};
use crate::store::events_queue::EventsQueue;
use crate::store::ledger;
use crate::store::queue::Producer;

/// An admin refusal `{"error": "admin", "reason"}`.
fn deny(status: u16, reason: &str) -> Result<Response> {
    Ok(Response::from_json(&json!({"error": "admin", "reason": reason}))?.with_status(status))
}

/// Largest admin request body.
pub const MAX_BODY: usize = 64 * 1024;
/// Most ids one redrive or dead-letter lookup takes.
pub const MAX_IDS: usize = 1000;

/// Who called an admin route, by the token given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// `ADMIN_TOKEN`: every route.
    Admin,
    /// `QA_TOKEN`: a device's trace and dead letters.
    Qa,
}

/// Whether `path` (with `method`) is one of the routes QA's token opens.
pub fn is_qa_route(method: &worker::Method, path: &str) -> bool {
    matches!(
        (method, path),
        (worker::Method::Get, "/v1/admin/trace")
            | (worker::Method::Post, "/v1/admin/trace")
            | (worker::Method::Get, "/v1/admin/dead-letters")
    )
}

/// Why an admin request is refused: each with its status.
#[derive(Debug)]
pub enum AdminRefusal {
    /// Neither token is set: 503.
    Off,
    /// No token, or a wrong one: 401.
    Unauthorized,
    /// The admin token in a request a browser sent: 403.
    AdminTokenFromPage,
    /// A body over [`MAX_BODY`]: 413.
    TooLarge,
    /// A body that is not what the route takes (the text says what it takes): 400.
    Unreadable(&'static str),
    /// The runtime failed.
    Runtime(worker::Error),
}

impl AdminRefusal {
    /// The answer `{"error": "admin", "reason"}` with its status (a runtime failure is the error).
    fn into_response(self) -> Result<Response> {
        let (status, reason) = match self {
            AdminRefusal::Off => (503, "admin is off: set the ADMIN_TOKEN secret (`wrangler secret put ADMIN_TOKEN`), and QA_TOKEN for the QA page"),
            AdminRefusal::Unauthorized => (401, "missing or wrong bearer token"),
            AdminRefusal::AdminTokenFromPage => (403, "the admin token is never taken from a web page (any script on it could read it): the QA page takes QA_TOKEN"),
            AdminRefusal::TooLarge => (413, "an admin request body is at most 64 KiB"),
            AdminRefusal::Unreadable(expected) => (400, expected),
            AdminRefusal::Runtime(e) => return Err(e),
        };
        deny(status, reason)
    }
}

/// The caller a request's bearer token names.
fn caller(req: &Request, env: &Store) -> std::result::Result<Caller, AdminRefusal> {
    let tokens = crate::config::Tokens::from_env(env);
    let (admin, qa) = (tokens.admin, tokens.qa);
    if admin.is_none() && qa.is_none() {
        return Err(AdminRefusal::Off);
    }
    if bearer_is(req, admin.as_ref()) {
        // Browsers send `Origin` (and `Sec-Fetch-Site`, same-origin GETs too); scripts and terminals do
        // not (Node's fetch sends `Sec-Fetch-Mode` only).
        let from_page = ["Origin", "Sec-Fetch-Site"]
            .iter()
            .any(|h| req.headers().get(h).ok().flatten().is_some());
        return if from_page {
            Err(AdminRefusal::AdminTokenFromPage)
        } else {
            Ok(Caller::Admin)
        };
    }
    if bearer_is(req, qa.as_ref()) {
        return Ok(Caller::Qa);
    }
    Err(AdminRefusal::Unauthorized)
}

/// The body of an admin request as `T`, at most [`MAX_BODY`]; `expected` says what the route takes.
async fn body<T: serde::de::DeserializeOwned>(
    req: &mut Request,
    expected: &'static str,
) -> std::result::Result<T, AdminRefusal> {
    let bytes = crate::gate::body::read_capped(req, MAX_BODY)
        .await
        .map_err(|e| match e {
            crate::gate::body::BodyError::TooLong(_) => AdminRefusal::TooLarge,
            crate::gate::body::BodyError::Runtime(e) => AdminRefusal::Runtime(e),
        })?;
    serde_json::from_slice(&bytes).map_err(|_| AdminRefusal::Unreadable(expected))
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
    mindbox_model::uuid::is_canonical(&d).then_some(d)
}

#[derive(Deserialize)]
struct Redrive {
    ids: Option<Vec<String>>,
    #[serde(default)]
    all: bool,
}

/// Routes `/v1/admin/*`.
pub async fn handle(mut req: Request, env: &Store) -> Result<Response> {
    let who = match caller(&req, env) {
        Ok(c) => c,
        Err(refused) => return refused.into_response(),
    };
    let path = req.path();
    if who == Caller::Qa && !is_qa_route(&req.method(), &path) {
        return deny(
            403,
            "QA_TOKEN opens only a device's trace and dead letters: this route takes ADMIN_TOKEN",
        );
    }
    // QA's token is for QA's own browser: the device it names must be the one whose device cookie
    // the request carries, so a token read off a page cannot follow other shoppers' devices.
    let own_device = crate::gate::enrich::cookie_device(&req);
    let not_own = |device: &str| who == Caller::Qa && own_device.as_deref() != Some(device);
    const NOT_OWN: &str = "QA_TOKEN opens only the device of the browser it comes from (its mindboxDeviceUUID cookie, sent with credentials)";
    match (req.method(), path.as_str()) {
        (worker::Method::Get, "/v1/admin/dead-letters") => {
            let url = req.url()?;
            let param = |name: &str| {
                url.query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.to_string())
            };
            let only_device = match param("device") {
                Some(d) => match device(&d) {
                    Some(d) => Some(d),
                    None => return deny(400, "device must be a device id (a UUID)"),
                },
                None => None,
            };
            if who == Caller::Qa && (only_device.is_none() || param("ids").is_none()) {
                return deny(
                    403,
                    "QA_TOKEN reads one device's dead letters: give ?ids=…&device=<deviceUUID>",
                );
            }
            if only_device.as_deref().is_some_and(not_own) {
                return deny(403, NOT_OWN);
            }
            if let Some(ids) = param("ids") {
                // The letters of these event ids (the QA page asks about the events it shows).
                let ids: Vec<String> = ids
                    .split(',')
                    .map(str::trim)
                    .filter(|i| !i.is_empty())
                    .take(MAX_IDS)
                    .map(String::from)
                    .collect();
                let mut letters = ledger::get_dead_letters(env, ids).await?;
                if let Some(d) = &only_device {
                    letters.retain(|l| l.delivery.as_ref().is_some_and(|x| &x.device_uuid == d));
                }
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
            let body: Redrive =
                match body(&mut req, "body must be {\"ids\": [...]} or {\"all\": true}").await {
                    Ok(b) => b,
                    Err(refused) => return refused.into_response(),
                };
            if body.ids.as_ref().is_some_and(|ids| ids.len() > MAX_IDS) {
                return deny(
                    400,
                    "a redrive takes at most 1000 ids: send the rest in another call",
                );
            }
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
            let expected = "body must be {\"deviceUUID\": \"…\", \"hours\": 24}";
            let body: TraceOn = match body(&mut req, expected).await {
                Ok(b) => b,
                Err(refused) => return refused.into_response(),
            };
            let Some(device) = device(&body.device_uuid) else {
                return deny(400, "deviceUUID must be a device id (a UUID)");
            };
            if not_own(&device) {
                return deny(403, NOT_OWN);
            }
            let hours = body.hours.unwrap_or(24.0);
            if !hours.is_finite() || hours < 0.0 {
                return deny(400, "hours must be a number from 0 (off) to 72");
            }
            let until = qa_trace::switch(env, &device, hours).await?;
            Response::from_json(&json!({ "deviceUUID": device, "until": until }))
        }
        (worker::Method::Get, "/v1/admin/trace") => {
            let url = req.url()?;
            let given = url.query_pairs().find(|(k, _)| k == "device");
            let Some(device) = given.and_then(|(_, v)| device(&v)) else {
                return deny(400, "give ?device=<deviceUUID>");
            };
            if not_own(&device) {
                return deny(403, NOT_OWN);
            }
            Response::from_json(&qa_trace::read(env, &device).await?)
        }
        (worker::Method::Get, "/v1/admin/health") => {
            let problem = match crate::config::Config::get(env) {
                Ok(c) => c.delivery_problem(),
                Err(e) => Some(e.to_string()),
            }
            .or_else(crate::gate::admission::client_ip_problem);
            let problem = match problem {
                Some(p) => Some(p),
                None => crate::store::state_problem(env).await,
            };
            Response::from_json(&json!({"ok": problem.is_none(), "problem": problem}))
        }
        (worker::Method::Get, "/v1/admin/metrics") => crate::routes::metrics::handle(env).await,
        (worker::Method::Get, "/v1/admin/counters") => {
            Response::from_json(&ledger::counters(env).await?)
        }
        _ => Response::error("unknown admin route", 404),
    }
}

async fn redrive(env: &Store, letters: Vec<ledger::DeadLetter>, more: bool) -> Result<Response> {
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
            let note = Note::of(&delivery, qa_trace::TraceState::Redriven, 0, None);
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
    qa_trace::note_all(env, notes).await;
    if let Some(e) = failed {
        return Err(e);
    }
    ledger::count(BTreeMap::from([(
        "redriven".to_string(),
        redriven.len() as u64,
    )]));
    Response::from_json(&json!({ "redriven": redriven, "skipped": skipped, "more": more }))
}
