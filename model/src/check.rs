//! Checking what arrives: a request body becomes a list of valid events and rejections.
//!
//! The collector runs it on every request. The tracker's wasm does not carry it (it would bring
//! `serde_json`): the tracker shares its limits ([`MAX_DATA_DEPTH`], through `json::parse` before a
//! call is stored) and its tests check that every batch the tracker writes passes it.
//!
//! Batch-level problems (too big, not JSON, not a batch) refuse the whole request with a
//! [`BatchError`]; event-level problems reject only that event with a [`Rejection`] naming the bad field,
//! and the other events of the batch still go through.

use std::fmt;

use serde_json::error::Category;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::event::Event;
use crate::wire::{self, Frame};
use crate::{operation, uuid};

/// Size and count caps for one request.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body, in bytes (the tracker's batches and beacons are ≤ 64 KiB).
    pub max_body_bytes: usize,
    /// Most events in one batch.
    pub max_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: wire::MAX_BATCH_BYTES,
            max_events: wire::MAX_BATCH_EVENTS,
        }
    }
}

/// What the checker allows.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Operation names a browser may send (see [`operation::DEFAULT_OPERATIONS`]).
    pub operations: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            operations: operation::parse_list(None).expect("defaults are valid"),
        }
    }
}

/// Why a whole request was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchError {
    /// The body is larger than [`Limits::max_body_bytes`].
    TooLarge {
        /// Size of the body (or a lower bound of it).
        size: usize,
        /// The cap.
        max: usize,
    },
    /// The body is not JSON at all.
    NotJson(String),
    /// JSON, but not `{"deviceUUID"?, "events": [...]}`.
    NotABatch(String),
    /// More events than [`Limits::max_events`].
    TooManyEvents {
        /// Events in the batch.
        count: usize,
        /// The cap.
        max: usize,
    },
}

impl BatchError {
    /// The HTTP status a collector answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            BatchError::TooLarge { .. } => 413,
            _ => 400,
        }
    }

    /// A short machine-readable code for counters and answers.
    pub fn code(&self) -> &'static str {
        match self {
            BatchError::TooLarge { .. } => "body_too_large",
            BatchError::NotJson(_) => "not_json",
            BatchError::NotABatch(_) => "not_a_batch",
            BatchError::TooManyEvents { .. } => "too_many_events",
        }
    }
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::TooLarge { size, max } => write!(
                f,
                "request body is {size} bytes, more than the {max}-byte cap: send fewer events per batch"
            ),
            BatchError::NotJson(e) => write!(f, "request body is not JSON ({e})"),
            BatchError::NotABatch(e) => write!(
                f,
                "request body is not a batch: expected {{\"deviceUUID\": \"…\", \"events\": [ … ]}} ({e})"
            ),
            BatchError::TooManyEvents { count, max } => write!(
                f,
                "batch has {count} events, more than the cap of {max}: split it"
            ),
        }
    }
}

impl std::error::Error for BatchError {}

/// Why one event was rejected.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    /// The event's id, when it had a readable one.
    pub id: Option<String>,
    /// A short machine-readable code for counters, e.g. `operation_not_allowed`.
    pub code: &'static str,
    /// Where the problem is, e.g. `events[2].operation`.
    pub path: String,
    /// What is wrong and what would be right.
    pub reason: String,
}

/// A request body after checking.
#[derive(Debug)]
pub struct CheckedBatch {
    /// The batch's `deviceUUID`, already checked to be a canonical UUID.
    pub device_uuid: Option<String>,
    /// The batch's `endpointId`: the Mindbox endpoint the page's snippet names, checked to look like one.
    pub endpoint_id: Option<String>,
    /// The batch's `sentAt`: the tracker's clock when it posted the batch (ms since the Unix epoch).
    /// With each event's `createdAt` (same clock) it gives the event's age, whatever the clock's error.
    pub sent_at: Option<f64>,
    /// The batch's `consent`: `true` when the page says the visitor consented (the tracker's opt-in
    /// mode); absent or `false` otherwise.
    pub consent: bool,
    /// The batch's `fresh`: `true` when the tracker says no event of it was sent before (so there is
    /// no resend to look for); absent or `false` otherwise.
    pub fresh: bool,
    /// One entry per event, in request order.
    pub events: Vec<Result<Event, Rejection>>,
}

