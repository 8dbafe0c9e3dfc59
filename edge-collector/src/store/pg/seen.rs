//! Per-device state in PostgreSQL: the devices kept (`devices`), their event ids already queued
//! (`seen`), and QA's trace (`traces`, `trace_notes`: notes appended as they come and merged when
//! read, [`crate::store::trace_notes::merge`]). Expired rows go in the sweep ([`super::sweep`]).

use std::collections::HashMap;

use tokio_postgres::types::Type;
use worker::Result;

use crate::store::pg::Db;
use crate::store::seen::Known;
use crate::store::trace_notes::{self, Note, Trace};

/// Which of `ids` were queued before for `device`, whether it is traced, and whether it is new.
pub async fn already_queued(db: &Db, device: &str, ids: &[String]) -> Result<Known> {
    let rows = db
        .query(
            "SELECT coalesce((SELECT array_agg(id) FROM seen
                              WHERE device = $1 AND id = ANY($2) AND expires_at > now_ms()),
                             '{}'::text[]),
                    coalesce((SELECT until > now_ms() FROM traces WHERE device = $1), false),
                    NOT EXISTS (SELECT 1 FROM devices WHERE device = $1 AND expires_at > now_ms())",
            &[(&device, Type::TEXT), (&ids, Type::TEXT_ARRAY)],
        )
        .await?;
    Ok(Known {
        seen: rows[0].get(0),
        trace: rows[0].get(1),
        new_device: rows[0].get(2),
    })
}

/// Remembers `ids` as queued for `device` for `remember_ms`, and keeps the device as long; appends
/// QA's notes.
pub async fn record(
    db: &Db,
    device: &str,
    ids: &[String],
    notes: &[Note],
    remember_ms: f64,
) -> Result<()> {
    db.execute(
        "WITH d AS (
           INSERT INTO devices AS d (device, expires_at) VALUES ($1, now_ms() + $3)
           ON CONFLICT (device) DO UPDATE SET expires_at = greatest(d.expires_at, excluded.expires_at))
         INSERT INTO seen (device, id, expires_at) SELECT $1, i, now_ms() + $3 FROM unnest($2::text[]) AS i
         ON CONFLICT (device, id) DO UPDATE SET expires_at = excluded.expires_at",
        &[
            (&device, Type::TEXT),
            (&ids, Type::TEXT_ARRAY),
            (&remember_ms, Type::FLOAT8),
        ],
    )
    .await?;
    add_notes(db, device, notes).await
}

/// Remembers `ids` as queued for `device` for `remember_ms`, in one statement, when the device is
/// kept already or its address's count in the window `window_key` this minute (counted here, only
/// for a device not kept) stays within `limit`, which creates the device; whether it was recorded.
pub async fn record_within(
    db: &Db,
    device: &str,
    ids: &[String],
    remember_ms: f64,
    window_key: &str,
    limit: u32,
) -> Result<bool> {
    let limit = limit.min(i32::MAX as u32) as i32;
    let rows = db
        .query(
            "WITH k AS (
               UPDATE devices SET expires_at = greatest(expires_at, now_ms() + $3)
               WHERE device = $1 AND expires_at > now_ms() RETURNING 1),
             w AS (
               INSERT INTO windows AS w (key, minute, used, granted)
               SELECT $4, floor(now_ms() / 60000)::int8, 1, 0 WHERE NOT EXISTS (SELECT 1 FROM k)
               ON CONFLICT (key, minute) DO UPDATE SET used = least(w.used + 1, 2000000000)
               RETURNING used),
             c AS (
               INSERT INTO devices AS d (device, expires_at)
               SELECT $1, now_ms() + $3 WHERE EXISTS (SELECT 1 FROM w WHERE used <= $5)
               ON CONFLICT (device) DO UPDATE SET expires_at = greatest(d.expires_at, excluded.expires_at)
               RETURNING 1),
             s AS (
               INSERT INTO seen (device, id, expires_at)
               SELECT $1, i, now_ms() + $3 FROM unnest($2::text[]) AS i
               WHERE EXISTS (SELECT 1 FROM k) OR EXISTS (SELECT 1 FROM c)
               ON CONFLICT (device, id) DO UPDATE SET expires_at = excluded.expires_at)
             SELECT EXISTS (SELECT 1 FROM k) OR EXISTS (SELECT 1 FROM c)",
            &[
                (&device, Type::TEXT),
                (&ids, Type::TEXT_ARRAY),
                (&remember_ms, Type::FLOAT8),
                (&window_key, Type::TEXT),
                (&limit, Type::INT4),
            ],
        )
        .await?;
    Ok(rows.first().is_some_and(|r| r.get::<_, bool>(0)))
}

/// Appends QA's notes for a traced device.
pub async fn add_notes(db: &Db, device: &str, notes: &[Note]) -> Result<()> {
    if notes.is_empty() {
        return Ok(());
    }
    let texts = notes
        .iter()
        .map(serde_json::to_string)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    db.execute(
        "INSERT INTO trace_notes (device, note) SELECT $1, n FROM unnest($2::text[]) AS n",
        &[(&device, Type::TEXT), (&texts, Type::TEXT_ARRAY)],
    )
    .await
    .map(|_| ())
}

/// Switches the trace of `device` on until `until` (0: off); the device and its notes are kept at
/// least until a day after the trace ends (or is switched off), and for `remember_ms` from now.
pub async fn switch(db: &Db, device: &str, until: f64, remember_ms: f64) -> Result<()> {
    let after = trace_notes::KEEP_AFTER_MS;
    db.execute(
        "WITH d AS (
           INSERT INTO devices AS d (device, expires_at)
           VALUES ($1, greatest(now_ms() + $3, greatest($2, now_ms()) + $4))
           ON CONFLICT (device) DO UPDATE SET expires_at = greatest(d.expires_at, excluded.expires_at))
         INSERT INTO traces AS t (device, until, keep_until)
         VALUES ($1, $2, greatest($2, now_ms()) + $4)
         ON CONFLICT (device) DO UPDATE SET until = excluded.until,
           keep_until = greatest(t.keep_until, excluded.keep_until)",
        &[
            (&device, Type::TEXT),
            (&until, Type::FLOAT8),
            (&remember_ms, Type::FLOAT8),
            (&after, Type::FLOAT8),
        ],
    )
    .await
    .map(|_| ())
}

/// The trace of `device`: until when, and its newest `keep` events' notes, newest first.
pub async fn read(db: &Db, device: &str, keep: usize) -> Result<Trace> {
    let until = db
        .query(
            "SELECT until FROM traces WHERE device = $1",
            &[(&device, Type::TEXT)],
        )
        .await?
        .first()
        .map_or(0.0, |r| r.get(0));
    let rows = db
        .query(
            "SELECT note FROM trace_notes WHERE device = $1 ORDER BY seq",
            &[(&device, Type::TEXT)],
        )
        .await?;
    let mut by_id: HashMap<String, Note> = HashMap::new();
    for r in &rows {
        if let Ok(note) = serde_json::from_str::<Note>(r.get(0)) {
            let old = by_id.remove(&note.id);
            let merged = trace_notes::merge(old, note);
            by_id.insert(merged.id.clone(), merged);
        }
    }
    let mut events: Vec<Note> = by_id.into_values().collect();
    events.sort_by(|a, b| b.at.total_cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
    events.truncate(keep);
    Ok(Trace {
        device_uuid: device.to_string(),
        until,
        events,
    })
}
