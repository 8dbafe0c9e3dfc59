//! The event: one call a page made, on its way to one Mindbox operation.

use serde::{Deserialize, Serialize};

/// One tracked event.
///
/// `id` is a UUID made by the tracker when the page calls it. It travels unchanged to Mindbox as the
/// `transactionId`, so a resend of the same event (a retry, a beacon followed by a normal send, a replay
/// by QA) is answered by Mindbox with `TransactionAlreadyProcessed` instead of being counted twice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Lower-case hyphenated UUID; Mindbox's `transactionId`.
    pub id: String,
    /// Mindbox operation system name, e.g. `Website.ViewProduct`.
    pub operation: String,
    /// The operation's JSON body as the page gave it (always a JSON object).
    pub data: serde_json::Value,
    /// When the page made the call, in milliseconds since the Unix epoch (the shopper's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<f64>,
}
