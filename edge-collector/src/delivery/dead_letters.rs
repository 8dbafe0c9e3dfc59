//! Dead letters: keeping what will never be delivered as it is in the ledger, with its reason, and
//! the dead-letter queue's consumer (what the queue itself gave up on).

use crate::store::Store;
use worker::Result;

use crate::delivery::outcome::wait_for_collector;
use crate::delivery::tally::{Settled, Tally};
use crate::message::Delivery;
use crate::qa_trace::{Note, TraceState};
use crate::store::ledger::{self, DeadLetter};
use crate::store::queue::Taken;

/// Mindbox answer bodies kept in a dead letter, at most.
pub const MAX_ANSWER_BYTES: usize = 2048;

/// Keeps a dead letter in the ledger, then acks; if the ledger is unreachable the message waits.
pub async fn keep_dead_letter<M: Taken>(env: &Store, message: &M, letter: &DeadLetter, key: &str) {
    match ledger::add_dead_letter(env, letter, key).await {
        Ok(()) => message.ack(),
        Err(e) => {
            worker::console_error!("dead letter {key} not kept, waiting: {e}");
            wait_for_collector(message);
        }
    }
}

/// A dead letter for a queue message that is not a [`Delivery`].
pub fn unreadable<M: Taken>(m: &M, reason: String) -> DeadLetter {
    DeadLetter {
        delivery: None,
        raw: Some(m.body().to_string()),
        reason,
        answer: None,
        dead_at: worker::Date::now().as_millis() as f64,
        key: None,
    }
}

/// The dead-letter queue's consumer: what the queue gave up on (its own `max_retries`) is kept in the
/// ledger under the event id, so redrive by id finds it; an unreadable message under its message id.
pub async fn keep_dead_letters<M: Taken>(messages: &[M], env: &Store) -> Result<()> {
    let mut tally = Tally::default();
    for m in messages {
        let (letter, key) = match Delivery::from_message(m.body()) {
            Ok(d) => {
                let reason = format!(
                    "the queue gave up after its retries ({} delivery attempts made)",
                    d.attempts
                );
                if d.trace {
                    let note = Note::of(
                        &d,
                        TraceState::DeadLettered,
                        d.attempts,
                        Some(reason.clone()),
                    );
                    tally.note(&d.device_uuid, note);
                }
                let key = d.event.id.clone();
                let letter = DeadLetter {
                    reason,
                    delivery: Some(d),
                    raw: None,
                    answer: None,
                    dead_at: worker::Date::now().as_millis() as f64,
                    key: None,
                };
                (letter, key)
            }
            Err(reason) => (unreadable(m, reason), m.id()),
        };
        keep_dead_letter(env, m, &letter, &key).await;
        tally.add(Settled::DeadLettered.counter(), 1);
    }
    tally.write(env).await;
    Ok(())
}

pub fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}