/// Deepest nesting of an event's `data` (the collector's JSON reader refuses beyond 128 levels; the
/// tracker refuses a call deeper than this before storing it).
pub const MAX_DATA_DEPTH: usize = 64;

/// Just the id of an event whose JSON could not be read (serde skips the rest without judging it).
#[derive(serde::Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: Option<Value>,
}

/// Parses and checks a request body.
pub fn check_batch(
    body: &[u8],
    limits: &Limits,
    policy: &Policy,
) -> Result<CheckedBatch, BatchError> {
    if body.len() > limits.max_body_bytes {
        return Err(BatchError::TooLarge {
            size: body.len(),
            max: limits.max_body_bytes,
        });
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => BatchError::NotABatch("the top level is not an object".into()),
                Err(e) => BatchError::NotJson(e.to_string()),
            },
        );
    }
    let frame: Frame = serde_json::from_slice(body).map_err(|e| match e.classify() {
        Category::Data => BatchError::NotABatch(e.to_string()),
        _ => BatchError::NotJson(e.to_string()),
    })?;
    let field = |raw: Option<&RawValue>| -> Option<Value> {
        raw.and_then(|r| serde_json::from_str(r.get()).ok())
    };
    let device_uuid = match field(frame.device_uuid) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if uuid::is_canonical(&s) => Some(s),
        Some(other) => {
            return Err(BatchError::NotABatch(format!(
                "deviceUUID must be a lower-case hyphenated UUID, got {other}"
            )))
        }
    };
    let endpoint_id = match field(frame.endpoint_id) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if wire::is_endpoint_id(&s) => Some(s),
        Some(other) => {
            return Err(BatchError::NotABatch(format!(
                "endpointId must be a Mindbox endpoint id such as \"shop-website\", got {other}"
            )))
        }
    };
    let sent_at = match field(frame.sent_at) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_f64().is_some_and(|t| t >= 0.0) => n.as_f64(),
        Some(other) => {
            return Err(BatchError::NotABatch(format!(
                "sentAt must be milliseconds since the Unix epoch, got {other}"
            )))
        }
    };
    // A frame's flags: absent, `null` or `false` is off, `true` on, anything else not the page saying it.
    let flag = |raw: Option<&RawValue>, name: &str| match field(raw) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(false),
        Some(Value::Bool(true)) => Ok(true),
        Some(other) => Err(BatchError::NotABatch(format!(
            "{name} must be true or false, got {other}"
        ))),
    };
    let consent = flag(frame.consent, "consent")?;
    let fresh = flag(frame.fresh, "fresh")?;
    let Some(events) = frame.events else {
        return Err(BatchError::NotABatch("\"events\" must be an array".into()));
    };
    if events.len() > limits.max_events {
        return Err(BatchError::TooManyEvents {
            count: events.len(),
            max: limits.max_events,
        });
    }
    let mut seen: Vec<String> = Vec::with_capacity(events.len());
    let events = events
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let path = format!("events[{i}]");
            let event = match serde_json::from_str::<Value>(raw.get()) {
                Ok(v) => check_event(&path, v, policy)?,
                Err(e) => {
                    let id = serde_json::from_str::<IdOnly>(raw.get())
                        .ok()
                        .and_then(|x| match x.id {
                            Some(Value::String(s)) if uuid::is_canonical(&s) => Some(s),
                            _ => None,
                        });
                    return Err(reject(
                        id,
                        "invalid_json",
                        &path,
                        &format!("this event's JSON cannot be read ({e}): a lone surrogate (half an emoji) or nesting deeper than {MAX_DATA_DEPTH} levels"),
                    ));
                }
            };
            if seen.contains(&event.id) {
                return Err(Rejection {
                    id: Some(event.id),
                    code: "duplicate_id",
                    path: format!("events[{i}].id"),
                    reason: "the same id appears earlier in this batch".into(),
                });
            }
            seen.push(event.id.clone());
            Ok(event)
        })
        .collect();
    Ok(CheckedBatch {
        device_uuid,
        endpoint_id,
        sent_at,
        consent,
        fresh,
        events,
    })
}

