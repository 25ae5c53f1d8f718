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

use crate::metrics::StoreOp;

pub use self::redis::{RedisStore, RedisTarget, key as redis_key};
pub use memory::MemoryStore;

/// What is stored, which fixes its key namespace and its lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A login at the picker (`crate::login::Choosing`), keyed by its txn.
    Choosing,
    /// A login at the provider (`crate::login::AtProvider`), keyed by its txn, which is the
    /// upstream `state`.
    AtProvider,
    /// An authorization code for a relying party (60 seconds, one time).
    Code,
    /// An opaque access token for `/userinfo`.
    AccessToken,
    /// A login waiting for the person's notice-and-consent decision
    /// (`crate::login::AwaitingConsent`), keyed by the page's form key.
    AwaitingConsent,
    /// A software statement's `jti`, kept until the statement expires: a statement registers
    /// one client, once.
    StatementJti,
    /// A pushed authorization request (RFC 9126), keyed by its `request_uri`: one time, 60 s.
    PushedRequest,
    /// A client assertion's `jti` (RFC 7523), kept until the assertion expires: an assertion
    /// authenticates one request, once.
    AssertionJti,
    /// A rate-limit counter for one client or source address and one window.
    RateCounter,
    /// A person's broker session (`crate::session::Session`), keyed by its `sid`; it lives as
    /// long as its idle lifetime, renewed on use, within its absolute lifetime.
    Session,
    /// The services a session served (a set), keyed by the session's `sid`: who is sent a
    /// logout token when it ends.
    SessionServices,
    /// A provider's session or subject (a set of broker `sid`s): which broker sessions end
    /// when the provider says that one did (Back-Channel Logout from the provider).
    ProviderSessions,
    /// A logout token's `jti` from a provider, kept until the token would be too old to be
    /// accepted: a token ends sessions once.
    LogoutJti,
    /// What an authorization code gave when it was redeemed (the access token), kept while
    /// that access token lives: a second redemption of the code revokes it (RFC 9700 4.5).
    RedeemedCode,
    /// Logout tokens waiting to be delivered to services (a queue, `Store::schedule`).
    LogoutDelivery,
    /// Consent withdrawn events waiting to be pushed to services (a queue, `crate::secevent`).
    ConsentEvent,
    /// Where a sign-out returns once the provider has signed the person out too, keyed by the
    /// `state` sent to the provider (one time).
    LogoutReturn,
    /// A sign-in to the person's record at their provider (`crate::record::sign_in`), keyed by
    /// the upstream `state` (one time).
    RecordSignIn,
    /// A person's short session on their record (`crate::record::session`), keyed by its id.
    RecordSession,
}

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Choosing => "choosing",
            Kind::AtProvider => "at-provider",
            Kind::Code => "code",
            Kind::AccessToken => "at",
            Kind::AwaitingConsent => "awaiting-consent",
            Kind::StatementJti => "ssa-jti",
            Kind::PushedRequest => "par",
            Kind::AssertionJti => "assertion-jti",
            Kind::RateCounter => "rate",
            Kind::Session => "session",
            Kind::SessionServices => "session-services",
            Kind::ProviderSessions => "provider-sessions",
            Kind::LogoutJti => "logout-jti",
            Kind::RedeemedCode => "redeemed-code",
            Kind::LogoutDelivery => "logout-delivery",
            Kind::ConsentEvent => "consent-event",
            Kind::LogoutReturn => "logout-return",
            Kind::RecordSignIn => "record-sign-in",
            Kind::RecordSession => "record-session",
        }
    }

    /// The kinds that hold a login between two of its steps. One that expires untaken is a
    /// login the person or the service abandoned, which the audit trail must show
    /// (`crate::login::abandoned`).
    pub fn watched(self) -> bool {
        matches!(
            self,
            Kind::Choosing | Kind::AtProvider | Kind::AwaitingConsent | Kind::Code
        )
    }

    pub fn ttl(self) -> Duration {
        match self {
            Kind::Choosing | Kind::AtProvider => Duration::from_secs(600),
            Kind::Code => Duration::from_secs(60),
            Kind::AccessToken => Duration::from_secs(300),
            Kind::AwaitingConsent => Duration::from_secs(600),
            Kind::StatementJti => Duration::from_secs(24 * 3600),
            Kind::PushedRequest => Duration::from_secs(60),
            Kind::AssertionJti => Duration::from_secs(600),
            Kind::RateCounter => Duration::from_secs(60),
            // Sessions and their sets have configured lifetimes (`crate::session::Lifetimes`);
            // these are the defaults' absolute lifetime.
            Kind::Session | Kind::SessionServices | Kind::ProviderSessions => {
                Duration::from_secs(8 * 3600)
            }
            Kind::LogoutJti => Duration::from_secs(900),
            Kind::RedeemedCode => Kind::AccessToken.ttl(),
            // Queue items have no TTL: they leave the queue when delivered or given up.
            Kind::LogoutDelivery | Kind::ConsentEvent => Duration::from_secs(24 * 3600),
            Kind::LogoutReturn => Duration::from_secs(600),
            Kind::RecordSignIn => Duration::from_secs(600),
            // Configured (`[record] session_minutes`); this is the default.
            Kind::RecordSession => Duration::from_secs(15 * 60),
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
    /// Stores the value only if the key is absent (or expired), atomically: `false` when it
    /// was already there. Replay checks rest on this, never on a read followed by a write.
    async fn put_new(
        &self,
        kind: Kind,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<bool, StoreError>;
    /// Adds one to the counter of a fixed window that starts with its first hit, atomically;
    /// returns the count including this hit and the time left in the window.
    async fn hit(
        &self,
        kind: Kind,
        key: &str,
        window: Duration,
    ) -> Result<(u64, Duration), StoreError>;
    /// As [`Store::put`], and the value is watched: if it expires without being taken, one
    /// call of [`Store::abandoned`] (on any replica sharing the store) hands `note` back. A
    /// take of the live value ends the watch; writing the key again replaces it.
    async fn put_watched(
        &self,
        kind: Kind,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
        note: Vec<u8>,
    ) -> Result<(), StoreError>;
    /// The notes of at most `limit` watched values that expired untaken, each handed to one
    /// caller only, whatever the number of replicas asking at once.
    async fn abandoned(&self, limit: usize) -> Result<Vec<Vec<u8>>, StoreError>;
    /// Removes whatever the key holds (a value or a set); nothing there is not an error.
    async fn remove(&self, kind: Kind, key: &str) -> Result<(), StoreError>;
    /// Adds `member` to the set under the key, which then lives `ttl` from now.
    async fn add_member(
        &self,
        kind: Kind,
        key: &str,
        member: &str,
        ttl: Duration,
    ) -> Result<(), StoreError>;
    /// The members of the set under the key (none when there is no set).
    async fn members(&self, kind: Kind, key: &str) -> Result<Vec<String>, StoreError>;
    /// Puts `item` in the queue of `kind` under `id`, due at `due_ms` (Unix milliseconds),
    /// replacing an item of the same id.
    async fn schedule(
        &self,
        kind: Kind,
        id: &str,
        item: Vec<u8>,
        due_ms: i64,
    ) -> Result<(), StoreError>;
    /// At most `limit` items of the queue due at `now_ms`, each leased to this caller for
    /// `lease_ms` (another caller gets it only after that, should this one die with it), in
    /// one step: of replicas claiming at once, each item goes to one.
    async fn claim_due(
        &self,
        kind: Kind,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Makes the item `id` due at `due_ms`, the item unchanged, if it is still in the queue:
    /// `false` when it is not (delivered, given up, or never queued), so that an item already
    /// settled is never brought back.
    async fn reschedule(&self, kind: Kind, id: &str, due_ms: i64) -> Result<bool, StoreError>;
    /// Takes the item `id` out of the queue: delivered, or given up.
    async fn finish(&self, kind: Kind, id: &str) -> Result<(), StoreError>;
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
        let result = match serde_json::to_vec(value) {
            Ok(bytes) => self.0.put(kind, key, bytes, kind.ttl()).await,
            Err(e) => Err(StoreError::Corrupt(e.to_string())),
        };
        counted(StoreOp::Put, result)
    }

    pub async fn take<T: DeserializeOwned>(
        &self,
        kind: Kind,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        counted(StoreOp::Take, self.0.take(kind, key).await.and_then(decode))
    }

    /// As [`TypedStore::put`], living `ttl` instead of the kind's own.
    pub async fn put_for<T: Serialize>(
        &self,
        kind: Kind,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let result = match serde_json::to_vec(value) {
            Ok(bytes) => self.0.put(kind, key, bytes, ttl).await,
            Err(e) => Err(StoreError::Corrupt(e.to_string())),
        };
        counted(StoreOp::Put, result)
    }

    /// See [`Store::remove`].
    pub async fn remove(&self, kind: Kind, key: &str) -> Result<(), StoreError> {
        counted(StoreOp::Take, self.0.remove(kind, key).await)
    }

    /// See [`Store::add_member`].
    pub async fn add_member(
        &self,
        kind: Kind,
        key: &str,
        member: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        counted(
            StoreOp::Put,
            self.0.add_member(kind, key, member, ttl).await,
        )
    }

    /// See [`Store::members`].
    pub async fn members(&self, kind: Kind, key: &str) -> Result<Vec<String>, StoreError> {
        counted(StoreOp::Get, self.0.members(kind, key).await)
    }

    /// See [`Store::schedule`].
    pub async fn schedule<T: Serialize>(
        &self,
        kind: Kind,
        id: &str,
        item: &T,
        due_ms: i64,
    ) -> Result<(), StoreError> {
        let result = match serde_json::to_vec(item) {
            Ok(bytes) => self.0.schedule(kind, id, bytes, due_ms).await,
            Err(e) => Err(StoreError::Corrupt(e.to_string())),
        };
        counted(StoreOp::Put, result)
    }

    /// See [`Store::claim_due`]. An item that does not decode is finished with a warning, so
    /// that it is not claimed for ever.
    pub async fn claim_due<T: DeserializeOwned>(
        &self,
        kind: Kind,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let claimed = counted(
            StoreOp::Sweep,
            self.0.claim_due(kind, now_ms, lease_ms, limit).await,
        )?;
        let mut items = Vec::with_capacity(claimed.len());
        for (id, bytes) in claimed {
            match serde_json::from_slice(&bytes) {
                Ok(item) => items.push((id, item)),
                Err(e) => {
                    tracing::warn!(error = %e, "a queued item does not decode; dropped");
                    self.finish(kind, &id).await?;
                }
            }
        }
        Ok(items)
    }

    /// See [`Store::reschedule`].
    pub async fn reschedule(&self, kind: Kind, id: &str, due_ms: i64) -> Result<bool, StoreError> {
        counted(StoreOp::Put, self.0.reschedule(kind, id, due_ms).await)
    }

    /// See [`Store::finish`].
    pub async fn finish(&self, kind: Kind, id: &str) -> Result<(), StoreError> {
        counted(StoreOp::Take, self.0.finish(kind, id).await)
    }

    /// See [`Store::put_new`].
    pub async fn put_new<T: Serialize>(
        &self,
        kind: Kind,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let result = match serde_json::to_vec(value) {
            Ok(bytes) => self.0.put_new(kind, key, bytes, ttl).await,
            Err(e) => Err(StoreError::Corrupt(e.to_string())),
        };
        counted(StoreOp::PutNew, result)
    }

    /// See [`Store::put_watched`]; `ttl` instead of the kind's own, because the time a
    /// person has to finish a sign-in is configured.
    pub async fn put_watched<T: Serialize, N: Serialize>(
        &self,
        kind: Kind,
        key: &str,
        value: &T,
        ttl: Duration,
        note: &N,
    ) -> Result<(), StoreError> {
        let result = match (serde_json::to_vec(value), serde_json::to_vec(note)) {
            (Ok(bytes), Ok(note)) => self.0.put_watched(kind, key, bytes, ttl, note).await,
            (Err(e), _) | (_, Err(e)) => Err(StoreError::Corrupt(e.to_string())),
        };
        counted(StoreOp::Put, result)
    }

    /// See [`Store::abandoned`]. A note that does not decode is skipped with a warning: it
    /// has been claimed already, and one bad note must not hide the others.
    pub async fn abandoned<N: DeserializeOwned>(&self, limit: usize) -> Result<Vec<N>, StoreError> {
        let notes = counted(StoreOp::Sweep, self.0.abandoned(limit).await)?;
        Ok(notes
            .iter()
            .filter_map(|n| match serde_json::from_slice(n) {
                Ok(note) => Some(note),
                Err(e) => {
                    tracing::warn!(error = %e, "an abandoned value's note does not decode");
                    None
                }
            })
            .collect())
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        kind: Kind,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        counted(StoreOp::Get, self.0.get(kind, key).await.and_then(decode))
    }
}

fn decode<T: DeserializeOwned>(bytes: Option<Vec<u8>>) -> Result<Option<T>, StoreError> {
    bytes
        .map(|b| serde_json::from_slice(&b).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

/// Counts a failed operation in `broker_store_errors_total{op}`: requests fail closed on a
/// store error, and the count shows an operator how many did, between two `/readyz` probes.
fn counted<T>(op: StoreOp, result: Result<T, StoreError>) -> Result<T, StoreError> {
    if result.is_err() {
        crate::metrics::store_error(op);
    }
    result
}
