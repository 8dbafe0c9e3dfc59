//! Attempts per key in PostgreSQL (table `attempts`): one upsert grants an attempt while the key has
//! had fewer than its limit in the window, on the database's clock (the row lock orders concurrent
//! asks from every node). Rows past their window go in the sweep.

use tokio_postgres::types::Type;
use worker::Result;

use crate::store::pg::Db;

/// The key's attempts still in the window (a time ahead of the clock by more than a window is not).
const LIVE: &str = "t > now_ms() - $3 AND t <= now_ms() + $3";

/// Takes one attempt for `key` under `limit` per `window_ms`: `None` when granted, else the seconds
/// until the oldest leaves the window.
pub async fn attempt(db: &Db, key: &str, limit: u32, window_ms: f64) -> Result<Option<u32>> {
    let limit = i64::from(limit);
    let granted = db
        .query(
            &format!(
                "INSERT INTO attempts AS a (key, times, expires_at)
                 VALUES ($1, ARRAY[now_ms()], now_ms() + $3)
                 ON CONFLICT (key) DO UPDATE
                   SET times = ARRAY(SELECT t FROM unnest(a.times) t WHERE {LIVE}) || now_ms(),
                       expires_at = now_ms() + $3
                   WHERE (SELECT count(*) FROM unnest(a.times) t WHERE {LIVE}) < $2
                 RETURNING 1"
            ),
            &[
                (&key, Type::TEXT),
                (&limit, Type::INT8),
                (&window_ms, Type::FLOAT8),
            ],
        )
        .await?;
    if !granted.is_empty() {
        return Ok(None);
    }
    let rows = db
        .query(
            &format!(
                "SELECT ceil((min(t) + $3 - now_ms()) / 1000)::float8 FROM attempts, unnest(times) t
                 WHERE key = $1 AND {LIVE} AND $2 > 0"
            ),
            &[
                (&key, Type::TEXT),
                (&limit, Type::INT8),
                (&window_ms, Type::FLOAT8),
            ],
        )
        .await?;
    let secs = rows
        .first()
        .and_then(|r| r.get::<_, Option<f64>>(0))
        .unwrap_or(1.0);
    Ok(Some(secs.max(1.0) as u32))
}

/// Gives back `key`'s newest attempt.
pub async fn refund(db: &Db, key: &str) -> Result<()> {
    db.execute(
        "UPDATE attempts SET times = (SELECT coalesce(array_agg(t ORDER BY t), '{}')
           FROM (SELECT t FROM unnest(times) t ORDER BY t DESC OFFSET 1) AS kept)
         WHERE key = $1",
        &[(&key, Type::TEXT)],
    )
    .await?;
    Ok(())
}
