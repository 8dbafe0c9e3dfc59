//! The events queue in PostgreSQL (table `queue`): every node puts messages on it, and every node
//! takes them off ([`claim`]) with `FOR UPDATE SKIP LOCKED`, so no two nodes take one message and none
//! waits on another. A claimed message's `due_at` moves past its lease and carries the claimer's
//! token: if the node dies, the message is due again when the lease ends. It leaves the table only
//! with its outcome ([`settle`]): deleted when acked, due again later when retried, moved to the
//! dead letters after [`MAX_TRIES`]. A message delivered and then not settled (a crash, the database
//! gone at that moment) is delivered again after its lease; Mindbox takes the event id as
//! `transactionId`, so it counts once.

use std::cell::Cell;
use std::rc::Rc;

use tokio_postgres::types::Type;
use worker::Result;

use crate::store::pg::Db;
use crate::store::queue::{Producer, Taken, Unsent};

/// Most messages one claim takes.
pub const BATCH: i64 = 50;
/// Tries before a message goes the dead-letter way (as the Cloudflare queue's `max_retries` + 1).
/// A retry that delivery puts back as a new message (with the attempt count in its body) starts over
/// here; such retries stop at the retention limit in `delivery::consumer`, as on Cloudflare.
pub const MAX_TRIES: i32 = 101;

/// The queue, as the routes and the consumer put messages on it.
pub struct PgQueue(pub Rc<Db>);

impl Producer for PgQueue {
    async fn send(&self, body: String, delay_secs: u32) -> Result<()> {
        let delay = f64::from(delay_secs) * 1000.0;
        self.0
            .execute(
                "INSERT INTO queue (body, enqueued_at, due_at) VALUES ($1, now_ms(), now_ms() + $2)",
                &[(&body, Type::TEXT), (&delay, Type::FLOAT8)],
            )
            .await
            .map(|_| ())
    }

    /// All in one statement: all are queued, or none.
    async fn send_all(&self, bodies: Vec<String>) -> std::result::Result<(), Unsent> {
        if bodies.is_empty() {
            return Ok(());
        }
        self.0
            .execute(
                "INSERT INTO queue (body, enqueued_at, due_at)
                 SELECT b, now_ms(), now_ms() FROM unnest($1::text[]) WITH ORDINALITY AS t(b, n)
                 ORDER BY n",
                &[(&bodies, Type::TEXT_ARRAY)],
            )
            .await
            .map(|_| ())
            .map_err(Unsent::none)
    }
}

/// What delivery decided for a claimed message.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Decision {
    Ack,
    Retry(u32),
}

/// A message claimed for delivery; records what delivery decided.
pub struct Claimed {
    id: i64,
    body: String,
    enqueued_at: f64,
    tries: i32,
    decision: Cell<Option<Decision>>,
}

impl Taken for Claimed {
    fn body(&self) -> &str {
        &self.body
    }

    fn id(&self) -> String {
        format!("pg-{}", self.id)
    }

    fn enqueued_at_ms(&self) -> f64 {
        self.enqueued_at
    }

    fn ack(&self) {
        self.decision.set(Some(Decision::Ack));
    }

    fn retry_in(&self, secs: u32) {
        self.decision.set(Some(Decision::Retry(secs)));
    }
}

impl Claimed {
    /// It was retried as often as a message is: it goes the dead-letter way instead.
    pub fn out_of_tries(&self) -> bool {
        self.tries >= MAX_TRIES && self.decision.get() != Some(Decision::Ack)
    }

    /// A copy for the dead-letter path, undecided.
    pub fn letter(&self) -> Claimed {
        Claimed {
            id: self.id,
            body: self.body.clone(),
            enqueued_at: self.enqueued_at,
            tries: self.tries,
            decision: Cell::new(None),
        }
    }

    /// Its row in the `queue` table.
    pub fn row(&self) -> i64 {
        self.id
    }

    /// Whether it was acked.
    pub fn acked(&self) -> bool {
        self.decision.get() == Some(Decision::Ack)
    }
}

/// Claims up to [`BATCH`] due messages for `lease_ms` under the token `lease`, oldest due first.
pub async fn claim(db: &Db, lease: &str, lease_ms: f64) -> Result<Vec<Claimed>> {
    let rows = db
        .query(
            "UPDATE queue SET due_at = now_ms() + $2, lease = $1, tries = tries + 1
             WHERE id IN (SELECT id FROM queue WHERE due_at <= now_ms() ORDER BY due_at
                          LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING id, body, enqueued_at, tries",
            &[
                (&lease, Type::TEXT),
                (&lease_ms, Type::FLOAT8),
                (&BATCH, Type::INT8),
            ],
        )
        .await?;
    let mut claimed: Vec<Claimed> = rows
        .iter()
        .map(|r| Claimed {
            id: r.get(0),
            body: r.get(1),
            enqueued_at: r.get(2),
            tries: r.get(3),
            decision: Cell::new(None),
        })
        .collect();
    claimed.sort_by_key(|c| c.id);
    Ok(claimed)
}

/// Stores the outcome of each claimed message still under `lease`: acked ones (and those in
/// `dead`, kept as dead letters by then) are deleted, retried ones are due again after their
/// delay, undecided ones at once.
pub async fn settle(db: &Db, lease: &str, claimed: &[Claimed], dead: &[i64]) -> Result<()> {
    let mut gone: Vec<i64> = dead.to_vec();
    let (mut ids, mut delays) = (Vec::new(), Vec::new());
    for c in claimed.iter().filter(|c| !dead.contains(&c.id)) {
        match c.decision.get() {
            Some(Decision::Ack) => gone.push(c.id),
            Some(Decision::Retry(secs)) => {
                ids.push(c.id);
                delays.push(f64::from(secs) * 1000.0);
            }
            None => {
                ids.push(c.id);
                delays.push(0.0);
            }
        }
    }
    if !gone.is_empty() {
        db.execute(
            "DELETE FROM queue WHERE id = ANY($1) AND lease = $2",
            &[(&gone, Type::INT8_ARRAY), (&lease, Type::TEXT)],
        )
        .await?;
    }
    if !ids.is_empty() {
        db.execute(
            "UPDATE queue SET due_at = now_ms() + d.delay, lease = NULL
             FROM unnest($1::int8[], $2::float8[]) AS d(id, delay)
             WHERE queue.id = d.id AND queue.lease = $3",
            &[
                (&ids, Type::INT8_ARRAY),
                (&delays, Type::FLOAT8_ARRAY),
                (&lease, Type::TEXT),
            ],
        )
        .await?;
    }
    Ok(())
}

/// How long until the next message is due (ms, on the database's clock), if any is queued.
pub async fn next_due(db: &Db) -> Result<Option<f64>> {
    let rows = db
        .query("SELECT greatest(min(due_at) - now_ms(), 0) FROM queue", &[])
        .await?;
    Ok(rows[0].get(0))
}

/// Extends the lease of the messages claimed under `lease` (a batch still delivering).
pub async fn renew(db: &Db, lease: &str, lease_ms: f64) -> Result<u64> {
    db.execute(
        "UPDATE queue SET due_at = now_ms() + $2 WHERE lease = $1",
        &[(&lease, Type::TEXT), (&lease_ms, Type::FLOAT8)],
    )
    .await
}

/// The queue's depth and the age of its oldest message (ms), for `/metrics`.
pub async fn depth(db: &Db) -> Result<(i64, f64)> {
    let rows = db
        .query(
            "SELECT count(*), coalesce(now_ms() - min(enqueued_at), 0) FROM queue",
            &[],
        )
        .await?;
    Ok((rows[0].get(0), rows[0].get(1)))
}
