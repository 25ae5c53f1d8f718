//! The registry in the records: one row per version, the newest in force, each change saying
//! who proposed it, who approved it, when, why, and the entry before and after. Providers'
//! conformance reports beside it.
//!
//! A change is saved as version `n + 1` only if `n` is still the newest: the version is the
//! primary key, so of two administrators saving at once one gets a conflict, never a lost
//! update, on PostgreSQL and SQLite alike.

use serde_json::Value;
use sqlx::Row;
use time::OffsetDateTime;
use trust_framework::RegistryFile;

use super::{Backend, Records, RecordsError, millis};

/// Why the registry changed, and by whom.
#[derive(Debug, Clone, Default)]
pub struct RegistryChange<'a> {
    /// What was done: `loaded` (from the registry file, the first time), `provider.registered`,
    /// `provider.approved`, `provider.suspended`, `service.registered`, …
    pub action: &'a str,
    /// The entry changed: a provider id, a client id or an agreement id.
    pub target: Option<&'a str>,
    pub proposed_by: Option<&'a str>,
    /// The second person, where the change needs one.
    pub approved_by: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// The entry as it was (JSON), if it existed.
    pub before: Option<Value>,
    /// The entry as it is now, if it still exists.
    pub after: Option<Value>,
}

/// One version of the registry's history, without the registry itself.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryVersion {
    pub version: u64,
    pub action: String,
    pub target: Option<String>,
    pub proposed_by: Option<String>,
    pub approved_by: Option<String>,
    pub reason: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// Unix milliseconds.
    pub at: i64,
}

/// The registry as the records keep it: the TOML of the registry file.
pub(crate) fn to_toml(file: &RegistryFile) -> Result<String, RecordsError> {
    toml::to_string(file).map_err(|e| RecordsError::Invalid(e.to_string()))
}

pub(crate) fn from_toml(text: &str) -> Result<RegistryFile, RecordsError> {
    toml::from_str(text).map_err(|e| RecordsError::Invalid(e.to_string()))
}

