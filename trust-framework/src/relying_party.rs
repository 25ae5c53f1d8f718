//! Relying parties: the government services that ask the broker who a person is.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::jurisdiction::Jurisdiction;
use crate::provider::Status;
use crate::secret::SecretRef;
use crate::text::Bilingual;

/// How the relying party authenticates at the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum ClientAuth {
    ClientSecretBasic { secret: SecretRef },
    ClientSecretPost { secret: SecretRef },
    PrivateKeyJwt { keys: ClientKeys },
}

impl ClientAuth {
    pub fn method(&self) -> &'static str {
        match self {
            Self::ClientSecretBasic { .. } => "client_secret_basic",
            Self::ClientSecretPost { .. } => "client_secret_post",
            Self::PrivateKeyJwt { .. } => "private_key_jwt",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKeys {
    Jwks(serde_json::Value),
    JwksUri(Url),
}

/// Algorithms the broker signs its ID tokens with, per relying party. ES256 is the default
/// because it is the fastest to sign of the FAPI 2.0 algorithms and has small signatures.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub enum SigningAlg {
    #[default]
    ES256,
    PS256,
    RS256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 4] = [Self::ES256, Self::PS256, Self::RS256, Self::EdDSA];

    pub fn name(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::PS256 => "PS256",
            Self::RS256 => "RS256",
            Self::EdDSA => "EdDSA",
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SigningAlg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| format!("{s:?} is not a supported ID token signing algorithm (ES256, PS256, RS256, EdDSA)"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelyingParty {
    pub client_id: String,
    pub name: Bilingual,
    pub jurisdiction: Jurisdiction,
    /// Compared byte for byte with the request's `redirect_uri` (RFC 9700 section 4.1.3).
    pub redirect_uris: Vec<String>,
    pub auth: ClientAuth,
    /// Services of one sector share pairwise subjects; different sectors can never correlate.
    pub sector_identifier: String,
    pub id_token_alg: SigningAlg,
    /// Pushed authorization requests only (RFC 9126 section 6): the request reaches the broker
    /// authenticated, over a back channel, and never travels through the browser.
    pub require_par: bool,
    /// Where the person may be sent after signing out (RP-Initiated Logout 1.0), matched
    /// exactly.
    pub post_logout_redirect_uris: Vec<String>,
    /// Where logout tokens are posted when a session the service was part of ends
    /// (Back-Channel Logout 1.0); none means the service is not told.
    pub backchannel_logout_uri: Option<Url>,
    /// Where Security Event Tokens are pushed (RFC 8935) when a person withdraws a consent
    /// the service relied on; none means the service is not told.
    pub security_events_uri: Option<Url>,
    pub status: Status,
}

impl RelyingParty {
    /// Exact string comparison: no normalisation, no prefix or pattern match.
    pub fn allows_redirect(&self, redirect_uri: &str) -> bool {
        self.redirect_uris.iter().any(|u| u == redirect_uri)
    }

    /// As [`RelyingParty::allows_redirect`], for the return after signing out.
    pub fn allows_post_logout_redirect(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|u| u == uri)
    }
}
