//! "This wasn't me": a person's report that a disclosure in their record was not their doing.
//! One per disclosure (a second report of the same one gives back the first's reference), kept
//! for the operator to follow up through the admin API; the report's audit event, written with
//! it, puts it in the log.

use sqlx::Row;

use super::{Records, RecordsError};

/// One report, as the operator lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosureReport {
    /// Unix milliseconds.
    pub at: i64,
    /// What the person quotes when they contact the operator.
    pub reference: String,
    /// The disclosure's login.
    pub txn: String,
    pub client_id: String,
    pub provider_id: String,
    pub person_key: String,
}

impl Records {
    /// Records `report`, with the audit events waiting to be written, unless its disclosure
    /// was reported already. The reference in force: the new one, or the earlier report's.
    pub async fn report_disclosure(
        &self,
        report: &DisclosureReport,
    ) -> Result<String, RecordsError> {
        let events = self.take_pending();
        let written = self
            .bounded(async {
                let mut tx = self.pool().begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO disclosure_reports \
                     (at, reference, txn, client_id, provider_id, person_key) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (txn) DO NOTHING",
                )
                .bind(report.at)
                .bind(&report.reference)
                .bind(&report.txn)
                .bind(&report.client_id)
                .bind(&report.provider_id)
                .bind(&report.person_key)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let reference: String =
                    sqlx::query("SELECT reference FROM disclosure_reports WHERE txn = $1")
                        .bind(&report.txn)
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get(0)?;
                if !events.is_empty() {
                    let first = super::log::take_leaves(&mut tx, events.len()).await?;
                    super::audit::insert_events(&mut tx, self.backend(), &events, first).await?;
                }
                tx.commit().await?;
                Ok((reference, inserted))
            })
            .await;
        match written {
            Ok((reference, _)) => Ok(reference),
            Err(e) => {
                self.give_back(events);
                Err(e)
            }
        }
    }

    /// The reports, newest first, at most `limit`.
    pub async fn disclosure_reports(
        &self,
        limit: i64,
    ) -> Result<Vec<DisclosureReport>, RecordsError> {
        self.bounded(async {
            let rows = sqlx::query(
                "SELECT at, reference, txn, client_id, provider_id, person_key \
                 FROM disclosure_reports ORDER BY id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(DisclosureReport {
                        at: r.try_get(0)?,
                        reference: r.try_get(1)?,
                        txn: r.try_get(2)?,
                        client_id: r.try_get(3)?,
                        provider_id: r.try_get(4)?,
                        person_key: r.try_get(5)?,
                    })
                })
                .collect()
        })
        .await
    }
}