fn version_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn json(text: Option<String>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

impl Records {
    /// The newest version, 0 when the registry was never saved: one small read, made before
    /// each decision so that a change made on another replica applies at once.
    pub async fn registry_version(&self) -> Result<u64, RecordsError> {
        self.bounded(async {
            let row = sqlx::query("SELECT MAX(version) FROM registry_versions")
                .fetch_one(self.pool())
                .await?;
            Ok(version_of(row.try_get::<Option<i64>, _>(0)?.unwrap_or(0)))
        })
        .await
    }

    /// The registry in force and its version, if one was ever saved.
    pub async fn registry(&self) -> Result<Option<(u64, RegistryFile)>, RecordsError> {
        self.bounded(async {
            let row = sqlx::query(
                "SELECT version, registry FROM registry_versions ORDER BY version DESC LIMIT 1",
            )
            .fetch_optional(self.pool())
            .await?;
            match row {
                None => Ok(None),
                Some(row) => {
                    let version: i64 = row.try_get(0)?;
                    let text: String = row.try_get(1)?;
                    Ok(Some((version_of(version), from_toml(&text)?)))
                }
            }
        })
        .await
    }

    /// Saves `file` as the version after `expected`, with why it changed; the new version, or
    /// [`RecordsError::Conflict`] when someone saved another change since `expected`.
    pub async fn append_registry(
        &self,
        expected: u64,
        file: &RegistryFile,
        change: &RegistryChange<'_>,
        at: OffsetDateTime,
    ) -> Result<u64, RecordsError> {
        let text = to_toml(file)?;
        let version = expected + 1;
        let before = change.before.as_ref().map(Value::to_string);
        let after = change.after.as_ref().map(Value::to_string);
        self.bounded(async {
            let mut tx = self.pool().begin().await?;
            // The compare-and-set, on the log's head: whoever holds it is the only writer, and
            // a release waiting behind it sees the new version once it commits.
            let Some(leaf) = super::log::take_registry_leaf(&mut tx, expected, version).await?
            else {
                return Err(RecordsError::Conflict(expected));
            };
            let text_or_null = |v: Option<&str>| v.map_or(Value::Null, Value::from);
            let hash = super::log::leaf(
                "registry_versions",
                &[
                    ("version", i64::try_from(version).unwrap_or(i64::MAX).into()),
                    ("registry", text.as_str().into()),
                    ("action", change.action.into()),
                    ("target", text_or_null(change.target)),
                    ("proposed_by", text_or_null(change.proposed_by)),
                    ("approved_by", text_or_null(change.approved_by)),
                    ("reason", text_or_null(change.reason)),
                    ("entry_before", text_or_null(before.as_deref())),
                    ("entry_after", text_or_null(after.as_deref())),
                    ("at", millis(at).into()),
                ],
            );
            let inserted = sqlx::query(
                "INSERT INTO registry_versions \
                 (version, registry, action, target, proposed_by, approved_by, reason, \
                  entry_before, entry_after, at, leaf, leaf_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(i64::try_from(version).unwrap_or(i64::MAX))
            .bind(text.clone())
            .bind(change.action)
            .bind(change.target)
            .bind(change.proposed_by)
            .bind(change.approved_by)
            .bind(change.reason)
            .bind(before.clone())
            .bind(after.clone())
            .bind(millis(at))
            .bind(leaf)
            .bind(hash.0.to_vec())
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {
                    // Every listening replica is told when (and only if) this commits.
                    if self.backend() == Backend::Postgres {
                        sqlx::query("SELECT pg_notify($1, $2)")
                            .bind(super::notices::CHANNEL)
                            .bind(version.to_string())
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(version)
                }
                Err(e)
                    if e.as_database_error()
                        .is_some_and(|d| d.is_unique_violation()) =>
                {
                    Err(RecordsError::Conflict(expected))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// The history, newest first: of every entry, or of the entry `target` only.
    pub async fn registry_history(
        &self,
        target: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RegistryVersion>, RecordsError> {
        self.bounded(async {
            let rows = sqlx::query(
                "SELECT version, action, target, proposed_by, approved_by, reason, \
                 entry_before, entry_after, at FROM registry_versions \
                 WHERE $1 IS NULL OR target = $1 ORDER BY version DESC LIMIT $2",
            )
            .bind(target)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
            rows.into_iter()
                .map(|row| {
                    Ok(RegistryVersion {
                        version: version_of(row.try_get(0)?),
                        action: row.try_get(1)?,
                        target: row.try_get(2)?,
                        proposed_by: row.try_get(3)?,
                        approved_by: row.try_get(4)?,
                        reason: row.try_get(5)?,
                        before: json(row.try_get(6)?),
                        after: json(row.try_get(7)?),
                        at: row.try_get(8)?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(RecordsError::from)
        })
        .await
    }

    /// Keeps a provider's conformance report (JSON), newest last.
    pub async fn save_report(
        &self,
        provider_id: &str,
        passed: bool,
        report: &str,
        at: OffsetDateTime,
    ) -> Result<(), RecordsError> {
        self.bounded(async {
            sqlx::query(
                "INSERT INTO conformance_reports (provider_id, passed, report, at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(provider_id)
            .bind(i64::from(passed))
            .bind(report)
            .bind(millis(at))
            .execute(self.pool())
            .await?;
            Ok(())
        })
        .await
    }

    /// A provider's newest conformance report.
    pub async fn report(&self, provider_id: &str) -> Result<Option<String>, RecordsError> {
        self.bounded(async {
            let row = sqlx::query(
                "SELECT report FROM conformance_reports WHERE provider_id = $1 \
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(provider_id)
            .fetch_optional(self.pool())
            .await?;
            Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
        })
        .await
    }
}
