//! The data of each state of a login, as the state store keeps it between two requests.
//!
//! Debug output hides every secret (PKCE verifiers, codes, nonces are never shown) and every
//! attribute value.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use trust_framework::{
    AssuranceLevel, Attribute, Candidate, Decision, Jurisdiction, Lang, LegalBasis,
};

/// Where the answer goes: the redirect URI the service sent (already matched exactly against
/// its registration) and its `state`, echoed back.
#[derive(Clone, Serialize, Deserialize)]
pub struct ReturnTo {
    pub redirect_uri: String,
    pub state: Option<String>,
    /// The person's language at the latest step, kept here so that every way a login can end
    /// knows it.
    #[serde(default)]
    pub lang: Lang,
    /// The languages the service's `ui_locales` named: an `error_description` goes back in the
    /// person's language only to a service that asked for it, in English otherwise.
    #[serde(default)]
    pub service_langs: Vec<Lang>,
}

impl ReturnTo {
    /// The language of the `error_description` this service is sent.
    pub fn description_lang(&self) -> Lang {
        if self.service_langs.contains(&self.lang) {
            self.lang
        } else {
            Lang::En
        }
    }
}

/// The service's request, as every state carries it until the code.
#[derive(Clone, Serialize, Deserialize)]
pub struct ServiceRequest {
    pub client_id: String,
    pub return_to: ReturnTo,
    pub nonce: String,
    pub code_challenge: String,
    pub attributes: BTreeSet<Attribute>,
    pub level: Option<AssuranceLevel>,
    /// `max_age` asked by the service (0 for `prompt=login`): forwarded to the provider, and
    /// its `auth_time` checked against it on the way back.
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    pub ui_locales: Vec<String>,
    #[serde(default)]
    pub prompt: Prompt,
}

/// What the service's `prompt` asked (OpenID Connect Core 3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// No page at all: a code from the session, or `login_required`, `consent_required`,
    /// `interaction_required`.
    pub none: bool,
    /// A fresh sign-in at the provider, whatever the session.
    pub login: bool,
    /// The consent page, even when a remembered consent would cover the release.
    pub consent: bool,
}

/// The session a login belongs to: its code's ID token names it (`sid`), and the service is
/// added to it, to be told when it ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionLink {
    pub sid: String,
    /// The session's absolute end (Unix seconds): how long the service stays on its list.
    pub expires_at: i64,
}

/// What a login knows from its start until the provider answers.
#[derive(Clone, Serialize, Deserialize)]
pub struct Pending {
    /// The login's id in the audit trail; also the key of its state and the upstream `state`.
    pub txn: String,
    pub request: ServiceRequest,
    pub lang: Lang,
    /// The trust framework's decision at the start: the providers the person may use.
    pub decision: Decision,
    /// SHA-256 of the browser-binding cookie: every step must come from the same browser.
    pub browser: String,
}

/// Waiting for the person's choice on the picker.
#[derive(Clone, Serialize, Deserialize)]
pub struct Choosing {
    pub login: Pending,
    /// The picker form's anti-CSRF token.
    pub csrf: String,
}

/// The person was sent to a provider; waiting for them to come back.
#[derive(Clone, Serialize, Deserialize)]
pub struct AtProvider {
    pub login: Pending,
    /// The candidate chosen, as the decision had it.
    pub candidate: Candidate,
    pub leg: UpstreamLeg,
}

/// The request made to the chosen provider.
#[derive(Clone, Serialize, Deserialize)]
pub struct UpstreamLeg {
    pub nonce: String,
    pub pkce_verifier: String,
    /// When the person was sent there (Unix seconds): the moment `max_age` is measured from.
    pub sent_at: i64,
}

/// The provider confirmed the person and the trust framework released; waiting for the
/// person's decision on the notice-and-consent page.
#[derive(Clone, Serialize, Deserialize)]
pub struct AwaitingConsent {
    pub txn: String,
    pub client_id: String,
    pub return_to: ReturnTo,
    pub nonce: String,
    pub code_challenge: String,
    pub lang: Lang,
    /// SHA-256 of the browser-binding cookie (the form token is bound to it as well,
    /// `super::form_tokens`).
    pub browser: String,
    pub granted: Granted,
    #[serde(default)]
    pub session: Option<SessionLink>,
    #[serde(default)]
    pub prompt: Prompt,
}

/// What the trust framework released for one login, as it reaches the service once the person
/// agrees: the attributes and the terms they go under.
#[derive(Clone, Serialize, Deserialize)]
pub struct Granted {
    pub provider_id: String,
    pub jurisdiction: Jurisdiction,
    pub agreement_id: String,
    pub agreement_version: u32,
    pub legal_basis: LegalBasis,
    pub level: AssuranceLevel,
    /// The pairwise subject for the service's sector.
    pub subject: String,
    /// The person key of the records (`crate::oidc::pairwise`), with which the person finds
    /// their own disclosures.
    pub person_key: String,
    /// The provider's `auth_time`; `None` when it did not say (the ID token then has none,
    /// rather than a time the broker cannot vouch for).
    pub auth_time: Option<i64>,
    /// When the identity was verified for `verified_claims`: the provider's sign-in, or, when
    /// it did not say, the broker's check.
    pub verified_at: i64,
    pub attributes: Vec<(Attribute, Value)>,
    /// Asked but not released (outside the agreement, or not attested): names only.
    pub withheld: BTreeSet<Attribute>,
}

impl Granted {
    pub fn attribute_names(&self) -> BTreeSet<Attribute> {
        self.attributes.iter().map(|(a, _)| *a).collect()
    }
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
    pub auth_time: Option<i64>,
    /// Released attributes under their OpenID Connect claim names.
    pub claims: Map<String, Value>,
    pub verified_claims: Value,
    /// The broker session's id, for the ID token's `sid`.
    #[serde(default)]
    pub sid: Option<String>,
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

redacted_debug!(ServiceRequest, client_id, attributes, level);
redacted_debug!(Pending, txn, request, lang);
redacted_debug!(Choosing, login);
redacted_debug!(AtProvider, login);
redacted_debug!(UpstreamLeg, sent_at);
redacted_debug!(AwaitingConsent, txn, client_id, granted);
redacted_debug!(Granted, provider_id, agreement_id, level);
redacted_debug!(CodeGrant, client_id, txn, acr);

impl fmt::Debug for ReturnTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReturnTo")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}
