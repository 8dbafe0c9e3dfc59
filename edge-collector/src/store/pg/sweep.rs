//! Retention in PostgreSQL, run by the nodes' delivery timers about once a minute
//! ([`crate::self_hosted`]): expired devices and their ids, idle snapshot slots, attempts past their window, traces a day after
//! they ended with their notes, notes past `TRACE_KEEP` per device, and windows of past minutes. Each
//! statement deletes at most [`CHUNK`] rows and is repeated while it finds that many, up to
//! [`ROUNDS`] times per table, so one sweep stays bounded however much expired at once; the next
//! takes the rest. Rows another node is deleting are skipped (`SKIP LOCKED`): two nodes sweeping at
//! once share the work.

use tokio_postgres::types::Type;
use worker::Result;

use crate::store::pg::Db;

/// Most rows one statement of a sweep deletes.
pub const CHUNK: i64 = 5_000;
/// Most statements per table in one sweep.
pub const ROUNDS: usize = 20;

/// Deletes what has expired; how many rows in all.
pub async fn sweep(db: &Db, trace_keep: usize) -> Result<u64> {
    let keep = (trace_keep as i64).saturating_mul(4);
    let chunk = &CHUNK;
    let mut gone = 0;
    for table in ["seen", "devices", "slots", "attempts"] {
        for _ in 0..ROUNDS {
            let n = db
                .execute(
                    &format!(
                        "DELETE FROM {table} WHERE ctid IN (
                           SELECT ctid FROM {table} WHERE expires_at < now_ms()
                           LIMIT $1 FOR UPDATE SKIP LOCKED)"
                    ),
                    &[(chunk, Type::INT8)],
                )
                .await?;
            gone += n;
            if (n as i64) < CHUNK {
                break;
            }
        }
    }
    gone += db
        .execute("DELETE FROM traces WHERE keep_until < now_ms()", &[])
        .await?;
    gone += db
        .execute(
            "DELETE FROM trace_notes WHERE seq IN (
               SELECT seq FROM trace_notes n
               WHERE NOT EXISTS (SELECT 1 FROM traces t WHERE t.device = n.device)
               LIMIT $1)",
            &[(chunk, Type::INT8)],
        )
        .await?;
    gone += db
        .execute(
            "DELETE FROM trace_notes WHERE seq IN (
               SELECT seq FROM (SELECT seq, row_number() OVER (PARTITION BY device ORDER BY seq DESC) AS n
                                FROM trace_notes) AS ranked
               WHERE n > $1 LIMIT $2)",
            &[(&keep, Type::INT8), (chunk, Type::INT8)],
        )
        .await?;
    gone += db
        .execute(
            "DELETE FROM windows WHERE minute < floor(now_ms() / 60000)::int8 - 1",
            &[],
        )
        .await?;
    Ok(gone)
}
