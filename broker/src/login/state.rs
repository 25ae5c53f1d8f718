//! What the broker keeps between the steps of a login. Debug output hides every secret
//! (PKCE verifiers, codes, nonces are only ever shown as `***`).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use trust_framework::{AssuranceLevel, Attribute, Decision, Lang};

/// A login between `/authorize` and `/callback`, keyed by `txn` (also the upstream `state`).
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: String,
    pub code_challenge: String,
    pub attributes: BTreeSet<Attribute>,
    pub level: Option<AssuranceLevel>,
    /// `max_age` asked by the service (0 for `prompt=login`): forwarded to the provider, and
    /// its `auth_time` checked against it on the way back.
    #[serde(default)]
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    pub ui_locales: Vec<String>,
    pub lang: Lang,
    pub decision: Decision,
    /// SHA-256 of the browser-binding cookie: the callback must come from the same browser.
    pub browser: String,
    /// Anti-CSRF token of the picker form.
    pub csrf: String,
    pub upstream: Option<UpstreamLeg>,
}

/// The request made to the chosen provider.
#[derive(Clone, Serialize, Deserialize)]
pub struct UpstreamLeg {
    pub provider_id: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// When the person was sent there (Unix seconds): the moment `max_age` is measured from.
    #[serde(default)]
    pub sent_at: i64,
}

/// An authorization code's grant, redeemed once at `/token`.
#[derive(Clone, Serialize, Deserialize)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: String,
    pub txn: String,
    pub subject: String,
    pub acr: String,
    /// The provider's `auth_time`; `None` when it did not say (the ID token then has none,
    /// rather than a time the broker cannot vouch for).
    #[serde(default)]
    pub auth_time: Option<i64>,
    /// Released attributes under their OpenID Connect claim names.
    pub claims: Map<String, Value>,
    pub verified_claims: Value,
}

/// What an access token gives at `/userinfo`.
#[derive(Clone, Serialize, Deserialize)]
pub struct AccessGrant {
    pub client_id: String,
    pub subject: String,
    pub claims: Map<String, Value>,
    pub verified_claims: Value,
}

macro_rules! redacted_debug {
    ($ty:ident, $($field:ident),*) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}

redacted_debug!(
    PendingLogin,
    client_id,
    redirect_uri,
    attributes,
    level,
    lang
);
redacted_debug!(UpstreamLeg, provider_id);
redacted_debug!(CodeGrant, client_id, txn, acr);
redacted_debug!(AccessGrant, client_id);
