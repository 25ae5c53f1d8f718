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

use super::{Records, RecordsError};

/// How often waiting events are written when no release takes them.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// The most events that wait for the records.
const MAX_PENDING: usize = 100_000;

/// Rows per insert statement: within both databases' limits on bound parameters.
const CHUNK: usize = 200;

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
    pub(crate) fn queue_event(&self, row: AuditRow) {
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
                insert_events(&mut tx, &events).await?;
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

/// Inserts `events` in order, a few hundred per statement.
pub(super) async fn insert_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    events: &[AuditRow],
) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(CHUNK) {
        let mut sql = String::from("INSERT INTO audit_events (at, level, event, fields) VALUES ");
        for i in 0..chunk.len() {
            let n = i * 4;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4));
        }
        // Only placeholders are written into the statement; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            query = query.bind(e.at).bind(e.level).bind(e.event).bind(&e.fields);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}
