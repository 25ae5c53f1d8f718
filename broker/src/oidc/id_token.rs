//! The broker's own assertion to a relying party.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use trust_framework::{Attribute, IdentityProvider, Release};

use crate::login::state::CodeGrant;

/// ID tokens live five minutes: they are consumed at once by the relying party.
pub const ID_TOKEN_LIFETIME: i64 = 300;

/// Released attributes under their OpenID Connect claim names.
pub fn released_claims(release: &Release) -> Map<String, Value> {
    release
        .attributes()
        .iter()
        .map(|(a, v): (&Attribute, &Value)| (a.claim().to_owned(), v.clone()))
        .collect()
}

/// `verified_claims` (OpenID Connect for Identity Assurance 1.0): who verified what, under
/// which trust framework and at which level.
pub fn verified_claims(
    release: &Release,
    provider: &IdentityProvider,
    txn: &str,
    auth_time: OffsetDateTime,
) -> Value {
    let time = auth_time
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    json!({
        "verification": {
            "trust_framework": "ca_pctf",
            "assurance_level": release.level().acr(),
            "time": time,
            "verification_process": txn,
            "attesting_jurisdiction": release.jurisdiction().code(),
            "attesting_provider": provider.id,
            "agreement": { "id": release.agreement_id(), "version": release.agreement_version() },
        },
        "claims": Value::Object(released_claims(release)),
    })
}

/// The claims of the ID token for a redeemed code.
pub fn claims(issuer: &str, grant: &CodeGrant, now: OffsetDateTime) -> Map<String, Value> {
    let iat = now.unix_timestamp();
    let mut claims = Map::new();
    claims.insert("iss".into(), Value::from(issuer));
    claims.insert("sub".into(), Value::from(grant.subject.clone()));
    claims.insert("aud".into(), Value::from(grant.client_id.clone()));
    claims.insert("iat".into(), Value::from(iat));
    claims.insert("exp".into(), Value::from(iat + ID_TOKEN_LIFETIME));
    if let Some(auth_time) = grant.auth_time {
        claims.insert("auth_time".into(), Value::from(auth_time));
    }
    claims.insert("nonce".into(), Value::from(grant.nonce.clone()));
    claims.insert("acr".into(), Value::from(grant.acr.clone()));
    claims.insert("txn".into(), Value::from(grant.txn.clone()));
    for (k, v) in &grant.claims {
        claims.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if !grant.verified_claims.is_null() {
        claims.insert("verified_claims".into(), grant.verified_claims.clone());
    }
    claims
}
