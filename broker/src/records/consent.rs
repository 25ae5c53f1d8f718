//! Consent records, as the PCTF notice-and-consent criteria ask (CORG.01, CORG.02): who
//! consented (a pairwise subject, and the keyed hash that lets the person find their own
//! records), when, how, to which notice (the agreement and its version) in which language, to
//! which attributes, with what decision and expiry. Append-only: a withdrawal or an expiry is
//! a record of its own, never an update. A remembered consent is looked up here.

use std::collections::BTreeSet;

use sqlx::Row;
use time::OffsetDateTime;
use trust_framework::{Attribute, Lang};

use super::{Records, RecordsError, millis, names, parse_names};

/// What a consent record says was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentDecision {
    /// The person agreed to share.
    Given,
    /// The person refused.
    Refused,
    /// A remembered consent was taken back.
    Withdrawn,
    /// A remembered consent reached its end and was not used again.
    Expired,
}

impl ConsentDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Given => "given",
            Self::Refused => "refused",
            Self::Withdrawn => "withdrawn",
            Self::Expired => "expired",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Given, Self::Refused, Self::Withdrawn, Self::Expired]
            .into_iter()
            .find(|d| d.as_str() == text)
    }
}

/// How the decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// On the broker's notice-and-consent page.
    ConsentPage,
    /// Found past its end when a login looked it up.
    AtExpiry,
    /// By the person, on their record.
    ByThePerson,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConsentPage => "consent_page",
            Self::AtExpiry => "expiry",
            Self::ByThePerson => "by_the_person",
        }
    }
}

/// One consent record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    /// Unix milliseconds.
    pub at: i64,
    pub decision: ConsentDecision,
    pub how: String,
    /// The pairwise subject of the service's sector.
    pub subject: String,
    /// The keyed hash of the provider and the person's subject there.
    pub person_key: String,
    pub client_id: String,
    pub agreement_id: String,
    /// The notice the person saw: the agreement's version.
    pub agreement_version: u32,
    pub lang: Lang,
    pub attributes: BTreeSet<Attribute>,
    /// Remembered for the next logins to this service under this agreement version.
    pub remember: bool,
    /// When a remembered consent ends (Unix milliseconds).
    pub expires_at: Option<i64>,
    /// The login it was given in.
    pub txn: Option<String>,
    /// Why it was withdrawn.
    pub reason: Option<String>,
}

/// The columns of a consent record, in the order `row_to_consent` reads them and
/// [`bind_consent`] binds them.
macro_rules! consent_columns {
    () => {
        "at, decision, how, subject, person_key, client_id, agreement_id, agreement_version, \
         lang, attributes, remember, expires_at, txn, reason"
    };
}

#[derive(Debug, Clone, Copy)]
enum Order {
    Oldest,
    Newest,
}

/// Which consent a record is about: one person, one service, one version of one agreement.
#[derive(Debug, Clone, Copy)]
pub struct ConsentKey<'a> {
    pub subject: &'a str,
    pub client_id: &'a str,
    pub agreement_id: &'a str,
    pub agreement_version: u32,
}

