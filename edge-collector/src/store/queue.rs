//! The events queue as acceptance, delivery and redrive see it: one interface ([`Producer`] to put
//! messages on it, [`Taken`] for a message taken off it), whatever carries the messages: Cloudflare
//! Queues here ([`CloudflareQueue`], and `worker::Message` as [`Taken`]), PostgreSQL on the
//! self-hosted profile (`store::pg::queue`). The delivery code does not know which one it runs on;
//! [`crate::store::events_queue`] picks the deployment's.

use worker::{Env, Message, MessageBuilder, MessageExt, QueueRetryOptionsBuilder, Result};

use crate::bindings;

/// Which queue a batch of taken messages comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The events queue: deliver them.
    Events,
    /// The dead-letter queue: what the events queue gave up on; keep it in the ledger.
    DeadLetters,
}

impl Source {
    /// The source of a Cloudflare queue by its name.
    pub fn of(queue_name: &str) -> Source {
        if queue_name == bindings::DEAD_LETTER_QUEUE {
            Source::DeadLetters
        } else {
            Source::Events
        }
    }
}

/// A message taken off the queue for delivery. It gets exactly one of [`Taken::ack`] (done, forget
/// it) or [`Taken::retry_in`] (give it back, to be taken again later).
pub trait Taken {
    /// The message: a [`crate::message::Delivery`] as JSON text.
    fn body(&self) -> &str;
    /// The queue's id for it.
    fn id(&self) -> String;
    /// When it was first put on the queue (ms since the Unix epoch).
    fn enqueued_at_ms(&self) -> f64;
    /// Done: forget it.
    fn ack(&self);
    /// Give it back, to be taken again in `secs` seconds.
    fn retry_in(&self, secs: u32);
}

impl Taken for Message<String> {
    fn body(&self) -> &str {
        Message::<String>::body(self)
    }

    fn id(&self) -> String {
        MessageExt::id(self)
    }

    fn enqueued_at_ms(&self) -> f64 {
        self.timestamp().as_millis() as f64
    }

    fn ack(&self) {
        MessageExt::ack(self)
    }

    fn retry_in(&self, secs: u32) {
        self.retry_with_options(
            &QueueRetryOptionsBuilder::new()
                .with_delay_seconds(secs)
                .build(),
        )
    }
}

/// Puts messages on the events queue.
// The worker is single-threaded wasm: no caller needs these futures to be `Send`.
#[allow(async_fn_in_trait)]
pub trait Producer {
    /// One message, to be taken no sooner than `delay_secs` from now.
    async fn send(&self, body: String, delay_secs: u32) -> Result<()>;
    /// Several messages, in order. On failure, [`Unsent::sent`] says how many of the first are on
    /// the queue all the same (a send the platform's limits split in several calls can fail midway).
    async fn send_all(&self, bodies: Vec<String>) -> std::result::Result<(), Unsent>;
}

/// A [`Producer::send_all`] that failed after putting its first `sent` messages on the queue.
#[derive(Debug)]
pub struct Unsent {
    /// How many of the first messages were queued before the failure.
    pub sent: usize,
    /// Why the rest were not.
    pub error: worker::Error,
}

impl std::fmt::Display for Unsent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (after {} queued)", self.error, self.sent)
    }
}

impl Unsent {
    /// Nothing was queued.
    pub fn none(error: worker::Error) -> Unsent {
        Unsent { sent: 0, error }
    }
}

/// Most messages one `sendBatch` takes (Cloudflare Queues' limit).
pub const SEND_BATCH_MESSAGES: usize = 100;
/// Most bytes one `sendBatch` takes, counted as Cloudflare counts them (1 KB = 1 000 bytes), with
/// [`MESSAGE_OVERHEAD`] per message.
pub const SEND_BATCH_BYTES: usize = 256_000;
/// What Cloudflare counts per message besides its body ("up to ~100 bytes of internal metadata").
pub const MESSAGE_OVERHEAD: usize = 100;
/// Largest message body: a queue message holds 128 KB, metadata included; the rest is a margin.
pub const MAX_MESSAGE: usize = 120 * 1024;

/// Splits messages, in order, into runs one `sendBatch` takes: at most [`SEND_BATCH_MESSAGES`] and
/// [`SEND_BATCH_BYTES`] each (a message is never over [`MAX_MESSAGE`], so each run has at least one).
pub fn send_batches(bodies: &[String]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, body) in bodies.iter().enumerate() {
        let size = body.len() + MESSAGE_OVERHEAD;
        if i > start && (i - start == SEND_BATCH_MESSAGES || bytes + size > SEND_BATCH_BYTES) {
            runs.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < bodies.len() {
        runs.push(start..bodies.len());
    }
    runs
}

/// The Cloudflare Queue behind the `EVENTS` binding.
pub struct CloudflareQueue(worker::Queue);

impl CloudflareQueue {
    /// The events queue of this worker.
    pub fn events(env: &Env) -> Result<CloudflareQueue> {
        Ok(CloudflareQueue(env.queue(bindings::EVENTS)?))
    }
}

impl Producer for CloudflareQueue {
    async fn send(&self, body: String, delay_secs: u32) -> Result<()> {
        self.0
            .send(MessageBuilder::new(body).delay_seconds(delay_secs).build())
            .await
    }

    /// In as many `sendBatch` calls as the platform's limits need ([`send_batches`]), in order. If one
    /// fails, the earlier ones stay queued and say so ([`Unsent::sent`]): the collector remembers
    /// them as queued, and the tracker's resend of the batch queues only the rest.
    async fn send_all(&self, bodies: Vec<String>) -> std::result::Result<(), Unsent> {
        for run in send_batches(&bodies) {
            let sent = run.start;
            if let Err(error) = self.0.send_batch(bodies[run].to_vec()).await {
                return Err(Unsent { sent, error });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_keep_to_the_platforms_limits_and_the_order() {
        let small: Vec<String> = (0..250).map(|i| format!("{i:0>50}")).collect();
        assert_eq!(send_batches(&small), vec![0..100, 100..200, 200..250]);
        // 3.6 KB messages: 256 000 / 3 700 = 69 per send.
        let long: Vec<String> = (0..100).map(|_| "x".repeat(3600)).collect();
        assert_eq!(send_batches(&long), vec![0..69, 69..100]);
        let biggest: Vec<String> = (0..3).map(|_| "x".repeat(MAX_MESSAGE)).collect();
        assert_eq!(send_batches(&biggest), vec![0..2, 2..3]);
        assert!(send_batches(&[]).is_empty());
        for list in [&small, &long, &biggest] {
            let runs = send_batches(list);
            assert_eq!(runs.iter().map(|r| r.len()).sum::<usize>(), list.len());
            for r in runs {
                let bytes: usize = list[r.clone()]
                    .iter()
                    .map(|s| s.len() + MESSAGE_OVERHEAD)
                    .sum();
                assert!(r.len() <= SEND_BATCH_MESSAGES && bytes <= SEND_BATCH_BYTES);
            }
        }
    }
}
