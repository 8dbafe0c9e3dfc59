//! The ledger in PostgreSQL: dead letters (table `dead_letters`, by key, with a cap per kind) and
//! counters (table `counters`, each spread over [`COUNTER_ROWS`] rows so that concurrent writers do
//! not queue on one row; reading sums them).

use std::collections::BTreeMap;

use tokio_postgres::types::Type;
use worker::Result;

use crate::store::ledger::DeadLetter;
use crate::store::pg::Db;

/// Rows each counter is spread over.
pub const COUNTER_ROWS: i32 = 8;

/// Keeps a dead letter under `key` (a letter kept before under that key is replaced, but a browser
/// event's never replaces the shop backend's), then evicts the oldest of its kind past `cap`; how
/// many were evicted.
pub async fn add(
    db: &Db,
    letter: &DeadLetter,
    key: &str,
    backend: bool,
    cap: usize,
) -> Result<u64> {
    let text = serde_json::to_string(letter)?;
    let unreadable = letter.delivery.is_none();
    db.execute(
        "INSERT INTO dead_letters (key, backend, unreadable, dead_at, letter)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (key) DO UPDATE SET backend = excluded.backend,
           unreadable = excluded.unreadable, dead_at = excluded.dead_at, letter = excluded.letter
         WHERE excluded.backend OR NOT dead_letters.backend",
        &[
            (&key, Type::TEXT),
            (&backend, Type::BOOL),
            (&unreadable, Type::BOOL),
            (&letter.dead_at, Type::FLOAT8),
            (&text, Type::TEXT),
        ],
    )
    .await?;
    let cap = cap as i64;
    // The cap is checked on the age index: a count past `cap` means the oldest go.
    db.execute(
        "DELETE FROM dead_letters WHERE key IN (
           SELECT key FROM dead_letters WHERE backend = $1
           ORDER BY dead_at DESC, key DESC OFFSET $2)",
        &[(&backend, Type::BOOL), (&cap, Type::INT8)],
    )
    .await
}

fn letters(rows: &[tokio_postgres::Row]) -> Vec<DeadLetter> {
    rows.iter()
        .filter_map(|r| {
            let mut l: DeadLetter = serde_json::from_str(r.get(1)).ok()?;
            l.key = Some(r.get(0));
            Some(l)
        })
        .collect()
}

/// The redrivable letters with these keys.
pub async fn get(db: &Db, ids: &[String]) -> Result<Vec<DeadLetter>> {
    let rows = db
        .query(
            "SELECT key, letter FROM dead_letters WHERE key = ANY($1) AND NOT unreadable",
            &[(&ids, Type::TEXT_ARRAY)],
        )
        .await?;
    Ok(letters(&rows))
}

/// One page of letters (redrivable, or the unreadable messages), by key after `after`; and the
/// cursor of the next page, if there may be one.
pub async fn list(
    db: &Db,
    unreadable: bool,
    limit: usize,
    after: Option<&str>,
) -> Result<(Vec<DeadLetter>, Option<String>)> {
    let after = after.unwrap_or("");
    let limit = limit as i64;
    let rows = db
        .query(
            "SELECT key, letter FROM dead_letters WHERE unreadable = $1 AND key > $2
             ORDER BY key LIMIT $3",
            &[
                (&unreadable, Type::BOOL),
                (&after, Type::TEXT),
                (&limit, Type::INT8),
            ],
        )
        .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.get::<_, String>(0)))
        .flatten();
    Ok((letters(&rows), next))
}

/// Deletes each `(key, dead_at)` letter if it is still the one that died then; how many.
pub async fn delete(db: &Db, letters: &[(String, f64)]) -> Result<usize> {
    let keys: Vec<&str> = letters.iter().map(|(k, _)| k.as_str()).collect();
    let at: Vec<f64> = letters.iter().map(|(_, a)| *a).collect();
    let n = db
        .execute(
            "DELETE FROM dead_letters d USING unnest($1::text[], $2::float8[]) AS x(key, dead_at)
             WHERE d.key = x.key AND d.dead_at = x.dead_at",
            &[(&keys, Type::TEXT_ARRAY), (&at, Type::FLOAT8_ARRAY)],
        )
        .await?;
    Ok(n as usize)
}

/// Adds to counters, on one of each counter's rows picked at random.
pub async fn count(db: &Db, counts: &BTreeMap<String, u64>) -> Result<()> {
    let mut r = [0u8; 1];
    let row = match getrandom::getrandom(&mut r) {
        Ok(()) => i32::from(r[0]) % COUNTER_ROWS,
        Err(_) => 0,
    };
    let names: Vec<&str> = counts.keys().map(String::as_str).collect();
    let values: Vec<i64> = counts.values().map(|v| *v as i64).collect();
    db.execute(
        "INSERT INTO counters AS c (name, shard, value)
         SELECT n, $3, v FROM unnest($1::text[], $2::int8[]) AS x(n, v)
         ON CONFLICT (name, shard) DO UPDATE SET value = c.value + excluded.value",
        &[
            (&names, Type::TEXT_ARRAY),
            (&values, Type::INT8_ARRAY),
            (&row, Type::INT4),
        ],
    )
    .await
    .map(|_| ())
}

/// Every counter's total.
pub async fn counters(db: &Db) -> Result<BTreeMap<String, u64>> {
    let rows = db
        .query(
            "SELECT name, sum(value)::int8 FROM counters GROUP BY name",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1).max(0) as u64))
        .collect())
}
