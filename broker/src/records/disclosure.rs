//! Disclosure records: one per release to a service, committed before the service gets its
//! code. Who received which attributes of whom, under which agreement and legal basis, at
//! which level, from which provider: attribute names, never values. The person is named by
//! the service's pairwise subject and by a keyed hash of the provider and their subject there,
//! with which they can later find their own records and nobody else's.

use std::collections::BTreeSet;

use sqlx::Row;
use trust_framework::{Attribute, LegalBasis};

use super::audit::AuditRow;
use super::consent::{ConsentRow, bind_consent, insert_consent};
use super::{Backend, Records, RecordsError, names, parse_names};

/// The columns of a disclosure, in the order they are bound ([`bind_disclosure`]).
macro_rules! disclosure_columns {
    () => {
        "at, txn, client_id, agreement_id, agreement_version, legal_basis, consent, \
         provider_id, level, released, withheld, subject, person_key"
    };
}

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

/// Which of a person's disclosures to read: one service's, within a period (Unix
/// milliseconds, `from` inclusive, `to` exclusive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisclosureFilter {
    pub client_id: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
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
    /// login, and the audit events waiting to be written, all or nothing. Nothing goes to the
    /// service before this returns `Ok`.
    ///
    /// Only while the registry the release was judged by, `registry_version`, is the newest:
    /// a release judged by a registry that a change (on any replica) has since replaced is not
    /// recorded, [`RecordsError::RegistryChanged`], so that it is judged again by the new one.
    /// The check is part of the commit, so a suspension committed before it is never missed.
    ///
    /// On PostgreSQL it is one statement (one round trip, its own transaction); on SQLite, a
    /// transaction of a few.
    pub async fn commit_release(
        &self,
        disclosure: &DisclosureRow,
        consent: Option<&ConsentRow>,
        registry_version: u64,
    ) -> Result<(), RecordsError> {
        let events = self.take_pending();
        let version = i64::try_from(registry_version).unwrap_or(i64::MAX);
        let committed = self
            .bounded(async {
                match self.backend() {
                    Backend::Postgres => {
                        release_in_one_statement(self, disclosure, consent, &events, version).await
                    }
                    Backend::Sqlite => {
                        release_in_a_transaction(self, disclosure, consent, &events, version).await
                    }
                }
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

    /// The disclosures about one person (`person_key`, the keyed hash of their provider and
    /// their subject there), newest first, with their leaves in the log: what their record
    /// shows. `filter` narrows them by service and period; at most `limit`.
    pub async fn disclosures_of(
        &self,
        person_key: &str,
        filter: &DisclosureFilter,
        limit: i64,
    ) -> Result<Vec<(u64, DisclosureRow)>, RecordsError> {
        let sql = concat!(
            "SELECT ",
            disclosure_columns!(),
            ", leaf FROM disclosures WHERE person_key = $1 AND ($2 = '' OR client_id = $2) \
             AND at >= $3 AND at < $4 ORDER BY id DESC LIMIT $5"
        );
        self.bounded(async {
            let rows = sqlx::query(sql)
                .bind(person_key)
                .bind(filter.client_id.as_deref().unwrap_or(""))
                .bind(filter.from.unwrap_or(i64::MIN))
                .bind(filter.to.unwrap_or(i64::MAX))
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
            rows.iter().map(with_leaf).collect()
        })
        .await
    }

    /// The services one person's disclosures went to (client ids, each once): the record's
    /// filter names them all, whatever the filter shows.
    pub async fn services_of(&self, person_key: &str) -> Result<Vec<String>, RecordsError> {
        self.bounded(async {
            let rows =
                sqlx::query("SELECT DISTINCT client_id FROM disclosures WHERE person_key = $1")
                    .bind(person_key)
                    .fetch_all(self.pool())
                    .await?;
            rows.iter()
                .map(|r| r.try_get::<String, _>(0).map_err(RecordsError::from))
                .collect()
        })
        .await
    }

    /// The disclosure of the login `txn` with its leaf in the log, if one was recorded.
    pub async fn disclosure_with_leaf(
        &self,
        txn: &str,
    ) -> Result<Option<(u64, DisclosureRow)>, RecordsError> {
        let sql = concat!(
            "SELECT ",
            disclosure_columns!(),
            ", leaf FROM disclosures WHERE txn = $1"
        );
        self.bounded(async {
            let row = sqlx::query(sql)
                .bind(txn)
                .fetch_optional(self.pool())
                .await?;
            row.map(|row| with_leaf(&row)).transpose()
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

/// The release as one statement: its leaves taken from `log_head` while the registry version
/// there is still the one judged by, then the events, the consent record and the disclosure
/// inserted as those leaves, in that order; or nothing when the registry is newer. The lock on
/// `log_head` orders the release after every registry change committed before it, and the
/// version is read again once the lock is granted, so a change that commits while the release
/// waits is seen. Each record carries its leaf hash, the tree's level 0. Parameters: `$1` the
/// version judged by, `$2` the events with their leaf hashes ([`super::audit::events_json`]),
/// `$3`–`$15` the disclosure, then the consent record (`$16`–`$29`) and its leaf hash (`$30`)
/// when there is one, and last the disclosure's leaf hash.
macro_rules! release_head {
    ($leaves:literal) => {
        concat!(
            "WITH head AS (UPDATE log_head SET size = size + jsonb_array_length($2::JSONB) + ",
            $leaves,
            " WHERE registry_version <= $1 RETURNING size - jsonb_array_length($2::JSONB) - ",
            $leaves,
            " AS first), ",
            "events AS (INSERT INTO audit_events (leaf, at, level, event, fields, leaf_hash) ",
            "SELECT head.first + e.n - 1, (e.v->>0)::BIGINT, e.v->>1, e.v->>2, e.v->>3, ",
            "decode(e.v->>4, 'hex') ",
            "FROM head, jsonb_array_elements($2::JSONB) WITH ORDINALITY AS e(v, n) ORDER BY e.n) "
        )
    };
}

macro_rules! release_disclosure {
    ($offset:literal, $hash:literal) => {
        concat!(
            "INSERT INTO disclosures (leaf, leaf_hash, ",
            disclosure_columns!(),
            ") SELECT head.first + jsonb_array_length($2::JSONB) + ",
            $offset,
            ", ",
            $hash,
            ", $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 FROM head"
        )
    };
}

const RELEASE: &str = concat!(release_head!("1"), release_disclosure!("0", "$16"));

const RELEASE_WITH_CONSENT: &str = concat!(
    release_head!("2"),
    ", consent AS (INSERT INTO consent_records (leaf, leaf_hash, ",
    consent_columns!(),
    ") SELECT head.first + jsonb_array_length($2::JSONB), $30, ",
    "$16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29 FROM head) ",
    release_disclosure!("1", "$31")
);

async fn release_in_one_statement(
    records: &Records,
    disclosure: &DisclosureRow,
    consent: Option<&ConsentRow>,
    events: &[AuditRow],
    version: i64,
) -> Result<(), RecordsError> {
    let sql = if consent.is_some() {
        RELEASE_WITH_CONSENT
    } else {
        RELEASE
    };
    let query = sqlx::query(sql)
        .bind(version)
        .bind(super::audit::events_json(events));
    let mut query = bind_disclosure(query, disclosure);
    if let Some(consent) = consent {
        query = bind_consent(query, consent);
    }
    if let Some(consent) = consent {
        query = query.bind(super::consent::consent_leaf(consent).0.to_vec());
    }
    let query = query.bind(disclosure_leaf(disclosure).0.to_vec());
    let done = query.execute(records.pool()).await?;
    if done.rows_affected() == 0 {
        return Err(RecordsError::RegistryChanged);
    }
    Ok(())
}

async fn release_in_a_transaction(
    records: &Records,
    disclosure: &DisclosureRow,
    consent: Option<&ConsentRow>,
    events: &[AuditRow],
    version: i64,
) -> Result<(), RecordsError> {
    let mut tx = records.pool().begin().await?;
    let leaves = events.len() + usize::from(consent.is_some()) + 1;
    let Some(first) = super::log::take_leaves_while(&mut tx, leaves, version).await? else {
        return Err(RecordsError::RegistryChanged);
    };
    super::audit::insert_events(&mut tx, Backend::Sqlite, events, first).await?;
    let mut leaf = first + events.len() as i64;
    if let Some(consent) = consent {
        insert_consent(&mut tx, consent, leaf).await?;
        leaf += 1;
    }
    let sql = concat!(
        "INSERT INTO disclosures (",
        disclosure_columns!(),
        ", leaf, leaf_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    );
    bind_disclosure(sqlx::query(sql), disclosure)
        .bind(leaf)
        .bind(disclosure_leaf(disclosure).0.to_vec())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A disclosure record's leaf in the log (`records::log::leaf`): its columns as bound
/// ([`bind_disclosure`]).
fn disclosure_leaf(disclosure: &DisclosureRow) -> transparency::Hash {
    super::log::leaf(
        "disclosures",
        &[
            ("at", disclosure.at.into()),
            ("txn", disclosure.txn.as_str().into()),
            ("client_id", disclosure.client_id.as_str().into()),
            ("agreement_id", disclosure.agreement_id.as_str().into()),
            (
                "agreement_version",
                i64::from(disclosure.agreement_version).into(),
            ),
            ("legal_basis", legal_basis(disclosure.legal_basis).into()),
            ("consent", disclosure.consent.as_str().into()),
            ("provider_id", disclosure.provider_id.as_str().into()),
            ("level", disclosure.level.as_str().into()),
            ("released", names(&disclosure.released).into()),
            ("withheld", names(&disclosure.withheld).into()),
            ("subject", disclosure.subject.as_str().into()),
            ("person_key", disclosure.person_key.as_str().into()),
        ],
    )
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

fn bind_disclosure<'q>(query: Query<'q>, d: &'q DisclosureRow) -> Query<'q> {
    query
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
}

/// A disclosure read with its leaf, the column after its own.
fn with_leaf(row: &sqlx::any::AnyRow) -> Result<(u64, DisclosureRow), RecordsError> {
    let leaf: Option<i64> = row.try_get(13)?;
    let leaf = leaf
        .and_then(|l| u64::try_from(l).ok())
        .ok_or_else(|| RecordsError::Invalid("a disclosure without a leaf".into()))?;
    Ok((leaf, row_to_disclosure(row)?))
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
