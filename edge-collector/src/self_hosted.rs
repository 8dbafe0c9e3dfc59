//! The self-hosted profile's events queue object: messages kept by [`crate::store::shard_queue`],
//! delivered by [`crate::delivery::consumer`]. Wired here, above both, so that the queue never calls
//! the delivery code (the Cloudflare build's queue handler in `lib.rs` is the same wiring for
//! Cloudflare Queues).

use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::delivery::consumer;
use crate::store::queue::Source;
use crate::store::shard_queue::{self, ShardQueue, ShardTaken, Stored};

/// One shard of the self-hosted events queue (the `QUEUE_SHARDS` namespace).
#[durable_object(alarm)]
pub struct QueueShard {
    state: State,
    env: Env,
}

impl DurableObject for QueueShard {
    fn new(state: State, env: Env) -> Self {
        QueueShard { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        shard_queue::serve(&self.state.storage(), req).await
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        let due = shard_queue::take_due(&storage).await?;
        for (key, stored) in due.unreadable {
            if self.dead_letter(&stored).await {
                storage.delete(&key).await?;
            }
        }
        if !due.taken.is_empty() {
            let queue = ShardQueue::new(&self.env);
            consumer::handle_batch(Source::Events, &due.taken, queue.as_ref().ok(), &self.env)
                .await?;
            let mut dead = Vec::new();
            for t in due.taken.iter().filter(|t| t.out_of_tries()) {
                if self.dead_letter(&t.tried()).await {
                    dead.push(t.key().to_string());
                }
            }
            shard_queue::settle(&storage, due.taken, &dead).await?;
        }
        shard_queue::rearm(&storage).await?;
        Response::ok("")
    }
}

impl QueueShard {
    /// Keeps a message the queue gave up on in the ledger (the dead-letter consumer's path); whether
    /// it was kept.
    async fn dead_letter(&self, stored: &Stored) -> bool {
        let letter = ShardTaken::letter(stored);
        let none: Option<&ShardQueue> = None;
        let kept = consumer::handle_batch(
            Source::DeadLetters,
            std::slice::from_ref(&letter),
            none,
            &self.env,
        )
        .await;
        kept.is_ok() && letter.acked()
    }
}
