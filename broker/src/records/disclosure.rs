//! Disclosure records: one per release to a service, committed before the service gets its
//! code. Who received which attributes of whom, under which agreement and legal basis, at
//! which level, from which provider: attribute names, never values. The person is named by
//! the service's pairwise subject and by a keyed hash of the provider and their subject there,
//! with which they can later find their own records and nobody else's.

use std::collections::BTreeSet;

use sqlx::Row;
use trust_framework::{Attribute, LegalBasis};

use super::consent::{ConsentRow, insert_consent};
use super::{Records, RecordsError, names, parse_names};

/// On what the release rests, for the person who reads their record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentBasis {
    /// The person agreed on the consent page.
    Given,
    /// A consent they gave earlier and asked to be remembered.
    Remembered,
    /// A notice: the program's statute authorizes the collection; the person was told.
    Notice,
}

impl ConsentBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Given => "given",
            Self::Remembered => "remembered",
            Self::Notice => "notice",
        }
    }
}

/// One release to a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosureRow {
    /// Unix milliseconds.
    pub at: i64,
    pub txn: String,
    pub client_id: String,
    pub agreement_id: String,
    pub agreement_version: u32,
    pub legal_basis: LegalBasis,
    pub consent: ConsentBasis,
    pub provider_id: String,
    /// The level achieved (`urn:pctf:loa:N`).
    pub level: String,
    pub released: BTreeSet<Attribute>,
    pub withheld: BTreeSet<Attribute>,
    pub subject: String,
    pub person_key: String,
}

fn legal_basis(basis: LegalBasis) -> &'static str {
    match basis {
        LegalBasis::Consent => "consent",
        LegalBasis::Notice => "notice",
    }
}

impl Records {
    /// Commits a release: its disclosure record, the consent record when one was given in this
    /// login, and the audit events waiting to be written, in one transaction. Nothing goes to
    /// the service before this returns `Ok`.
    pub async fn commit_release(
        &self,
        disclosure: &DisclosureRow,
        consent: Option<&ConsentRow>,
    ) -> Result<(), RecordsError> {
        let events = self.take_pending();
        let committed = self
            .bounded(async {
                let mut tx = self.pool().begin().await?;
                super::audit::insert_events(&mut tx, &events).await?;
                if let Some(consent) = consent {
                    insert_consent(&mut tx, consent).await?;
                }
                insert_disclosure(&mut tx, disclosure).await?;
                tx.commit().await?;
                Ok(())
            })
            .await;
        if committed.is_err() {
            // Not written: the events wait for the next commit.
            self.give_back(events);
        }
        committed
    }

    /// The transactions' ids of the disclosures recorded, oldest first (for tests and audits
    /// of what was released).
    pub async fn disclosed_txns(&self) -> Result<Vec<String>, RecordsError> {
        self.bounded(async {
            let rows = sqlx::query("SELECT txn FROM disclosures ORDER BY id")
                .fetch_all(self.pool())
                .await?;
            rows.iter()
                .map(|r| r.try_get::<String, _>(0).map_err(RecordsError::from))
                .collect()
        })
        .await
    }

    /// The disclosure of the login `txn`, if one was recorded.
    pub async fn disclosure(&self, txn: &str) -> Result<Option<DisclosureRow>, RecordsError> {
        self.bounded(async {
            let row = sqlx::query(
                "SELECT at, txn, client_id, agreement_id, agreement_version, legal_basis, \
                 consent, provider_id, level, released, withheld, subject, person_key \
                 FROM disclosures WHERE txn = $1",
            )
            .bind(txn)
            .fetch_optional(self.pool())
            .await?;
            row.map(|row| row_to_disclosure(&row)).transpose()
        })
        .await
    }
}

async fn insert_disclosure(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    d: &DisclosureRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO disclosures (at, txn, client_id, agreement_id, agreement_version, \
         legal_basis, consent, provider_id, level, released, withheld, subject, person_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(d.at)
    .bind(&d.txn)
    .bind(&d.client_id)
    .bind(&d.agreement_id)
    .bind(i64::from(d.agreement_version))
    .bind(legal_basis(d.legal_basis))
    .bind(d.consent.as_str())
    .bind(&d.provider_id)
    .bind(&d.level)
    .bind(names(&d.released))
    .bind(names(&d.withheld))
    .bind(&d.subject)
    .bind(&d.person_key)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn row_to_disclosure(row: &sqlx::any::AnyRow) -> Result<DisclosureRow, RecordsError> {
    let version: i64 = row.try_get(4)?;
    let basis: String = row.try_get(5)?;
    let consent: String = row.try_get(6)?;
    Ok(DisclosureRow {
        at: row.try_get(0)?,
        txn: row.try_get(1)?,
        client_id: row.try_get(2)?,
        agreement_id: row.try_get(3)?,
        agreement_version: u32::try_from(version)
            .map_err(|_| RecordsError::Invalid(format!("agreement version {version}")))?,
        legal_basis: match basis.as_str() {
            "consent" => LegalBasis::Consent,
            "notice" => LegalBasis::Notice,
            other => return Err(RecordsError::Invalid(format!("legal basis {other:?}"))),
        },
        consent: match consent.as_str() {
            "given" => ConsentBasis::Given,
            "remembered" => ConsentBasis::Remembered,
            "notice" => ConsentBasis::Notice,
            other => return Err(RecordsError::Invalid(format!("consent {other:?}"))),
        },
        provider_id: row.try_get(7)?,
        level: row.try_get(8)?,
        released: parse_names(&row.try_get::<String, _>(9)?),
        withheld: parse_names(&row.try_get::<String, _>(10)?),
        subject: row.try_get(11)?,
        person_key: row.try_get(12)?,
    })
}
