//! The broker's configuration: a versioned TOML file, then environment overrides, then flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use trust_framework::{SecretRef, SigningAlg};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub version: u32,
    /// The broker's issuer identifier, exactly as relying parties will compare it.
    pub issuer: String,
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The registry TOML file.
    pub registry: PathBuf,
    /// Private signing keys per algorithm (PEM or JWK files). ES256 is required.
    pub keys: BTreeMap<SigningAlg, PathBuf>,
    pub pairwise: Pairwise,
    #[serde(default)]
    pub upstream: Upstream,
    /// TLS terminated by the broker itself. Omitted: plain HTTP (for a deployment where a
    /// proxy in front terminates TLS). `broker serve --tls-cert --tls-key` override it.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    #[serde(default)]
    pub store: StoreConfig,
    /// The system of record. Omitted: SQLite in `data_dir` (one broker, no server to run).
    #[serde(default)]
    pub records: Option<RecordsConfig>,
    /// The tamper-evident log's signing key, origin and witnesses. Omitted: the tree is kept,
    /// but no checkpoint is signed.
    #[serde(default)]
    pub log: Option<LogConfig>,
    /// Where the embedded SQLite records live without `[records]`.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    #[serde(default)]
    pub admin: AdminConfig,
    #[serde(default)]
    pub limits: crate::http::limits::Limits,
    /// Sessions: lifetimes, and the level from which a sign-in is always fresh.
    #[serde(default)]
    pub sessions: crate::session::SessionPolicy,
    /// Who runs this broker, as every page says (`crate::http::operator`).
    #[serde(default)]
    pub operator: crate::http::operator::OperatorConfig,
    /// The person's record: the level they sign in at, how long it stays open, how fresh a
    /// sign-in a withdrawal needs.
    #[serde(default)]
    pub record: crate::record::RecordPolicy,
}

/// The admin API. With no principal it refuses every call.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    #[serde(default)]
    pub principals: Vec<PrincipalConfig>,
}

/// PostgreSQL as the system of record: every replica of a deployment shares it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordsConfig {
    /// `postgres://user:password@host:port/database`: a secret, from the environment or a file.
    pub url: SecretRef,
    #[serde(default = "default_pool_size")]
    pub pool_size: u32,
    /// The longest a statement, or a release's commit, may take; past it the login ends with
    /// `temporarily_unavailable` and nothing is released.
    #[serde(default = "default_records_timeout")]
    pub timeout_ms: u64,
}

/// The tamper-evident log (docs/audit-log.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// An Ed25519 private key (PKCS#8 PEM), with its next key beside it, as
    /// `broker generate-keys` writes them (`log.pem`, `log.next.pem`).
    pub key: PathBuf,
    /// The checkpoints' origin line, and the key's name. Default: the issuer without its
    /// scheme, then `/log`.
    #[serde(default)]
    pub origin: Option<String>,
    /// The C2SP verifier keys of the witnesses whose cosignatures are kept and served.
    #[serde(default)]
    pub witnesses: Vec<String>,
}

fn default_pool_size() -> u32 {
    8
}

pub(crate) fn default_records_timeout() -> u64 {
    2000
}

