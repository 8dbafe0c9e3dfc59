//! Storage, behind one module each: the events queue ([`queue`], its interface and Cloudflare Queues;
//! [`shard_queue`], Durable Object shards for the self-hosted profile; [`events_queue`], the one this
//! deployment has), the [`ledger`] (dead letters and
//! counters), event ids already queued per device ([`seen`], with QA's trace notes,
//! [`trace_notes`]), the snapshot
//! order ([`snapshot_order`]), Mindbox's per-minute budget ([`rate_budget`]), and what they share:
//! calling a Durable Object ([`objects`]) and forgetting expired state ([`expiry`]).

pub mod events_queue;
pub mod expiry;
pub mod ledger;
pub mod objects;
pub mod queue;
pub mod rate_budget;
pub mod seen;
pub mod shard_queue;
pub mod snapshot_order;
pub mod trace_notes;
