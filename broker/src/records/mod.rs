//! The system of record: what must outlive a login. The registry and every change to it,
//! providers' conformance reports, consent records, one disclosure record per release, and the
//! audit trail, in PostgreSQL (`[records] url`) or, for the embedded default, in SQLite
//! through the same queries (a file under the data directory, or in memory for the demo).
//!
//! Nothing here lives in the state store: Redis keeps only what may be lost (`crate::store`).
//! The schema is the checked-in migrations of `broker/migrations/`, brought up to date when the
//! records are opened (`broker serve`, `broker migrate`); a schema newer than this binary is
//! refused rather than written to. Every call is bounded by the records' timeout, so a slow or
//! absent database makes a request fail closed in a known time, and service resumes by itself
//! when it returns (the pool opens new connections).

mod audit;
#[macro_use]
mod consent;
mod disclosure;
mod log;
mod notices;
pub(crate) mod registry;
mod reports;

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::MigrateError;
use sqlx::{AnyPool, Error as SqlxError};

use crate::budget::Waiting;

pub use audit::{AuditRow, FLUSH_EVERY};
pub use consent::{ConsentDecision, ConsentKey, ConsentRow, How};
pub use disclosure::{ConsentBasis, DisclosureFilter, DisclosureRow};
pub use log::{LogRecord, StoredCheckpoint, StoredCosignature};
pub use registry::{RegistryChange, RegistryVersion};
pub use reports::DisclosureReport;

/// The migrations of each database, checked in.
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordsError {
    #[error("the records are unavailable: {0}")]
    Unavailable(String),
    #[error("the records did not answer within {0} ms")]
    Timeout(u128),
    #[error("the registry was changed by someone else (version {0}); reload and try again")]
    Conflict(u64),
    /// A release was judged by a registry that has since been replaced: judge it again.
    #[error("the registry changed since this release was judged")]
    RegistryChanged,
    #[error("a stored record cannot be read: {0}")]
    Invalid(String),
    #[error("the records' schema cannot be brought up to date: {0}")]
    Schema(String),
    #[error("the records' location is not usable: {0}")]
    Configuration(String),
}

impl From<SqlxError> for RecordsError {
    fn from(e: SqlxError) -> Self {
        RecordsError::Unavailable(e.to_string())
    }
}

/// Which database holds the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgresql",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// The records. Cheap to clone (an `Arc` inside).
#[derive(Debug, Clone)]
pub struct Records(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    pool: AnyPool,
    backend: Backend,
    timeout: Duration,
    /// Audit events not yet written: they go with the next release, or with the next flush.
    pending: Mutex<Vec<AuditRow>>,
    /// The URL, for the registry's listener (PostgreSQL).
    url: Option<String>,
    notices: notices::Notices,
}

impl Records {
    /// Opens PostgreSQL (`postgres://…`) or SQLite (`sqlite:…`) at `url` and brings its schema
    /// up to date. `timeout` bounds every statement and every call.
    pub async fn open(url: &str, pool_size: u32, timeout: Duration) -> Result<Self, RecordsError> {
        install_default_drivers();
        let (backend, url) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, with_statement_timeout(url, timeout))
        } else if url.starts_with("sqlite:") {
            (Backend::Sqlite, url.to_owned())
        } else {
            return Err(RecordsError::Configuration(
                "the records' URL must be postgres:// or sqlite:".into(),
            ));
        };
        // SQLite takes one writer at a time: one connection serves every request in turn.
        let size = match backend {
            Backend::Postgres => pool_size.max(1),
            Backend::Sqlite => 1,
        };
        let mut options = AnyPoolOptions::new()
            .max_connections(size)
            .acquire_timeout(timeout)
            // A broken connection fails its query and is dropped; checking every connection
            // before each use would cost a round trip per call.
            .test_before_acquire(false);
        if backend == Backend::Sqlite {
            // An in-memory database lives as long as its connection.
            options = options
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = tokio::time::timeout(timeout, options.connect(&url))
            .await
            .map_err(|_| RecordsError::Timeout(timeout.as_millis()))?
            .map_err(|e| RecordsError::Unavailable(e.to_string()))?;
        let records = Self(Arc::new(Inner {
            pool,
            backend,
            timeout,
            pending: Mutex::new(Vec::new()),
            url: (backend == Backend::Postgres).then(|| url.clone()),
            notices: notices::Notices::default(),
        }));
        records.migrate().await?;
        Ok(records)
    }

    /// Records in memory (SQLite): the demo's and the tests'. They end with the process.
    pub async fn in_memory() -> Result<Self, RecordsError> {
        Self::open("sqlite::memory:", 1, Duration::from_secs(5)).await
    }

    /// Records in the SQLite file `path`, created with its directory if need be: the embedded
    /// default of `broker serve`.
    pub async fn sqlite_file(path: &Path, timeout: Duration) -> Result<Self, RecordsError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                RecordsError::Configuration(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::open(&url, 1, timeout).await
    }

    /// Brings the schema up to date. A schema with a migration this binary does not know (a
    /// newer broker wrote it) is refused: this binary would not know what it writes there.
    async fn migrate(&self) -> Result<(), RecordsError> {
        let migrator = match self.0.backend {
            Backend::Postgres => &POSTGRES,
            Backend::Sqlite => &SQLITE,
        };
        migrator.run(&self.0.pool).await.map_err(|e| {
            RecordsError::Schema(match e {
                MigrateError::VersionMissing(v) => format!(
                    "the schema is newer than this broker (it has migration {v}, which this \
                     broker does not know); run the broker that wrote it"
                ),
                MigrateError::VersionMismatch(v) => format!(
                    "migration {v} was changed after it was applied; restore the one applied"
                ),
                e => e.to_string(),
            })
        })
    }

    pub fn backend(&self) -> Backend {
        self.0.backend
    }

    /// For `/readyz`: one round trip.
    pub async fn ping(&self) -> Result<(), RecordsError> {
        self.bounded(async {
            sqlx::query("SELECT 1").execute(&self.0.pool).await?;
            Ok(())
        })
        .await
    }

    /// `work`, within the records' timeout.
    async fn bounded<T>(
        &self,
        work: impl Future<Output = Result<T, RecordsError>>,
    ) -> Result<T, RecordsError> {
        // No more than the request has left (`crate::budget`).
        let result = crate::budget::within(Waiting::Records, self.0.timeout, work)
            .await
            .unwrap_or(Err(RecordsError::Timeout(self.0.timeout.as_millis())));
        if let Err(e) = &result {
            crate::metrics::records_error();
            tracing::warn!(error = %e, "records call failed");
        }
        result
    }

    fn pool(&self) -> &AnyPool {
        &self.0.pool
    }
}

/// Adds PostgreSQL's `statement_timeout` to the connection options, so that a statement the
/// server cannot finish in time is cancelled by the server itself, not only abandoned here.
fn with_statement_timeout(url: &str, timeout: Duration) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}options[statement_timeout]={}&application_name=pan-canadian-broker",
        timeout.as_millis()
    )
}

/// Attribute names as the records keep them: space-separated, as in the audit trail.
fn names(attributes: &std::collections::BTreeSet<trust_framework::Attribute>) -> String {
    crate::audit::list(attributes.iter().map(|a| a.name())).to_string()
}

fn parse_names(text: &str) -> std::collections::BTreeSet<trust_framework::Attribute> {
    text.split(' ').filter_map(|n| n.parse().ok()).collect()
}

/// Unix milliseconds of a time, as the records keep it.
pub(crate) fn millis(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
