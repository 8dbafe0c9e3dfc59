//! Fixed one-minute windows in PostgreSQL (table `windows`), shared by every node: Mindbox's budget
//! per operation, and the gate's rate limits. Each ask is one upsert (the row lock orders concurrent
//! asks); windows of past minutes go in the sweep.

use tokio_postgres::types::Type;
use worker::Result;

use crate::store::pg::Db;

/// The current minute on the database's clock, as the windows count it.
const MINUTE: &str = "floor(now_ms() / 60000)::int8";

/// Grants up to `wanted` of `key`'s `limit` this minute; how many.
pub async fn grant(db: &Db, key: &str, wanted: u32, limit: u32) -> Result<u32> {
    let (wanted, limit) = (wanted as i32, limit as i32);
    let rows = db
        .query(
            &format!(
                "INSERT INTO windows AS w (key, minute, used, granted)
                 VALUES ($1, {MINUTE}, least($2, $3), least($2, $3))
                 ON CONFLICT (key, minute) DO UPDATE
                   SET used = least($3, w.used + $2), granted = greatest(0, least($3, w.used + $2) - w.used)
                 RETURNING granted"
            ),
            &[
                (&key, Type::TEXT),
                (&wanted, Type::INT4),
                (&limit, Type::INT4),
            ],
        )
        .await?;
    Ok(rows[0].get::<_, i32>(0).max(0) as u32)
}

/// Counts `cost` for `key` this minute; whether the count stays within `limit`.
pub async fn count(db: &Db, key: &str, cost: u32, limit: u32) -> Result<bool> {
    let cost = cost.min(i32::MAX as u32) as i32;
    let rows = db
        .query(
            &format!(
                "INSERT INTO windows AS w (key, minute, used, granted) VALUES ($1, {MINUTE}, $2, 0)
                 ON CONFLICT (key, minute) DO UPDATE SET used = least(w.used + $2, 2000000000)
                 RETURNING used"
            ),
            &[(&key, Type::TEXT), (&cost, Type::INT4)],
        )
        .await?;
    Ok(rows[0].get::<_, i32>(0) <= limit as i32)
}
