//! Snapshot order in PostgreSQL (table `slots`): a slot is read, decided in Rust
//! ([`crate::store::snapshot_order::Slot`], on the database's clock) and written back only if
//! nobody wrote it in between (its `version`); otherwise read again. A device's slot expires after `idle_ms` unclaimed; an order's
//! slot is kept.

use tokio_postgres::types::Type;
use worker::Result;

use crate::store::pg::Db;
use crate::store::snapshot_order::{Claim, Slot, Stamp};

/// Tries before a slot that keeps changing under us counts as busy.
const TRIES: usize = 8;

/// Claims (`release: false`) or releases the slot `name` for `stamp`.
pub async fn ask(db: &Db, name: &str, stamp: &Stamp, release: bool, idle_ms: f64) -> Result<Claim> {
    let expires = (!name.starts_with("order:")).then_some(idle_ms);
    for _ in 0..TRIES {
        // The database's clock: every node judges an in-flight claim's age by the same one.
        let rows = db
            .query(
                "SELECT now_ms(), s.slot, s.version FROM (SELECT 1) AS one
                 LEFT JOIN slots s ON s.name = $1",
                &[(&name, Type::TEXT)],
            )
            .await?;
        let now: f64 = rows[0].get(0);
        let (mut slot, version): (Slot, Option<i64>) = match rows[0].get::<_, Option<String>>(1) {
            Some(text) => (
                serde_json::from_str(&text).unwrap_or_default(),
                rows[0].get(2),
            ),
            None => (Slot::default(), None),
        };
        let answer = if release {
            slot.release(&stamp.id);
            Claim::Go
        } else {
            slot.claim(stamp.clone(), now)
        };
        let text = serde_json::to_string(&slot)?;
        let written = match version {
            Some(v) => {
                db.execute(
                    "UPDATE slots SET slot = $2, version = version + 1,
                       expires_at = now_ms() + $4
                     WHERE name = $1 AND version = $3",
                    &[
                        (&name, Type::TEXT),
                        (&text, Type::TEXT),
                        (&v, Type::INT8),
                        (&expires, Type::FLOAT8),
                    ],
                )
                .await?
            }
            None => {
                db.execute(
                    "INSERT INTO slots (name, slot, version, expires_at)
                     VALUES ($1, $2, 1, now_ms() + $3) ON CONFLICT (name) DO NOTHING",
                    &[
                        (&name, Type::TEXT),
                        (&text, Type::TEXT),
                        (&expires, Type::FLOAT8),
                    ],
                )
                .await?
            }
        };
        if written == 1 {
            return Ok(answer);
        }
    }
    Ok(if release { Claim::Go } else { Claim::Busy })
}
