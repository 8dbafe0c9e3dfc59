//! Delivery: the queue consumer ([`consumer`]) calls Mindbox ([`mindbox`]) for each queue message
//! ([`crate::message`]) and gives it exactly one outcome: what an answer means and how long a retry waits
//! ([`outcome`]), what is kept as a dead letter ([`dead_letters`], with the dead-letter queue's
//! consumer), what the batch did ([`tally`]: counters and QA's notes). [`failure`] says why the
//! collector could not do its part, and [`redact`] keeps personal data out of its log lines.

pub mod consumer;
pub mod dead_letters;
pub mod failure;
pub mod mindbox;
pub mod outcome;
pub mod redact;
pub mod tally;
