//! The events queue of this deployment: Cloudflare Queues where the `EVENTS` binding exists, else the
//! self-hosted profile's Durable Object shards. It picks between the two implementations of
//! [`crate::store::queue`]'s interface, above both, so neither knows the other.

use worker::{Env, Result};

use crate::store::queue::{CloudflareQueue, Producer, Unsent};
use crate::store::shard_queue::ShardQueue;

/// The events queue of this deployment.
pub enum EventsQueue {
    /// Cloudflare Queues.
    Cloudflare(CloudflareQueue),
    /// Durable Object shards on local disk.
    Shards(ShardQueue),
}

impl EventsQueue {
    /// The queue this deployment has.
    pub fn of(env: &Env) -> Result<EventsQueue> {
        match CloudflareQueue::events(env) {
            Ok(q) => Ok(EventsQueue::Cloudflare(q)),
            Err(_) => Ok(EventsQueue::Shards(ShardQueue::new(env)?)),
        }
    }
}

impl Producer for EventsQueue {
    async fn send(&self, body: String, delay_secs: u32) -> Result<()> {
        match self {
            EventsQueue::Cloudflare(q) => q.send(body, delay_secs).await,
            EventsQueue::Shards(q) => q.send(body, delay_secs).await,
        }
    }

    async fn send_all(&self, bodies: Vec<String>) -> std::result::Result<(), Unsent> {
        match self {
            EventsQueue::Cloudflare(q) => q.send_all(bodies).await,
            EventsQueue::Shards(q) => q.send_all(bodies).await,
        }
    }
}