/// How deeply `v` nests (a scalar is 0, `{}` is 1).
pub fn depth(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Checks one event given as JSON; `path` names it in rejections (e.g. `events[0]`).
pub fn check_event(path: &str, value: Value, policy: &Policy) -> Result<Event, Rejection> {
    let Value::Object(mut obj) = value else {
        return Err(reject(
            None,
            "invalid_event",
            path,
            "an event must be a JSON object",
        ));
    };
    let id =
        match obj.remove("id") {
            Some(Value::String(s)) if uuid::is_canonical(&s) => s,
            _ => return Err(reject(
                None,
                "invalid_id",
                &format!("{path}.id"),
                "id must be a lower-case hyphenated UUID (it becomes the Mindbox transactionId)",
            )),
        };
    let event_id = id;
    let id = Some(event_id.clone());
    let operation =
        match obj.remove("operation") {
            Some(Value::String(s)) if operation::is_valid_name(&s) => s,
            _ => return Err(reject(
                id,
                "invalid_operation",
                &format!("{path}.operation"),
                "operation must be a Mindbox operation system name such as \"Website.ViewProduct\"",
            )),
        };
    if !policy.operations.iter().any(|o| o == &operation) {
        return Err(reject(
            id,
            "operation_not_allowed",
            &format!("{path}.operation"),
            &format!("operation {operation:?} is not on this collector's allowlist"),
        ));
    }
    let data = match obj.remove("data") {
        Some(Value::Object(m)) if m.values().map(depth).max().unwrap_or(0) < MAX_DATA_DEPTH => {
            Value::Object(m)
        }
        Some(Value::Object(_)) => {
            return Err(reject(
                id,
                "too_deep",
                &format!("{path}.data"),
                &format!("data nests deeper than {MAX_DATA_DEPTH} levels"),
            ))
        }
        None => Value::Object(Map::new()),
        Some(_) => {
            return Err(reject(
                id,
                "invalid_data",
                &format!("{path}.data"),
                "data must be a JSON object (the Mindbox operation body)",
            ))
        }
    };
    let created_at = match obj.remove("createdAt") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_f64().is_some_and(|t| t >= 0.0) => n.as_f64(),
        Some(_) => {
            return Err(reject(
                id,
                "invalid_created_at",
                &format!("{path}.createdAt"),
                "createdAt must be milliseconds since the Unix epoch",
            ))
        }
    };
    if let Some(extra) = obj.keys().next() {
        return Err(reject(
            id,
            "unknown_field",
            &format!("{path}.{extra}"),
            "unknown field: an event has only id, operation, data and createdAt",
        ));
    }
    Ok(Event {
        id: event_id,
        operation,
        data,
        created_at,
    })
}

fn reject(id: Option<String>, code: &'static str, path: &str, reason: &str) -> Rejection {
    Rejection {
        id,
        code,
        path: path.to_string(),
        reason: reason.to_string(),
    }
}

