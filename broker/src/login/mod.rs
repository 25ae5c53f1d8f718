//! A login, from the service's request to the code it redeems: one state machine.
//!
//! ```text
//!  /authorize ─ start ─┬─────────────────────────────► AtProvider ── returned ──┬─► AwaitingConsent ── decide ──► CodeIssued
//!  (or /par)           │  one provider, a hint or       ▲   (upstream state)     │    (the page's key)               (the code)
//!                      │  a remembered choice           │                        ├─► CodeIssued: a remembered consent
//!                      └─► Choosing ──── choose ────────┘                        └─► Choosing (a new login): the provider
//!                          (the login's txn)                                          fell short of the level, others remain
//! ```
//!
//! Each state is a type ([`Choosing`], [`AtProvider`], [`AwaitingConsent`], [`CodeGrant`]),
//! kept in the state store under a kind of its own between two requests, watched so that a
//! login abandoned at any step still ends in the audit trail ([`abandoned`]). Each transition
//! takes the state it starts from, by value, and returns the next [`Login`] or the
//! [`Failure`] that ends it; the handlers in [`endpoints`] and `crate::oidc` only turn HTTP
//! into a transition and its result into HTTP. Only `trust_framework::decide` (in [`start`])
//! and `trust_framework::release` (in [`returned`]) decide what a login may do and release.

pub mod abandoned;
mod choose;
mod code;
mod consent;
pub(crate) mod ending;
pub(crate) mod endpoints;
pub(crate) mod form_tokens;
mod provider;
pub(crate) mod request;
pub(crate) mod returned;
mod reuse;
mod start;
pub mod state;

pub(crate) use code::redeem;
pub(crate) use consent::display;
pub use ending::Failure;
pub use request::{AuthorizeRequest, Origin};
pub use returned::Returned;
pub(crate) use start::start;
pub use state::{AtProvider, AwaitingConsent, Choosing, CodeGrant, ReturnTo};

/// How a step's kept state is had: read (its page may be shown again) or taken (one time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Take,
}

/// A login's state kept under `key`: the error page when the store fails, the "expired" page
/// when there is none (expired, already completed, or never there).
async fn kept<T: serde::de::DeserializeOwned>(
    broker: &crate::app::Broker,
    kind: crate::store::Kind,
    key: &str,
    lang: trust_framework::Lang,
    access: Access,
) -> Result<T, Failure> {
    let found = match access {
        Access::Read => broker.store.get(kind, key).await,
        Access::Take => broker.store.take(kind, key).await,
    };
    found
        .map_err(|e| Failure::page(lang, crate::oidc::error::OAuthError::from_store(&e)))?
        .ok_or_else(|| Failure::expired(lang))
}

/// Where a transition leaves the login, and what the person's browser is shown or sent to.
#[derive(Debug)]
pub enum Login {
    /// The picker: the person chooses a provider. `step_up` when it is shown again because the
    /// provider first chosen fell short of the required level.
    Choosing { choosing: Choosing, step_up: bool },
    /// The person is sent to the provider's authorization endpoint.
    AtProvider { at: Box<AtProvider>, url: url::Url },
    /// The notice-and-consent page; `form` is the key of the page's decision.
    AwaitingConsent {
        awaiting: AwaitingConsent,
        form: String,
    },
    /// The code goes back to the service.
    CodeIssued {
        grant: CodeGrant,
        code: String,
        state: Option<String>,
    },
}