impl Records {
    /// The remembered consent in force for `key` at `now`: the newest record, if it gives a
    /// consent to remember that has not ended. One that has ended gets its `expired` record
    /// now, so that the story of the consent is complete in the records.
    pub async fn remembered_consent(
        &self,
        key: ConsentKey<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<ConsentRow>, RecordsError> {
        let Some(newest) = self.newest_consent(key).await? else {
            return Ok(None);
        };
        if newest.decision != ConsentDecision::Given || !newest.remember {
            return Ok(None);
        }
        if newest.expires_at.is_some_and(|end| end > millis(now)) {
            return Ok(Some(newest));
        }
        let expired = ConsentRow {
            at: millis(now),
            decision: ConsentDecision::Expired,
            how: How::AtExpiry.as_str().to_owned(),
            remember: false,
            expires_at: None,
            txn: None,
            reason: None,
            ..newest
        };
        self.append_consent(&expired).await?;
        Ok(None)
    }

    /// Takes back the remembered consent in force for `key`, if there is one: a `withdrawn`
    /// record of its own, naming what was withdrawn and why. The next login asks again. `None`
    /// when nothing was in force (never given, not remembered, already withdrawn or ended).
    pub async fn withdraw_consent(
        &self,
        key: ConsentKey<'_>,
        now: OffsetDateTime,
        reason: Option<&str>,
    ) -> Result<Option<ConsentRow>, RecordsError> {
        self.withdraw_consent_after(key, now, reason, None).await
    }

    /// As [`Records::withdraw_consent`], naming who withdrew it: the person's fresh sign-in
    /// (its id in the audit trail, kept in the record's `txn`), which says which provider
    /// confirmed them, when and at which level (PCTF CORV.05: date, reason and who).
    pub async fn withdraw_consent_after(
        &self,
        key: ConsentKey<'_>,
        now: OffsetDateTime,
        reason: Option<&str>,
        sign_in: Option<&str>,
    ) -> Result<Option<ConsentRow>, RecordsError> {
        let Some(in_force) = self.remembered_consent(key, now).await? else {
            return Ok(None);
        };
        let withdrawn = ConsentRow {
            at: millis(now),
            decision: ConsentDecision::Withdrawn,
            how: How::ByThePerson.as_str().to_owned(),
            remember: false,
            expires_at: None,
            txn: sign_in.map(str::to_owned),
            reason: reason.map(str::to_owned),
            ..in_force
        };
        self.append_consent(&withdrawn).await?;
        Ok(Some(withdrawn))
    }

    /// The remembered consents of one person (`person_key`) in force at `now`: for each
    /// consent (service, agreement version, pairwise subject), its newest record, when that
    /// gives a consent to remember that has not ended. Newest first. An ended one is left for
    /// the next login to record as expired ([`Records::remembered_consent`]).
    pub async fn consents_in_force(
        &self,
        person_key: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<ConsentRow>, RecordsError> {
        let sql = concat!(
            "SELECT ",
            consent_columns!(),
            " FROM consent_records WHERE person_key = $1 ORDER BY id DESC"
        );
        let rows = self
            .bounded(async {
                let rows = sqlx::query(sql)
                    .bind(person_key)
                    .fetch_all(self.pool())
                    .await?;
                rows.iter()
                    .map(row_to_consent)
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        let now = millis(now);
        let mut seen = std::collections::BTreeSet::new();
        Ok(rows
            .into_iter()
            .filter(|r| {
                seen.insert((
                    r.subject.clone(),
                    r.client_id.clone(),
                    r.agreement_id.clone(),
                    r.agreement_version,
                ))
            })
            .filter(|r| {
                r.decision == ConsentDecision::Given
                    && r.remember
                    && r.expires_at.is_some_and(|end| end > now)
            })
            .collect())
    }

    /// Every consent record of one consent, oldest first: its whole story.
    pub async fn consent_history(
        &self,
        key: ConsentKey<'_>,
    ) -> Result<Vec<ConsentRow>, RecordsError> {
        self.consent_rows(key, Order::Oldest, i64::MAX).await
    }

    async fn newest_consent(
        &self,
        key: ConsentKey<'_>,
    ) -> Result<Option<ConsentRow>, RecordsError> {
        Ok(self
            .consent_rows(key, Order::Newest, 1)
            .await?
            .into_iter()
            .next())
    }

    async fn consent_rows(
        &self,
        key: ConsentKey<'_>,
        order: Order,
        limit: i64,
    ) -> Result<Vec<ConsentRow>, RecordsError> {
        let sql = match order {
            Order::Oldest => concat!(
                "SELECT ",
                consent_columns!(),
                " FROM consent_records WHERE subject = $1 AND ",
                "client_id = $2 AND agreement_id = $3 AND agreement_version = $4 ",
                "ORDER BY id ASC LIMIT $5"
            ),
            Order::Newest => concat!(
                "SELECT ",
                consent_columns!(),
                " FROM consent_records WHERE subject = $1 AND ",
                "client_id = $2 AND agreement_id = $3 AND agreement_version = $4 ",
                "ORDER BY id DESC LIMIT $5"
            ),
        };
        self.bounded(async {
            let rows = sqlx::query(sql)
                .bind(key.subject)
                .bind(key.client_id)
                .bind(key.agreement_id)
                .bind(i64::from(key.agreement_version))
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
            rows.iter().map(row_to_consent).collect()
        })
        .await
    }

    /// Appends one consent record, alone (a refusal, an expiry, a withdrawal). A consent given
    /// in a login goes with its disclosure instead ([`Records::commit_release`]).
    pub async fn append_consent(&self, row: &ConsentRow) -> Result<(), RecordsError> {
        self.bounded(async {
            let mut tx = self.pool().begin().await?;
            let leaf = super::log::take_leaves(&mut tx, 1).await?;
            insert_consent(&mut tx, row, leaf).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}

/// A consent record's leaf in the log (`records::log::leaf`): its columns as bound
/// ([`bind_consent`]).
pub(super) fn consent_leaf(row: &ConsentRow) -> transparency::Hash {
    use serde_json::Value;
    let text = |v: Option<&str>| v.map_or(Value::Null, Value::from);
    super::log::leaf(
        "consent_records",
        &[
            ("at", row.at.into()),
            ("decision", row.decision.as_str().into()),
            ("how", row.how.as_str().into()),
            ("subject", row.subject.as_str().into()),
            ("person_key", row.person_key.as_str().into()),
            ("client_id", row.client_id.as_str().into()),
            ("agreement_id", row.agreement_id.as_str().into()),
            ("agreement_version", i64::from(row.agreement_version).into()),
            ("lang", row.lang.code().into()),
            ("attributes", names(&row.attributes).into()),
            ("remember", i64::from(row.remember).into()),
            (
                "expires_at",
                row.expires_at.map_or(Value::Null, Value::from),
            ),
            ("txn", text(row.txn.as_deref())),
            ("reason", text(row.reason.as_deref())),
        ],
    )
}

/// Inserts a consent record as the leaf `leaf` (taken in `tx`).
pub(super) async fn insert_consent(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    row: &ConsentRow,
    leaf: i64,
) -> Result<(), sqlx::Error> {
    let sql = concat!(
        "INSERT INTO consent_records (",
        consent_columns!(),
        ", leaf, leaf_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16)"
    );
    bind_consent(sqlx::query(sql), row)
        .bind(leaf)
        .bind(consent_leaf(row).0.to_vec())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Binds a consent record's columns, in the order of `consent_columns!`.
pub(super) fn bind_consent<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    row: &'q ConsentRow,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(row.at)
        .bind(row.decision.as_str())
        .bind(&row.how)
        .bind(&row.subject)
        .bind(&row.person_key)
        .bind(&row.client_id)
        .bind(&row.agreement_id)
        .bind(i64::from(row.agreement_version))
        .bind(row.lang.code())
        .bind(names(&row.attributes))
        .bind(i64::from(row.remember))
        .bind(row.expires_at)
        .bind(row.txn.as_deref())
        .bind(row.reason.as_deref())
}

fn row_to_consent(row: &sqlx::any::AnyRow) -> Result<ConsentRow, RecordsError> {
    let decision: String = row.try_get(1)?;
    let lang: String = row.try_get(8)?;
    let attributes: String = row.try_get(9)?;
    let version: i64 = row.try_get(7)?;
    Ok(ConsentRow {
        at: row.try_get(0)?,
        decision: ConsentDecision::parse(&decision)
            .ok_or_else(|| RecordsError::Invalid(format!("consent decision {decision:?}")))?,
        how: row.try_get(2)?,
        subject: row.try_get(3)?,
        person_key: row.try_get(4)?,
        client_id: row.try_get(5)?,
        agreement_id: row.try_get(6)?,
        agreement_version: u32::try_from(version)
            .map_err(|_| RecordsError::Invalid(format!("agreement version {version}")))?,
        lang: Lang::negotiate([lang.as_str()]).unwrap_or_default(),
        attributes: parse_names(&attributes),
        remember: row.try_get::<i64, _>(10)? != 0,
        expires_at: row.try_get(11)?,
        txn: row.try_get(12)?,
        reason: row.try_get(13)?,
    })
}
