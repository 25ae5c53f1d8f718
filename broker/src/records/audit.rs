//! The audit trail in the records: the events of the log lines, each with the JSON object of
//! fields its line carries (`crate::audit::Event::fields`).
//!
//! An event waits in memory for the next write: the next release's transaction takes every
//! waiting event with it, and a flush every [`FLUSH_EVERY`] writes the rest. So an event costs
//! no round trip of its own, and what a crash can lose is at most the events of that interval
//! that no release has taken yet; never one of a released login's events written before its
//! release. Should the records stay away, at most [`MAX_PENDING`] events wait; past that the
//! oldest are dropped, counted and logged, rather than the broker running out of memory.

use std::time::Duration;

use sqlx::Row;

use super::{Backend, Records, RecordsError};

/// How often waiting events are written when no release takes them.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// The most events that wait for the records.
const MAX_PENDING: usize = 100_000;

/// One audit event as the records keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Unix milliseconds.
    pub at: i64,
    pub level: &'static str,
    pub event: &'static str,
    /// The event's fields, a JSON object.
    pub fields: String,
}

impl Records {
    /// Puts an event in line for the next write.
    pub fn queue_event(&self, row: AuditRow) {
        let mut pending = self.0.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.len() >= MAX_PENDING {
            let dropped = pending.len() + 1 - MAX_PENDING;
            pending.drain(..dropped);
            crate::metrics::audit_events_dropped(dropped);
            tracing::error!(
                dropped,
                "audit events dropped: the records have not accepted a write for too long"
            );
        }
        pending.push(row);
    }

    pub(super) fn take_pending(&self) -> Vec<AuditRow> {
        std::mem::take(&mut *self.0.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts events that could not be written back in line, before any queued since.
    pub(super) fn give_back(&self, mut events: Vec<AuditRow>) {
        if events.is_empty() {
            return;
        }
        let mut pending = self.0.pending.lock().unwrap_or_else(|p| p.into_inner());
        events.append(&mut pending);
        *pending = events;
    }

    /// Writes the waiting events; how many were written.
    pub async fn flush_events(&self) -> Result<usize, RecordsError> {
        let events = self.take_pending();
        if events.is_empty() {
            return Ok(0);
        }
        let written = self
            .bounded(async {
                let mut tx = self.pool().begin().await?;
                let first = super::log::take_leaves(&mut tx, events.len()).await?;
                insert_events(&mut tx, self.backend(), &events, first).await?;
                tx.commit().await?;
                Ok(events.len())
            })
            .await;
        if written.is_err() {
            self.give_back(events);
        }
        written
    }

    /// The events written, in their order, from sequence number `after` (exclusive), at most
    /// `limit`: (sequence number, event name, fields).
    pub async fn audit_events(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, String, String)>, RecordsError> {
        self.bounded(async {
            let rows = sqlx::query(
                "SELECT seq, event, fields FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(RecordsError::from)
        })
        .await
    }
}

/// An event's leaf in the log (`records::log::leaf`).
pub(super) fn event_leaf(e: &AuditRow) -> transparency::Hash {
    super::log::leaf(
        "audit_events",
        &[
            ("at", e.at.into()),
            ("level", e.level.into()),
            ("event", e.event.into()),
            ("fields", e.fields.as_str().into()),
        ],
    )
}

/// The events per statement: one JSON array parameter each.
const CHUNK: usize = 5_000;

/// Events as one JSON array of `[at, level, event, fields, leaf hash in hex]`, the one
/// parameter of [`insert_events`]: one statement whatever their number, so one prepared
/// statement serves every write.
pub(super) fn events_json(events: &[AuditRow]) -> String {
    serde_json::Value::Array(
        events
            .iter()
            .map(|e| {
                serde_json::json!([
                    e.at,
                    e.level,
                    e.event,
                    e.fields,
                    hex::encode(event_leaf(e).0)
                ])
            })
            .collect(),
    )
    .to_string()
}

/// Inserts the events of a JSON array from [`events_json`] (bound as `$1`), in its order, as
/// the leaves from `$2` on.
const INSERT_EVENTS_POSTGRES: &str = "INSERT INTO audit_events (leaf, at, level, event, fields, leaf_hash) \
     SELECT $2 + e.n - 1, (e.v->>0)::BIGINT, e.v->>1, e.v->>2, e.v->>3, decode(e.v->>4, 'hex') \
     FROM jsonb_array_elements($1::JSONB) WITH ORDINALITY AS e(v, n) ORDER BY e.n";
const INSERT_EVENTS_SQLITE: &str = "INSERT INTO audit_events (leaf, at, level, event, fields, leaf_hash) \
     SELECT $2 + key, value->>0, value->>1, value->>2, value->>3, unhex(value->>4) \
     FROM json_each($1) ORDER BY key";

/// Inserts `events` in order, thousands per statement, as the leaves from `first` on (taken
/// in `tx` by [`super::log::take_leaves`]).
pub(super) async fn insert_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    events: &[AuditRow],
    first: i64,
) -> Result<(), sqlx::Error> {
    let sql = match backend {
        Backend::Postgres => INSERT_EVENTS_POSTGRES,
        Backend::Sqlite => INSERT_EVENTS_SQLITE,
    };
    let mut leaf = first;
    for chunk in events.chunks(CHUNK) {
        sqlx::query(sql)
            .bind(events_json(chunk))
            .bind(leaf)
            .execute(&mut **tx)
            .await?;
        leaf += chunk.len() as i64;
    }
    Ok(())
}
