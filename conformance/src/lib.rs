//! The auditor's conformance suite.
//!
//! - [`provider::check_provider`]: an OpenID provider (a provincial or federal identity
//!   provider) over HTTP: static checks of its discovery document and keys, and, with a test
//!   client and an automatically completed login, live checks of the code + PKCE flow and of
//!   what it must refuse.
//! - [`broker::check_broker`]: the broker's profile: everything above, plus pairwise subjects,
//!   `verified_claims` under `ca_pctf`, agreed attributes only, consent refusal honoured, and
//!   sessions and logout probed as the OpenID Foundation's suite probes a provider
//!   (`prompt=none` with and without a session, `max_age`, `prompt=login`, a code redeemed
//!   twice, logout's metadata and a forged `id_token_hint`).
//! - [`registry::check_registry`]: the trust framework's static rules on a registry file.
//! - [`log`]: the broker's tamper-evident log, checked by an auditor (`log verify`) and cosigned
//!   by a witness (`log witness`).
//!
//! Every check has a stable id, a bilingual title, the rule it comes from, an [`Outcome`] and
//! redacted evidence. [`Report::passed`] gates provider registration: no required check failed.
//! Time is a parameter: every entry point takes `now`.

pub mod broker;
pub mod catalogue;
pub mod check;
pub mod evidence;
mod flow;
mod html_form;
mod http;
mod jose;
pub mod log;
pub mod provider;
pub mod registry;
pub mod report;

pub use check::{CheckDef, CheckResult, Outcome, Report, Subject, Text};
pub use evidence::Exchange;
pub use http::CaBundle;

/// A test client registered at the provider under test. Its redirect URI is never listened
/// on: the suite acts as the browser and stops at the redirect.
#[derive(Clone)]
pub struct TestClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

impl std::fmt::Debug for TestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

/// Errors that stop a run before any check (the checks themselves never error: a problem
/// with the subject is a failed check).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    #[error("no cryptography provider is installed for TLS and JOSE")]
    CryptoProvider,
    #[error("the issuer {0:?} is not a URL: {1}")]
    InvalidIssuer(String, #[source] url::ParseError),
    #[error("the provider {0:?} is not in the registry")]
    UnknownProvider(String),
    #[error("cannot serialize the report: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("cannot read the CA bundle {}: {source}", path.display())]
    CaBundleUnreadable {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("the CA bundle {} is not usable: {reason}", path.display())]
    CaBundleInvalid {
        path: std::path::PathBuf,
        reason: String,
    },
}

/// Installs aws-lc-rs as rustls' process-wide provider, which reqwest (built without a
/// provider of its own) takes its TLS from. Idempotent. No other provider is linked in, so
/// the one installed is aws-lc-rs.
pub fn install_crypto_provider() -> Result<(), Error> {
    // Err only when a provider is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    rustls::crypto::CryptoProvider::get_default().ok_or(Error::CryptoProvider)?;
    Ok(())
}
