//! Delivery: the queue consumer ([`consumer`]) calls Mindbox ([`mindbox`]) for each queue message
//! ([`message`]) and gives it exactly one outcome; [`failure`] says why the collector could not do
//! its part, and [`redact`] keeps personal data out of its log lines.

pub mod consumer;
pub mod failure;
pub mod message;
pub mod mindbox;
pub mod redact;
