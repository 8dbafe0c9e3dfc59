//! The worker's bindings and queues, by the names `wrangler.toml` gives them: the one place to look a
//! name up (a test checks that wrangler.toml declares each).

/// The events queue's producer binding.
pub const EVENTS: &str = "EVENTS";
/// The events queue (its consumer delivers to Mindbox).
pub const EVENTS_QUEUE: &str = "mindbox-edge-events";
/// The dead-letter queue: messages the events queue gave up on land there, and its consumer keeps them.
pub const DEAD_LETTER_QUEUE: &str = "mindbox-edge-dead-letters";
/// The ledger Durable Object: dead letters and counters ([`crate::store::ledger`]).
pub const LEDGER: &str = "LEDGER";
/// The per-device snapshot order Durable Object ([`crate::store::snapshot_order`]).
pub const SNAPSHOT_ORDER: &str = "SNAPSHOT_ORDER";
/// The per-device Durable Object of event ids already queued ([`crate::store::seen`]).
pub const SEEN: &str = "SEEN";
/// The per-operation Mindbox budget Durable Object ([`crate::store::rate_budget`]).
pub const RATE_BUDGET: &str = "RATE_BUDGET";
/// Attempts per key for calls an SMS code proves ([`crate::store::attempts`]).
pub const ATTEMPTS: &str = "ATTEMPTS";
/// The self-hosted profile's delivery timers (`crate::self_hosted::Pump`; not in wrangler.toml: the
/// self-hosted configuration binds it, and Cloudflare delivers from its Queues instead).
pub const PUMP: &str = "PUMP";
/// Browser events per client IP, an IPv6 client by its /64 (Workers rate limiting; a request counts
/// as many as its events, and at least one).
pub const IP_RATE_LIMIT: &str = "IP_RATE_LIMIT";
/// Browser events per device (Workers rate limiting), counted the same way.
pub const DEVICE_RATE_LIMIT: &str = "DEVICE_RATE_LIMIT";
/// New devices per client IP: a request for a device the collector keeps nothing for yet (whatever
/// cookie it brings) creates that device's state, so one address creates only so many (Workers rate
/// limiting).
pub const NEW_DEVICE_RATE_LIMIT: &str = "NEW_DEVICE_RATE_LIMIT";
/// `IP_RATE_LIMIT`'s limit per minute (wrangler.toml), which the self-hosted profile applies itself:
/// a busy office or a mobile carrier's NAT behind one address, well under Mindbox's 8 000 a minute
/// per operation.
pub const IP_LIMIT_PER_MINUTE: u32 = 3000;
/// `DEVICE_RATE_LIMIT`'s limit per minute (wrangler.toml), likewise: five events a second from one
/// shopper's browser for a minute, or three full offline batches.
pub const DEVICE_LIMIT_PER_MINUTE: u32 = 300;
/// `NEW_DEVICE_RATE_LIMIT`'s limit per minute (wrangler.toml), likewise: ten new shoppers a second
/// behind one address.
pub const NEW_DEVICE_LIMIT_PER_MINUTE: u32 = 600;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrangler_toml_declares_every_binding_and_queue() {
        let toml = include_str!("../wrangler.toml");
        for name in [
            EVENTS,
            LEDGER,
            SNAPSHOT_ORDER,
            RATE_BUDGET,
            SEEN,
            ATTEMPTS,
            IP_RATE_LIMIT,
            DEVICE_RATE_LIMIT,
            NEW_DEVICE_RATE_LIMIT,
        ] {
            assert!(
                toml.contains(&format!("\"{name}\"")),
                "wrangler.toml has no binding {name}"
            );
        }
        for (name, limit) in [
            (IP_RATE_LIMIT, IP_LIMIT_PER_MINUTE),
            (DEVICE_RATE_LIMIT, DEVICE_LIMIT_PER_MINUTE),
            (NEW_DEVICE_RATE_LIMIT, NEW_DEVICE_LIMIT_PER_MINUTE),
        ] {
            let at = toml.find(&format!("name = \"{name}\"")).unwrap();
            assert!(
                toml[at..].contains(&format!("simple = {{ limit = {limit}, period = 60 }}")),
                "wrangler.toml's {name} is not {limit} a minute"
            );
        }
        for queue in [EVENTS_QUEUE, DEAD_LETTER_QUEUE] {
            assert!(
                toml.contains(&format!("queue = \"{queue}\"")),
                "wrangler.toml has no queue {queue}"
            );
        }
    }
}