fn default_data_dir() -> PathBuf {
    "data".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalConfig {
    pub name: String,
    pub token: SecretRef,
    pub roles: Vec<crate::admin::auth::Role>,
}

/// Where short-lived state lives: in this process, or in Redis shared by every replica.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase", deny_unknown_fields)]
pub enum StoreConfig {
    /// One process only: state is lost on restart and not shared.
    #[default]
    Memory,
    Redis {
        url: String,
        #[serde(default = "default_store_timeout")]
        timeout_ms: u64,
    },
    Cluster {
        nodes: Vec<String>,
        #[serde(default = "default_store_timeout")]
        timeout_ms: u64,
    },
}

fn default_store_timeout() -> u64 {
    500
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pairwise {
    /// The key of the pairwise subject hash. Changing it changes every subject.
    pub secret: SecretRef,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// A PEM file of CA certificates trusted for providers in addition to the built-in roots,
    /// for test deployments whose providers use a private CA. Certificates are always verified.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
}

impl Default for Upstream {
    fn default() -> Self {
        Self {
            timeout_seconds: default_timeout(),
            ca_bundle: None,
        }
    }
}

/// The broker's own certificate: TLS 1.2 and 1.3 only, HSTS on every response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key of the leaf (PKCS#8, SEC1 or PKCS#1).
    pub key: PathBuf,
}

fn default_listen() -> String {
    "127.0.0.1:8400".into()
}

fn default_timeout() -> u64 {
    10
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: {1}")]
    Parse(String, toml::de::Error),
    #[error("{0}: configuration version {1} is not supported (this build reads version 1)")]
    Version(String, u32),
    #[error("{0}: [limits] {1}")]
    Limit(String, String),
    #[error("{0}: {1}")]
    Sessions(String, String),
}

impl Config {
    /// Reads the file, then applies `BROKER_ISSUER`, `BROKER_LISTEN` and `BROKER_REGISTRY`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Read(shown.clone(), e))?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| ConfigError::Parse(shown.clone(), e))?;
        if config.version != 1 {
            return Err(ConfigError::Version(shown, config.version));
        }
        if let Some(why) = config.limits.out_of_bounds() {
            return Err(ConfigError::Limit(shown, why));
        }
        if let Err(why) = config.sessions.check() {
            return Err(ConfigError::Sessions(shown, why));
        }
        if let Err(why) = config.record.check() {
            return Err(ConfigError::Sessions(shown, why));
        }
        if let Ok(v) = std::env::var("BROKER_ISSUER") {
            config.issuer = v;
        }
        if let Ok(v) = std::env::var("BROKER_LISTEN") {
            config.listen = v;
        }
        if let Ok(v) = std::env::var("BROKER_REGISTRY") {
            config.registry = v.into();
        }
        if let Ok(url) = std::env::var("BROKER_REDIS_URL") {
            let timeout_ms = match config.store {
                StoreConfig::Redis { timeout_ms, .. } | StoreConfig::Cluster { timeout_ms, .. } => {
                    timeout_ms
                }
                StoreConfig::Memory => default_store_timeout(),
            };
            config.store = StoreConfig::Redis { url, timeout_ms };
        }
        // Relative paths are relative to the configuration file.
        let base = path.parent().unwrap_or(Path::new("."));
        config.registry = base.join(&config.registry);
        for file in config.keys.values_mut() {
            *file = base.join(&*file);
        }
        if let Some(tls) = &mut config.tls {
            tls.cert = base.join(&tls.cert);
            tls.key = base.join(&tls.key);
        }
        if let Some(bundle) = &mut config.upstream.ca_bundle {
            *bundle = base.join(&*bundle);
        }
        config.data_dir = base.join(&config.data_dir);
        if let Some(logo) = &mut config.operator.logo {
            *logo = base.join(&*logo);
        }
        if let Some(log) = &mut config.log {
            log.key = base.join(&log.key);
        }
        // Secrets read from files too: a broker started from another directory finds them.
        anchor(base, &mut config.pairwise.secret);
        if let Some(records) = &mut config.records {
            anchor(base, &mut records.url);
        }
        for principal in &mut config.admin.principals {
            anchor(base, &mut principal.token);
        }
        Ok(config)
    }
}

