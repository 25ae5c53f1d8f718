//! The registry file as written by people: plain strings where a mistake is likely, so that
//! validation (not the parser) can report every mistake with its place. The admin API edits
//! this same form and sends it through the same validation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::secret::SecretRef;
use crate::text::Bilingual;

/// The only registry file format version this build reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryFile {
    pub registry: RegistryMeta,
    #[serde(default)]
    pub providers: Vec<ProviderEntry>,
    #[serde(default)]
    pub relying_parties: Vec<RelyingPartyEntry>,
    #[serde(default)]
    pub agreements: Vec<AgreementEntry>,
    /// Keys each jurisdiction signs software statements with, for dynamic client registration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statement_keys: Vec<StatementKeyEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementKeyEntry {
    pub jurisdiction: String,
    pub kid: String,
    /// The public JWK.
    pub jwk: serde_json::Value,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryMeta {
    pub version: u32,
    #[serde(default)]
    pub name: String,
    /// A development registry may use `http://` on loopback addresses; nothing else may.
    #[serde(default)]
    pub development: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderEntry {
    pub id: String,
    pub jurisdiction: String,
    #[serde(default)]
    pub name: Bilingual,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretRef,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub acr_map: BTreeMap<String, i64>,
    #[serde(default)]
    pub claim_map: BTreeMap<String, String>,
    #[serde(default)]
    pub attributes: Vec<String>,
    #[serde(default)]
    pub certifications: Vec<CertificationEntry>,
    #[serde(default = "default_status")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// Who registered the entry through the admin API: they may not also approve it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificationEntry {
    pub component: String,
    pub level: i64,
    pub not_before: String,
    pub not_after: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessor: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelyingPartyEntry {
    pub client_id: String,
    #[serde(default)]
    pub name: Bilingual,
    pub jurisdiction: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    pub sector_identifier: String,
    #[serde(default = "default_alg")]
    pub id_token_signed_response_alg: String,
    /// RFC 9126 client metadata: this service may only start a login with a pushed request.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_pushed_authorization_requests: bool,
    /// RP-Initiated Logout 1.0: where the person may be sent back after signing out, compared
    /// byte for byte as redirect URIs are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Back-Channel Logout 1.0: where the broker posts a logout token when a session this
    /// service was part of ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// RFC 8935: where the broker pushes Security Event Tokens (RFC 8417) telling this
    /// service that a person withdrew a consent it relied on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_events_uri: Option<String>,
    #[serde(default = "default_status")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// Who registered the entry through the admin API: they may not also approve it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementEntry {
    pub id: String,
    pub version: u32,
    pub relying_party: String,
    /// Provider ids or jurisdiction codes.
    #[serde(default)]
    pub providers: Vec<String>,
    #[serde(default)]
    pub purpose: Bilingual,
    #[serde(default)]
    pub attributes: Vec<String>,
    pub minimum_level: i64,
    pub legal_basis: String,
    pub not_before: String,
    pub not_after: String,
    pub retention_days: u32,
    /// The law that authorizes the collection: required for a notice agreement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_authority: Option<crate::agreement::LegalAuthority>,
    #[serde(default = "default_status")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".to_owned()]
}

fn default_status() -> String {
    "active".to_owned()
}

fn default_alg() -> String {
    "ES256".to_owned()
}
