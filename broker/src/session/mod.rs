//! Broker sessions: a person confirmed once is not sent back to a provider for the next
//! service ("tell us once"), and signing out ends the session everywhere it was used.
//!
//! ```text
//!  /callback ── signed in at a provider ──► Session (store, under its sid; cookie sid.secret)
//!                                             │  /authorize: reused when `trust_framework::reusable`
//!                                             │  says so (provider, level, max_age, prompt, policy)
//!                                             ▼
//!  /logout (the service), /backchannel-logout (the provider), expiry ──► end ──► logout tokens
//!                                                                               to its services
//! ```
//!
//! A session lives in the state store only: it is ephemeral by nature (idle and absolute
//! lifetimes, `[sessions]`), and losing it signs the person out, never in. Its starts and ends
//! go to the audit trail, which the records keep. It holds what the provider's sign-in
//! established (the provider's claims among them, to release again to the next service
//! without asking the provider), never consent: each service's release is decided, and its
//! consent asked, on its own.

pub mod cookie;
pub(crate) mod delivery;
pub(crate) mod end_session;
mod lifecycle;
pub(crate) mod logout_token;
pub(crate) mod provider_logout;

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use trust_framework::{AssuranceLevel, Attribute, IdentityProvider, Lang, ReuseRules};

pub use lifecycle::{EndCause, Ended, SignIn, Started, end, end_sid};

/// `[sessions]` in the configuration.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    #[serde(default = "default_idle")]
    pub idle_minutes: u64,
    /// A session ends this long after its sign-in, used or not.
    #[serde(default = "default_absolute")]
    pub absolute_minutes: u64,
    /// From this required level up (1 to 4), every login signs in afresh at the provider; 0
    /// lets every level reuse a session.
    #[serde(default = "default_fresh_from")]
    pub fresh_sign_in_from: u8,
}

fn default_idle() -> u64 {
    30
}
fn default_absolute() -> u64 {
    8 * 60
}
fn default_fresh_from() -> u8 {
    4
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_minutes: default_idle(),
            absolute_minutes: default_absolute(),
            fresh_sign_in_from: default_fresh_from(),
        }
    }
}

impl SessionPolicy {
    pub fn idle(&self) -> Duration {
        Duration::from_secs(self.idle_minutes.max(1) * 60)
    }

    pub fn absolute(&self) -> Duration {
        Duration::from_secs(self.absolute_minutes.max(1) * 60)
    }

    pub fn rules(&self) -> ReuseRules {
        ReuseRules {
            fresh_sign_in_from: AssuranceLevel::from_number(i64::from(self.fresh_sign_in_from)),
        }
    }

    /// What the configuration says, checked at start.
    pub fn check(&self) -> Result<(), String> {
        if self.fresh_sign_in_from > 4 {
            return Err(
                "sessions.fresh_sign_in_from must be 0 (never) or a level from 1 to 4".into(),
            );
        }
        if self.idle_minutes > self.absolute_minutes {
            return Err("sessions.idle_minutes may not exceed sessions.absolute_minutes".into());
        }
        Ok(())
    }
}

/// A person's session at the broker, kept under its `sid`.
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    /// The session's public id: in ID tokens and logout tokens as `sid`, and the store key.
    pub sid: String,
    /// SHA-256 of the cookie's secret half: the sid alone (which services see) opens nothing.
    secret: String,
    /// SHA-256 of the browser-binding cookie: the session is used by the browser it started in
    /// only, as a login is.
    pub browser: String,
    pub provider_id: String,
    /// The provider's subject, and its session id when its ID token had one: how the
    /// provider's back-channel logout finds this session.
    pub upstream_subject: String,
    pub upstream_sid: Option<String>,
    /// The provider's ID token, for `id_token_hint` at its end-session endpoint.
    pub upstream_id_token: String,
    pub acr: Option<String>,
    /// The level the provider's sign-in achieved, as the trust framework judged it.
    pub level: AssuranceLevel,
    /// When the person signed in at the provider (its `auth_time`, or when the broker checked
    /// the sign-in if it did not say), Unix seconds.
    pub auth_time: i64,
    /// Whether the provider said `auth_time` itself: ID tokens carry only what it vouched for.
    pub auth_time_from_provider: bool,
    pub started_at: i64,
    /// The absolute end, Unix seconds.
    pub expires_at: i64,
    /// The provider's claims from the sign-in, to release again without asking it.
    pub claims: Map<String, Value>,
    pub lang: Lang,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("sid", &self.sid)
            .field("provider_id", &self.provider_id)
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The attributes the provider's claims of this session attest, by the provider's claim
    /// names.
    pub fn attested(&self, provider: &IdentityProvider) -> BTreeSet<Attribute> {
        Attribute::ALL
            .iter()
            .copied()
            .filter(|a| self.claims.contains_key(provider.claim_of_attribute(*a)))
            .collect()
    }

    pub fn auth_time(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.auth_time).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// How long the session's store entries may live from `now`: the idle lifetime, within the
    /// absolute one.
    pub(crate) fn ttl(&self, policy: &SessionPolicy, now: OffsetDateTime) -> Duration {
        policy.idle().min(self.lifetime_left(now))
    }

    /// How long the session's indexes live: to its absolute end.
    pub(crate) fn lifetime_left(&self, now: OffsetDateTime) -> Duration {
        until(self.expires_at, now)
    }
}

/// From `now` to `end` (Unix seconds), at least a second: a store entry always has a lifetime.
pub(crate) fn until(end: i64, now: OffsetDateTime) -> Duration {
    let left = u64::try_from(end - now.unix_timestamp()).unwrap_or(0);
    Duration::from_secs(left.max(1))
}

/// A service a session served: who gets a logout token when it ends, and under which subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Served {
    pub client_id: String,
    /// The service's pairwise subject for the person.
    pub subject: String,
}

/// The key of a provider-side index entry: a provider's session, or its subject.
pub(crate) fn provider_key(provider_id: &str, by: ProviderRef<'_>) -> String {
    match by {
        ProviderRef::Sid(sid) => format!("{provider_id} sid {sid}"),
        ProviderRef::Sub(sub) => format!("{provider_id} sub {sub}"),
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum ProviderRef<'a> {
    Sid(&'a str),
    Sub(&'a str),
}