/// A secret read from a file relative to the configuration file is read from there.
fn anchor(base: &Path, secret: &mut SecretRef) {
    if let SecretRef::File(path) = secret {
        *path = base.join(&*path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_fields() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let good = "version = 1\nissuer = \"https://broker.example\"\nregistry = \"r.toml\"\n[keys]\nES256 = \"k.pem\"\n[pairwise]\nsecret = { env = \"P\" }\n";
        std::fs::write(dir.join("good.toml"), good).unwrap();
        let c = Config::load(&dir.join("good.toml")).unwrap();
        assert_eq!(c.registry, dir.join("r.toml"));
        assert_eq!(c.keys[&SigningAlg::ES256], dir.join("k.pem"));
        assert_eq!(c.upstream.timeout_seconds, 10);
        assert!(matches!(c.store, StoreConfig::Memory));
        assert!(c.tls.is_none() && c.upstream.ca_bundle.is_none());
        std::fs::write(
            dir.join("tls.toml"),
            format!("{good}[tls]\ncert = \"tls/chain.pem\"\nkey = \"/abs/key.pem\"\n[upstream]\nca_bundle = \"ca.pem\"\n"),
        )
        .unwrap();
        let c = Config::load(&dir.join("tls.toml")).unwrap();
        let tls = c.tls.unwrap();
        assert_eq!(tls.cert, dir.join("tls/chain.pem"));
        assert_eq!(tls.key, PathBuf::from("/abs/key.pem"));
        assert_eq!(c.upstream.ca_bundle, Some(dir.join("ca.pem")));
        std::fs::write(
            dir.join("redis.toml"),
            format!("{good}[store]\nbackend = \"cluster\"\nnodes = [\"redis://127.0.0.1:7000\"]\n"),
        )
        .unwrap();
        let c = Config::load(&dir.join("redis.toml")).unwrap();
        assert!(
            matches!(c.store, StoreConfig::Cluster { ref nodes, timeout_ms: 500 } if nodes.len() == 1)
        );
        std::fs::write(dir.join("bad.toml"), format!("{good}typo = 1\n")).unwrap();
        assert!(matches!(
            Config::load(&dir.join("bad.toml")),
            Err(ConfigError::Parse(..))
        ));
        std::fs::write(
            dir.join("v2.toml"),
            good.replace("version = 1", "version = 2"),
        )
        .unwrap();
        assert!(matches!(
            Config::load(&dir.join("v2.toml")),
            Err(ConfigError::Version(..))
        ));
        std::fs::write(
            dir.join("code.toml"),
            format!("{good}[limits]\ncode_seconds = 30\n"),
        )
        .unwrap();
        let c = Config::load(&dir.join("code.toml")).unwrap();
        assert_eq!(c.limits.code_lifetime(), std::time::Duration::from_secs(30));
        std::fs::write(
            dir.join("long-code.toml"),
            format!("{good}[limits]\ncode_seconds = 61\n"),
        )
        .unwrap();
        let e = Config::load(&dir.join("long-code.toml")).unwrap_err();
        assert!(
            matches!(e, ConfigError::Limit(..)) && e.to_string().contains("code_seconds = 61"),
            "{e}"
        );
    }

    /// `[operator]` is optional (the demonstration's then), and its logo is found next to the
    /// configuration like every other file it names.
    #[test]
    fn the_operator_is_optional_and_its_logo_relative_to_the_configuration() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let base = "version = 1\nissuer = \"https://broker.example\"\nregistry = \"r.toml\"\n[keys]\nES256 = \"k.pem\"\n[pairwise]\nsecret = { env = \"P\" }\n";
        std::fs::write(dir.join("plain.toml"), base).unwrap();
        let c = Config::load(&dir.join("plain.toml")).unwrap();
        assert!(c.operator.name.en.contains("Demonstration"));
        std::fs::write(
            dir.join("operator.toml"),
            format!("{base}[operator]\nname = {{ en = \"ESDC\", fr = \"EDSC\" }}\nlogo = \"brand/logo.svg\"\ncontact = {{ en = \"https://x.ca/en\", fr = \"https://x.ca/fr\" }}\n"),
        )
        .unwrap();
        let c = Config::load(&dir.join("operator.toml")).unwrap();
        assert_eq!(c.operator.name.fr, "EDSC");
        assert_eq!(c.operator.logo, Some(dir.join("brand/logo.svg")));
        assert!(c.operator.privacy.is_none());
        std::fs::write(
            dir.join("typo.toml"),
            format!("{base}[operator]\nname = {{ en = \"A\", fr = \"B\" }}\nprivcy = {{ en = \"https://x.ca\" }}\n"),
        )
        .unwrap();
        assert!(matches!(
            Config::load(&dir.join("typo.toml")),
            Err(ConfigError::Parse(..))
        ));
    }

    /// Secrets read from files, and the data directory, are found next to the configuration
    /// whatever the working directory, like every other path in it.
    #[test]
    fn file_secrets_and_the_data_directory_are_relative_to_the_configuration() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir(dir.join("secrets")).unwrap();
        std::fs::write(dir.join("secrets/pairwise"), "pairwise-secret\n").unwrap();
        std::fs::write(dir.join("secrets/ops"), "ops-token\n").unwrap();
        let text = "version = 1\nissuer = \"https://broker.example\"\nregistry = \"r.toml\"\ndata_dir = \"state\"\n[keys]\nES256 = \"k.pem\"\n[pairwise]\nsecret = { file = \"secrets/pairwise\" }\n[records]\nurl = { file = \"secrets/records\" }\n[[admin.principals]]\nname = \"ops\"\ntoken = { file = \"secrets/ops\" }\nroles = [\"auditor\"]\n";
        std::fs::write(dir.join("broker.toml"), text).unwrap();
        let c = Config::load(&dir.join("broker.toml")).unwrap();
        assert_eq!(
            c.pairwise.secret,
            SecretRef::File(dir.join("secrets/pairwise"))
        );
        assert_eq!(
            c.admin.principals[0].token,
            SecretRef::File(dir.join("secrets/ops"))
        );
        assert_eq!(c.data_dir, dir.join("state"));
        assert_eq!(
            c.records.map(|r| r.url),
            Some(SecretRef::File(dir.join("secrets/records")))
        );
        let resolver = crate::secrets::SecretResolver::default();
        assert!(
            resolver
                .resolve(&c.pairwise.secret)
                .unwrap()
                .matches("pairwise-secret")
        );
    }
}
