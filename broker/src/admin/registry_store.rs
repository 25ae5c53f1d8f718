//! Where the registry lives when it changes at run time, and how replicas see changes.
//!
//! Every change goes through `Registry::from_file` (the same validation as the TOML file) and
//! is saved with compare-and-set on a version, so two administrators cannot overwrite each
//! other. A file is the embedded default (one process); Redis shares the registry between
//! replicas, which poll its version and swap in a new snapshot without restarting.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use trust_framework::RegistryFile;

use crate::app::Broker;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryStoreError {
    #[error("the registry was changed by someone else (version {0}); reload and try again")]
    Conflict(u64),
    #[error("the registry store is unavailable: {0}")]
    Unavailable(String),
    #[error("the stored registry is not valid: {0}")]
    Invalid(String),
}

#[async_trait]
pub trait RegistryStore: Send + Sync + std::fmt::Debug {
    /// The current version and registry, if one was ever saved.
    async fn load(&self) -> Result<Option<(u64, RegistryFile)>, RegistryStoreError>;
    /// Saves if the stored version is still `expected`; returns the new version.
    async fn save(&self, expected: u64, file: &RegistryFile) -> Result<u64, RegistryStoreError>;
    async fn version(&self) -> Result<u64, RegistryStoreError>;
    async fn save_report(
        &self,
        provider_id: &str,
        report_json: &str,
    ) -> Result<(), RegistryStoreError>;
    async fn report(&self, provider_id: &str) -> Result<Option<String>, RegistryStoreError>;
}

pub(crate) fn to_toml(file: &RegistryFile) -> Result<String, RegistryStoreError> {
    toml::to_string(file).map_err(|e| RegistryStoreError::Invalid(e.to_string()))
}

pub(crate) fn from_toml(text: &str) -> Result<RegistryFile, RegistryStoreError> {
    toml::from_str(text).map_err(|e| RegistryStoreError::Invalid(e.to_string()))
}

/// A registry file on disk, whose first line records its version (`# registry-version = N`),
/// counted up by every save. Reports are kept beside it in `<file>.conformance/`.
#[derive(Debug)]
pub struct FileRegistryStore {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl FileRegistryStore {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn content_version(text: &str) -> u64 {
        text.lines()
            .next()
            .and_then(|l| l.strip_prefix("# registry-version = "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(1)
    }

    fn reports_dir(&self) -> PathBuf {
        let mut dir = self.path.clone().into_os_string();
        dir.push(".conformance");
        PathBuf::from(dir)
    }

    /// One file per provider id, named by the id's hex encoding: distinct ids never share a
    /// file, and no id can name a path outside the directory.
    fn report_path(&self, provider_id: &str) -> PathBuf {
        let name: String = provider_id.bytes().map(|b| format!("{b:02x}")).collect();
        self.reports_dir().join(format!("{name}.json"))
    }

    async fn read(&self) -> Result<Option<String>, RegistryStoreError> {
        match tokio::fs::read_to_string(&self.path).await {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RegistryStoreError::Unavailable(e.to_string())),
        }
    }
}

/// Writes to a temporary file and renames it over the target: readers see the old or the new
/// file, never half of one.
async fn write_atomically(
    path: &std::path::Path,
    contents: &str,
) -> Result<(), RegistryStoreError> {
    let unavailable = |e: std::io::Error| RegistryStoreError::Unavailable(e.to_string());
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    tokio::fs::write(&tmp, contents)
        .await
        .map_err(unavailable)?;
    tokio::fs::rename(&tmp, path).await.map_err(unavailable)
}

#[async_trait]
impl RegistryStore for FileRegistryStore {
    async fn load(&self) -> Result<Option<(u64, RegistryFile)>, RegistryStoreError> {
        match self.read().await? {
            Some(text) => Ok(Some((Self::content_version(&text), from_toml(&text)?))),
            None => Ok(None),
        }
    }

    async fn save(&self, expected: u64, file: &RegistryFile) -> Result<u64, RegistryStoreError> {
        let _guard = self.lock.lock().await;
        let current = self
            .read()
            .await?
            .map(|t| Self::content_version(&t))
            .unwrap_or(0);
        if current != expected {
            return Err(RegistryStoreError::Conflict(current));
        }
        let version = current + 1;
        let text = format!("# registry-version = {version}\n{}", to_toml(file)?);
        write_atomically(&self.path, &text).await?;
        Ok(version)
    }

    async fn version(&self) -> Result<u64, RegistryStoreError> {
        Ok(self
            .read()
            .await?
            .map(|t| Self::content_version(&t))
            .unwrap_or(0))
    }

