//! One event as the outbox stores it and the QA API shows it: a JS object
//! `{id, operation, createdAt, data, state, attempts, lastError, reason, settledAt, replayOf}`.
//!
//! The outbox itself (IndexedDB, memory fallback) is `tracker/js/outbox.js`; this module makes the
//! records it stores and checks the ones QA imports.

use js_sys::Object;
use wasm_bindgen::JsValue;

use super::js::{get, set, text};

/// A new UUID v4 (an event id, the Mindbox transactionId) from `crypto.getRandomValues`, which works on
/// plain-http pages too, unlike `crypto.randomUUID`.
pub fn new_uuid() -> String {
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    crate::uuid::v4_from_bytes(bytes)
}

/// Where an event is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting to be sent (or being sent).
    Pending,
    /// Acknowledged by the collector.
    Sent,
    /// Refused by the collector or too big to send; never sent again by itself.
    Rejected,
}

impl State {
    /// Its name in the stored record.
    pub fn name(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sent => "sent",
            State::Rejected => "rejected",
        }
    }

    fn from_name(s: &str) -> State {
        match s {
            "sent" => State::Sent,
            "rejected" => State::Rejected,
            _ => State::Pending,
        }
    }
}

/// One event in the outbox or the history.
#[derive(Clone, PartialEq)]
pub struct Record {
    /// Event id (Mindbox transactionId).
    pub id: String,
    /// Operation name.
    pub operation: String,
    /// When the page made the call (ms).
    pub created_at: f64,
    /// The operation body, JSON text.
    pub data: String,
    /// Where it is.
    pub state: State,
    /// Failed send attempts so far.
    pub attempts: u32,
    /// The last send error.
    pub last_error: Option<String>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// When it was sent or rejected (ms).
    pub settled_at: Option<f64>,
    /// For a QA replay: the event it repeats.
    pub replay_of: Option<String>,
}

impl Record {
    /// A new pending event.
    pub fn new(id: String, operation: String, created_at: f64, data: String) -> Record {
        Record {
            id,
            operation,
            created_at,
            data,
            state: State::Pending,
            attempts: 0,
            last_error: None,
            reason: None,
            settled_at: None,
            replay_of: None,
        }
    }

    /// As a JS object (what IndexedDB stores and the QA API returns).
    pub fn to_js(&self) -> JsValue {
        let o: JsValue = Object::new().into();
        set(&o, "id", &self.id.as_str().into());
        set(&o, "operation", &self.operation.as_str().into());
        set(&o, "createdAt", &self.created_at.into());
        set(&o, "data", &self.data.as_str().into());
        set(&o, "state", &self.state.name().into());
        set(&o, "attempts", &self.attempts.into());
        let opt = |v: &Option<String>| v.as_deref().map_or(JsValue::NULL, JsValue::from_str);
        set(&o, "lastError", &opt(&self.last_error));
        set(&o, "reason", &opt(&self.reason));
        set(
            &o,
            "settledAt",
            &self.settled_at.map_or(JsValue::NULL, JsValue::from_f64),
        );
        set(&o, "replayOf", &opt(&self.replay_of));
        o
    }

    /// From a JS object written by [`Record::to_js`] (or imported by QA); `None` if it is not one.
    pub fn from_js(v: &JsValue) -> Option<Record> {
        let s = |k: &str| text(&get(v, k));
        Some(Record {
            id: s("id").filter(|i| crate::uuid::is_canonical(i))?,
            operation: s("operation").filter(|o| crate::operation::is_valid_name(o))?,
            created_at: get(v, "createdAt").as_f64()?,
            data: s("data")?,
            state: State::from_name(&s("state").unwrap_or_default()),
            attempts: get(v, "attempts").as_f64().unwrap_or(0.0) as u32,
            last_error: s("lastError"),
            reason: s("reason"),
            settled_at: get(v, "settledAt").as_f64(),
            replay_of: s("replayOf"),
        })
    }
}