impl From<Rejection> for wire::EventResult {
    fn from(r: Rejection) -> wire::EventResult {
        wire::EventResult {
            id: r.id,
            status: wire::EventStatus::Rejected,
            path: Some(r.path),
            reason: Some(r.reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
    const ID2: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

    fn check(v: Value) -> Result<CheckedBatch, BatchError> {
        check_batch(
            &serde_json::to_vec(&v).unwrap(),
            &Limits::default(),
            &Policy::default(),
        )
    }

    #[test]
    fn accepts_a_valid_batch() {
        let b = check(json!({"deviceUUID": ID, "events": [
            {"id": ID2, "operation": "Website.ViewProduct", "data": {"viewProduct": {"product": {"ids": {"website": "123"}}}}, "createdAt": 1.7e12}
        ]}))
        .unwrap();
        assert_eq!(b.device_uuid.as_deref(), Some(ID));
        let e = b.events[0].as_ref().unwrap();
        assert_eq!(e.id, ID2);
        assert_eq!(e.data["viewProduct"]["product"]["ids"]["website"], "123");
    }

    #[test]
    fn refuses_bad_bodies() {
        let p = Policy::default();
        let small = Limits {
            max_body_bytes: 10,
            max_events: 1,
        };
        assert_eq!(
            check_batch(b"{\"events\":[]}", &small, &p)
                .unwrap_err()
                .http_status(),
            413
        );
        let e = check_batch(b"nope", &Limits::default(), &p).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("not_json", 400));
        assert_eq!(check(json!([1])).unwrap_err().code(), "not_a_batch");
        assert_eq!(
            check(json!({"events": {}})).unwrap_err().code(),
            "not_a_batch"
        );
        assert_eq!(
            check(json!({"deviceUUID": "X", "events": []}))
                .unwrap_err()
                .code(),
            "not_a_batch"
        );
        // The frame's flags (`consent`, `fresh`) are booleans: a string, a number, another shape or a
        // duplicate key is not the page saying it, and another letter case is no flag at all.
        let flags = |c: &CheckedBatch| [c.consent, c.fresh];
        for (i, name) in ["consent", "fresh"].into_iter().enumerate() {
            assert!(flags(&check(json!({ name: true, "events": [] })).unwrap())[i]);
            assert!(!flags(&check(json!({ name: false, "events": [] })).unwrap())[i]);
            assert_eq!(
                flags(&check(json!({"events": []})).unwrap()),
                [false, false]
            );
            let upper = name.to_uppercase();
            assert!(!flags(&check(json!({ upper: true, "events": [] })).unwrap())[i]);
            for bad in [json!("true"), json!(1), json!({}), json!([true])] {
                assert_eq!(
                    check(json!({ name: bad, "events": [] }))
                        .unwrap_err()
                        .code(),
                    "not_a_batch"
                );
            }
            let twice = format!(r#"{{"{name}":false,"{name}":true,"events":[]}}"#);
            assert!(check_batch(twice.as_bytes(), &Limits::default(), &p).is_err());
        }
        let many: Vec<Value> = (0..101).map(|_| json!({})).collect();
        assert_eq!(
            check(json!({ "events": many })).unwrap_err(),
            BatchError::TooManyEvents {
                count: 101,
                max: 100
            }
        );
    }

    #[test]
    fn an_event_the_json_reader_refuses_costs_only_itself() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let body = format!(
            r#"{{"deviceUUID":"{ID}","sentAt":1795000000000,"events":[
                {{"id":"{ID}","operation":"Website.ViewProduct","data":{{"name":"half \ud83d emoji"}}}},
                {{"id":"{ID2}","operation":"Website.ViewProduct","data":{{"deep":{deep}}}}},
                {{"id":"8c9e6679-7425-40de-944b-e07fc1f90ae7","operation":"Website.ViewProduct","data":{{"ok":"😀 \ud83d\ude00"}}}}
            ]}}"#
        );
        let b = check_batch(body.as_bytes(), &Limits::default(), &Policy::default()).unwrap();
        assert_eq!(b.sent_at, Some(1_795_000_000_000.0));
        let first = b.events[0].as_ref().unwrap_err();
        assert_eq!(
            (first.code, first.id.as_deref()),
            ("invalid_json", Some(ID))
        );
        let second = b.events[1].as_ref().unwrap_err();
        assert_eq!(second.id.as_deref(), Some(ID2));
        assert_eq!(b.events[2].as_ref().unwrap().data["ok"], "😀 😀");
        // Deep, but within what the reader takes: refused by the model's own limit.
        let nested = format!("{}1{}", "[".repeat(70), "]".repeat(70));
        let b = check(json!({"events": [{"id": ID, "operation": "Website.ViewProduct", "data": {"x": serde_json::from_str::<Value>(&nested).unwrap()}}]})).unwrap();
        assert_eq!(b.events[0].as_ref().unwrap_err().code, "too_deep");
        assert_eq!(
            check(json!({"sentAt": "now", "events": []}))
                .unwrap_err()
                .code(),
            "not_a_batch"
        );
    }

    #[test]
    fn rejects_bad_events_by_path_and_keeps_good_ones() {
        let b = check(json!({"events": [
            {"id": ID, "operation": "Website.ViewProduct"},
            {"id": ID2, "operation": "Admin.DeleteEverything", "data": {}},
            {"id": "nope", "operation": "Website.ViewProduct"},
            {"id": ID2, "operation": "Website.ViewProduct", "data": []},
            {"id": ID2, "operation": "Website.ViewProduct", "extra": 1},
            {"id": ID, "operation": "Website.ViewProduct"},
            7,
        ]}))
        .unwrap();
        let paths: Vec<_> = b
            .events
            .iter()
            .map(|r| r.as_ref().err().map(|e| e.path.as_str()))
            .collect();
        assert_eq!(
            paths,
            vec![
                None,
                Some("events[1].operation"),
                Some("events[2].id"),
                Some("events[3].data"),
                Some("events[4].extra"),
                Some("events[5].id"),
                Some("events[6]"),
            ]
        );
        let unknown = b.events[1].as_ref().unwrap_err();
        assert!(unknown.reason.contains("allowlist"), "{}", unknown.reason);
        assert_eq!(unknown.id.as_deref(), Some(ID2));
    }
}
