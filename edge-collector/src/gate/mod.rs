//! The gate: what every request passes before anything is queued or asked. [`admission`] (origin,
//! client IP, rate limits), [`body`] (size caps), [`identity`] and [`ticket`] (customer data only as a
//! ticket allows), [`sms_code`] (calls an SMS code proves), [`cors`], and [`enrich`] (what only the server knows, added to each event).

pub mod admission;
pub mod body;
pub mod cors;
pub mod enrich;
pub mod identity;
pub mod sms_code;
pub mod spelling;
pub mod ticket;
