//! The queue message: one accepted event and everything needed to deliver it, written by
//! [`crate::routes::events`], [`crate::routes::backend`] and the admin redrive, read by
//! [`crate::delivery::consumer`] and the dead-letter consumer.
//!
//! It never holds the secret key (added at delivery time). It is JSON text: through
//! `serde-wasm-bindgen` a `serde_json::Value` object becomes a JS `Map`, which does not come back from
//! the queue as an object; text always does.

use mindbox_model::event::Event;
use serde::{Deserialize, Serialize};

use crate::gate::enrich::{event_time, Shopper};

/// One queue message: an accepted event and everything needed to deliver it, except the secret key
/// (which is added at delivery time and never stored on the queue).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// The event as the tracker sent it, checked.
    pub event: Event,
    /// Device id for Mindbox's `deviceUUID`.
    pub device_uuid: String,
    /// For `X-Customer-IP`.
    pub client_ip: Option<String>,
    /// The shopper's `User-Agent`.
    pub user_agent: Option<String>,
    /// Delivery attempts made so far (the `worker` crate exposes no attempt count, so it travels here).
    #[serde(default)]
    pub attempts: u32,
    /// When the collector accepted the event (ms since the Unix epoch); retries stop at the retention.
    pub accepted_at: f64,
    /// When the event was made, on the collector's clock (ms): see [`event_time`]. Mindbox gets it as
    /// `dateTimeOffset`, and cart and wishlist snapshots are ordered by it. (0 in messages written
    /// before it existed: then `createdAt`, else `accepted_at`, stands in.)
    #[serde(default)]
    pub at: f64,
    /// The event's place in its batch, which keeps call order where times tie.
    #[serde(default)]
    pub seq: u32,
    /// `createdAt` on the tracker's clock, only when the batch's `sentAt` vouches for it (present,
    /// and not before `createdAt`): snapshots a moment apart are ordered by it
    /// ([`crate::store::snapshot_order::Stamp::order`]). A client that sends no `sentAt` is ordered by when
    /// the collector received it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_at: Option<f64>,
    /// The shop backend's own id for the operation (`/v1/backend/operations`): the event id is the
    /// Mindbox `transactionId` made from it ([`crate::routes::backend::transaction_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_id: Option<String>,
    /// Sent by the shop's backend (`/v1/backend/operations`), not a browser: counted apart.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backend: bool,
    /// QA traces this device ([`crate::qa_trace`]): the consumer notes what becomes of the event.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trace: bool,
}

impl Delivery {
    /// Wraps an accepted event for the queue: received at `received` (ms), in a batch sent at
    /// `sent_at` (tracker clock), at place `seq` of it.
    pub fn new(
        event: Event,
        shopper: &Shopper,
        received: f64,
        sent_at: Option<f64>,
        seq: u32,
    ) -> Delivery {
        let device_at = match (event.created_at, sent_at) {
            (Some(c), Some(s)) if c <= s => Some(c),
            _ => None,
        };
        Delivery {
            at: event_time(event.created_at, sent_at, received),
            seq,
            device_at,
            backend_id: None,
            event,
            device_uuid: shopper.device_uuid.clone(),
            client_ip: shopper.client_ip.clone(),
            user_agent: shopper.user_agent.clone(),
            attempts: 0,
            accepted_at: received,
            backend: false,
            trace: false,
        }
    }

    /// When the event was made, on the collector's clock (see [`Delivery::at`]).
    pub fn made_at(&self) -> f64 {
        if self.at > 0.0 {
            self.at
        } else {
            self.event
                .created_at
                .unwrap_or(self.accepted_at)
                .min(self.accepted_at)
        }
    }

    /// The queue message: JSON text. (Through `serde-wasm-bindgen` a `serde_json::Value` object
    /// becomes a JS `Map`, which does not come back from the queue as an object; text always does.)
    pub fn to_message(&self) -> String {
        serde_json::to_string(self).expect("a Delivery always serialises")
    }

    /// Reads a queue message written by [`Delivery::to_message`].
    pub fn from_message(text: &str) -> Result<Delivery, String> {
        serde_json::from_str(text).map_err(|e| format!("unreadable queue message: {e}"))
    }
}
