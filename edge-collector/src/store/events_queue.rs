//! The events queue of this deployment: Cloudflare Queues where the `EVENTS` binding exists, else
//! (the self-hosted profile) the queue in PostgreSQL. It picks between the implementations of
//! [`crate::store::queue`]'s interface, above them, so neither knows the other.

use worker::Result;

use crate::store::queue::{CloudflareQueue, Producer, Unsent};
use crate::store::Store;

/// The events queue of this deployment.
pub enum EventsQueue {
    /// Cloudflare Queues.
    Cloudflare(CloudflareQueue),
    /// The `queue` table in PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(crate::store::pg::queue::PgQueue),
}

impl EventsQueue {
    /// The queue this deployment has.
    pub fn of(store: &Store) -> Result<EventsQueue> {
        if let Some(e) = store.broken_error() {
            return Err(e);
        }
        #[cfg(feature = "postgres")]
        if let Some(db) = store.db_handle() {
            return Ok(EventsQueue::Postgres(crate::store::pg::queue::PgQueue(db)));
        }
        Ok(EventsQueue::Cloudflare(CloudflareQueue::events(store)?))
    }
}

impl Producer for EventsQueue {
    async fn send(&self, body: String, delay_secs: u32) -> Result<()> {
        match self {
            EventsQueue::Cloudflare(q) => q.send(body, delay_secs).await,
            #[cfg(feature = "postgres")]
            EventsQueue::Postgres(q) => q.send(body, delay_secs).await,
        }
    }

    async fn send_all(&self, bodies: Vec<String>) -> std::result::Result<(), Unsent> {
        match self {
            EventsQueue::Cloudflare(q) => q.send_all(bodies).await,
            #[cfg(feature = "postgres")]
            EventsQueue::Postgres(q) => q.send_all(bodies).await,
        }
    }
}
