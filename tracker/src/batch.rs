//! The wire format between the tracker and the collector.
//!
//! Request, `POST /v1/events` (`application/json`, or `text/plain` as beacons send it):
//! `{"deviceUUID":"…","events":[{"id":"…","operation":"Website.ViewProduct","data":{…}}]}`.
//!
//! Answer: `{"deviceUUID":"…","results":[{"id":"…","status":"accepted"},{"id":"…","status":"rejected","path":"events[1].operation","reason":"…"}]}`
//! in the order of the request's events. An event answered `accepted` is durably queued; the tracker may
//! forget it. One answered `rejected` will never be accepted as it is; resending it is pointless.

use serde::{Deserialize, Serialize};

use crate::event::Event;

/// Events from one browser, sent together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// The tracker's `mindboxDeviceUUID`; the collector prefers its own cookie when it has one.
    #[serde(
        rename = "deviceUUID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub device_uuid: Option<String>,
    /// The events, oldest first.
    pub events: Vec<Event>,
}

/// The collector's answer to a [`Batch`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchAnswer {
    /// The device id the collector used (and set as its own cookie); the tracker adopts it.
    #[serde(
        rename = "deviceUUID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub device_uuid: Option<String>,
    /// One result per event, in request order.
    pub results: Vec<EventResult>,
}

/// What happened to one event of a batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventResult {
    /// The event's id, when it had a readable one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Accepted (durably queued) or rejected (never deliverable as it is).
    pub status: EventStatus,
    /// For a rejection: where in the request the problem is, e.g. `events[2].operation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// For a rejection: what is wrong and what would be right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Outcome of one event at the collector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    /// On the durable queue; the tracker may delete it.
    Accepted,
    /// Invalid; the tracker moves it to its rejected store with the reason.
    Rejected,
}
