//! Why the collector could not do its part for a message, and so what happens to the message.

use std::fmt;

/// A failure that is not Mindbox's verdict on the event. Its variant decides the message's fate in
/// [`crate::delivery::consumer`]; its text is for the log and the dead letter.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// The collector itself is broken (its configuration, a Durable Object, a binding): not the event's
    /// fault, so the message waits for the fix, minutes to an hour apart
    /// ([`crate::delivery::outcome::broken_collector_delay_secs`]), and never counts against the event.
    Collector(String),
    /// No answer from Mindbox (a connection error, a timeout): retried on the backoff schedule.
    NoAnswer(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Collector(why) => write!(f, "the collector is broken: {why}"),
            Failure::NoAnswer(why) => write!(f, "no answer from Mindbox: {why}"),
        }
    }
}

impl std::error::Error for Failure {}
