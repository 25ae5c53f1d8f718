//! Short-lived state: pending logins, one-time codes, access tokens.
//!
//! One trait, two implementations: in memory (one process) and Redis (replicas share state).
//! Values are opaque bytes with a TTL under a key namespaced by kind; `take` is atomic so a
//! one-time value can be had once, whatever the failure paths around it (Redis: GETDEL).

mod memory;
mod redis;

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use self::redis::{RedisStore, RedisTarget, key as redis_key};
pub use memory::MemoryStore;

/// What is stored, which fixes its key namespace and its lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A login in progress, keyed by the upstream `state` (10 minutes).
    Pending,
    /// An authorization code for a relying party (60 seconds, one time).
    Code,
    /// An opaque access token for `/userinfo`.
    AccessToken,
    /// A login waiting for the person's notice-and-consent decision (10 minutes).
    ConsentPending,
    /// A remembered consent, keyed by subject, service and agreement version (about 13 months,
    /// after which the person is asked again).
    ConsentRecord,
    /// A software statement's `jti`, kept until the statement expires: a statement registers
    /// one client, once.
    StatementJti,
}

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Pending => "pending",
            Kind::Code => "code",
            Kind::AccessToken => "at",
            Kind::ConsentPending => "consent-pending",
            Kind::ConsentRecord => "consent",
            Kind::StatementJti => "ssa-jti",
        }
    }

    pub fn ttl(self) -> Duration {
        match self {
            Kind::Pending => Duration::from_secs(600),
            Kind::Code => Duration::from_secs(60),
            Kind::AccessToken => Duration::from_secs(300),
            Kind::ConsentPending => Duration::from_secs(600),
            Kind::ConsentRecord => Duration::from_secs(395 * 24 * 3600),
            Kind::StatementJti => Duration::from_secs(24 * 3600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("the state store is unavailable: {0}")]
    Unavailable(String),
    #[error("a stored value could not be decoded: {0}")]
    Corrupt(String),
}

#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    async fn put(
        &self,
        kind: Kind,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<(), StoreError>;
    /// Returns the value and removes it, atomically: two concurrent takes never both succeed.
    async fn take(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// For `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Typed access on top of the byte store.
#[derive(Debug, Clone)]
pub struct TypedStore(pub std::sync::Arc<dyn Store>);

impl TypedStore {
    pub async fn put<T: Serialize>(
        &self,
        kind: Kind,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.0.put(kind, key, bytes, kind.ttl()).await
    }

    pub async fn take<T: DeserializeOwned>(
        &self,
        kind: Kind,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        decode(self.0.take(kind, key).await?)
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        kind: Kind,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        decode(self.0.get(kind, key).await?)
    }
}

fn decode<T: DeserializeOwned>(bytes: Option<Vec<u8>>) -> Result<Option<T>, StoreError> {
    bytes
        .map(|b| serde_json::from_slice(&b).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}