    async fn save_report(
        &self,
        provider_id: &str,
        report_json: &str,
    ) -> Result<(), RegistryStoreError> {
        tokio::fs::create_dir_all(self.reports_dir())
            .await
            .map_err(|e| RegistryStoreError::Unavailable(e.to_string()))?;
        write_atomically(&self.report_path(provider_id), report_json).await
    }

    async fn report(&self, provider_id: &str) -> Result<Option<String>, RegistryStoreError> {
        match tokio::fs::read_to_string(self.report_path(provider_id)).await {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RegistryStoreError::Unavailable(e.to_string())),
        }
    }
}

/// The registry in Redis: `pcb:registry` (TOML) and `pcb:registry:version`, changed together
/// by a script that checks the version first (compare-and-set on the server).
pub struct RedisRegistryStore {
    conn: ConnectionManager,
}

impl std::fmt::Debug for RedisRegistryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisRegistryStore")
    }
}

const SAVE_SCRIPT: &str = r#"
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current ~= tonumber(ARGV[1]) then return -current - 1 end
redis.call('SET', KEYS[1], ARGV[2])
return redis.call('INCR', KEYS[2])
"#;

impl RedisRegistryStore {
    pub fn new(url: &str) -> Result<Self, RegistryStoreError> {
        let client =
            redis::Client::open(url).map_err(|e| RegistryStoreError::Unavailable(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| RegistryStoreError::Unavailable(e.to_string()))?;
        Ok(Self { conn })
    }

    async fn query<T: redis::FromRedisValue + Send>(
        &self,
        cmd: redis::Cmd,
    ) -> Result<T, RegistryStoreError> {
        let mut conn = self.conn.clone();
        tokio::time::timeout(Duration::from_secs(2), cmd.query_async(&mut conn))
            .await
            .map_err(|_| RegistryStoreError::Unavailable("redis timed out".into()))?
            .map_err(|e| RegistryStoreError::Unavailable(e.to_string()))
    }
}

#[async_trait]
impl RegistryStore for RedisRegistryStore {
    async fn load(&self) -> Result<Option<(u64, RegistryFile)>, RegistryStoreError> {
        let mut cmd = redis::cmd("MGET");
        cmd.arg("pcb:registry:version").arg("pcb:registry");
        let (version, text): (Option<u64>, Option<String>) = self.query(cmd).await?;
        match text {
            Some(text) => Ok(Some((version.unwrap_or(0), from_toml(&text)?))),
            None => Ok(None),
        }
    }

    async fn save(&self, expected: u64, file: &RegistryFile) -> Result<u64, RegistryStoreError> {
        let text = to_toml(file)?;
        let script = redis::Script::new(SAVE_SCRIPT);
        let mut conn = self.conn.clone();
        let result: i64 = tokio::time::timeout(
            Duration::from_secs(2),
            script
                .key("pcb:registry")
                .key("pcb:registry:version")
                .arg(expected)
                .arg(text)
                .invoke_async(&mut conn),
        )
        .await
        .map_err(|_| RegistryStoreError::Unavailable("redis timed out".into()))?
        .map_err(|e| RegistryStoreError::Unavailable(e.to_string()))?;
        if result < 0 {
            return Err(RegistryStoreError::Conflict(
                u64::try_from(-result - 1).unwrap_or(0),
            ));
        }
        Ok(u64::try_from(result).unwrap_or(0))
    }

    async fn version(&self) -> Result<u64, RegistryStoreError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg("pcb:registry:version");
        let v: Option<u64> = self.query(cmd).await?;
        Ok(v.unwrap_or(0))
    }

    async fn save_report(
        &self,
        provider_id: &str,
        report_json: &str,
    ) -> Result<(), RegistryStoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("pcb:conformance:{provider_id}"))
            .arg(report_json);
        self.query::<()>(cmd).await
    }

    async fn report(&self, provider_id: &str) -> Result<Option<String>, RegistryStoreError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(format!("pcb:conformance:{provider_id}"));
        self.query(cmd).await
    }
}

/// How often a replica looks for a registry changed by another replica.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(250);

/// Seeds an empty store with the startup registry, then keeps an idle replica's snapshot
/// current (busy replicas are already current: every decision checks the stored version).
/// A stored registry that fails validation is refused and logged; the replica keeps the last
/// valid snapshot.
pub async fn sync(broker: Broker, store: Arc<dyn RegistryStore>) {
    loop {
        match store.version().await {
            Ok(0) => {
                let file = broker.registry().source().clone();
                if let Err(e) = store.save(0, &file).await {
                    tracing::debug!(error = %e, "registry seeding raced another replica");
                }
            }
            Ok(_) => {
                broker.fresh_registry().await;
            }
            Err(e) => tracing::warn!(error = %e, "registry version check failed"),
        }
        tokio::time::sleep(SYNC_INTERVAL).await;
    }
}
