//! The provider profile: static checks of discovery and keys, then live checks with a test
//! client. The broker profile ([`crate::broker`]) runs these first.

mod ask;
mod discovery;
mod id_token;
mod live;
mod refusals;
mod tokens;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use trust_framework::IdentityProvider;

use crate::check::{Report, Subject};
use crate::http::{CaBundle, Http};
use crate::{Error, TestClient};

pub(crate) use discovery::is_loopback;
pub use id_token::{BROKER_ALGS, MAX_AGE_SECONDS, SKEW_SECONDS};
pub(crate) use live::{LiveContext, Tokens, id_token_of, main_flow_walk};

/// How the live checks ask for a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Asking {
    /// As the broker asks this provider (`trust_framework::upstream`): its mapped acr values,
    /// the `claims` request for the attributes it attests, `login_hint`, `ui_locales`. A
    /// provider is judged on the requests it will actually receive.
    #[default]
    AsTheBroker,
    /// As a relying service asks the broker: `scope` and `login_hint` only.
    AsAService,
}

/// What to check, and how.
#[derive(Debug, Clone)]
pub struct ProviderTarget {
    /// The issuer as the provider was registered (compared byte for byte).
    pub issuer: String,
    /// `http://` on a loopback host is a warning instead of a failure (test providers).
    pub allow_loopback_http: bool,
    /// A client registered at the provider; without it the live checks are skipped.
    pub client: Option<TestClient>,
    /// Signs a test person in without a page.
    pub login_hint: Option<String>,
    /// The provider's registry entry: acr mapping and attested attributes.
    pub registry_entry: Option<IdentityProvider>,
    /// The scope of the live authorization requests made as a service; as the broker, the
    /// scopes come from the registry entry or discovery, and this only when neither says.
    pub scope: String,
    /// Added to every authorization request (e.g. `idp_hint` for the broker).
    pub extra_params: Vec<(String, String)>,
    pub asking: Asking,
    /// More trusted roots, for a provider whose certificate comes from a private certificate
    /// authority (a test deployment).
    pub ca_bundle: Option<CaBundle>,
}

impl ProviderTarget {
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            allow_loopback_http: false,
            client: None,
            login_hint: None,
            registry_entry: None,
            scope: "openid profile".into(),
            extra_params: Vec::new(),
            asking: Asking::AsTheBroker,
            ca_bundle: None,
        }
    }
}

/// The discovery document and keys, once fetched.
#[derive(Debug, Clone)]
pub(crate) struct Metadata {
    pub doc: Map<String, Value>,
    pub keys: Vec<Map<String, Value>>,
}

impl Metadata {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.doc.get(name).and_then(Value::as_str)
    }

    pub fn list(&self, name: &str) -> Vec<&str> {
        self.doc
            .get(name)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The issuer the provider declares (live checks compare against it, so that a provider
    /// configured with another issuer fails the discovery check once, not every check).
    pub fn issuer(&self) -> &str {
        self.str("issuer").unwrap_or_default()
    }
}

/// Runs the provider profile.
pub async fn check_provider(target: &ProviderTarget, now: OffsetDateTime) -> Result<Report, Error> {
    let mut report = Report::new(
        Subject::Provider {
            issuer: target.issuer.clone(),
        },
        now,
    );
    run(&mut report, target, now).await?;
    Ok(report)
}

/// Runs every provider check into `report`; returns what the broker profile builds on.
pub(crate) async fn run(
    report: &mut Report,
    target: &ProviderTarget,
    now: OffsetDateTime,
) -> Result<Option<LiveContext>, Error> {
    url::Url::parse(&target.issuer).map_err(|e| Error::InvalidIssuer(target.issuer.clone(), e))?;
    let http = Http::new(target.ca_bundle.as_ref())?;
    let metadata = discovery::run(report, &http, target).await;
    Ok(live::run(report, target, metadata.as_ref(), now).await)
}
