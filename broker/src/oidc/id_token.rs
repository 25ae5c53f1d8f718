//! The broker's own assertion to a relying party.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use trust_framework::Attribute;

use crate::login::state::{CodeGrant, Granted};

/// ID tokens live five minutes: they are consumed at once by the relying party.
pub const ID_TOKEN_LIFETIME: i64 = 300;

/// Released attributes under their OpenID Connect claim names.
pub fn released_claims(attributes: &[(Attribute, Value)]) -> Map<String, Value> {
    attributes
        .iter()
        .map(|(a, v)| (a.claim().to_owned(), v.clone()))
        .collect()
}

/// `verified_claims` (OpenID Connect for Identity Assurance 1.0): who verified what, under
/// which trust framework and at which level, for the login `txn`.
pub fn verified_claims(granted: &Granted, txn: &str) -> Value {
    let time = OffsetDateTime::from_unix_timestamp(granted.verified_at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    json!({
        "verification": {
            "trust_framework": "ca_pctf",
            "assurance_level": granted.level.acr(),
            "time": time,
            "verification_process": txn,
            "attesting_jurisdiction": granted.jurisdiction.code(),
            "attesting_provider": granted.provider_id,
            "agreement": { "id": granted.agreement_id, "version": granted.agreement_version },
        },
        "claims": Value::Object(released_claims(&granted.attributes)),
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
    if let Some(sid) = &grant.sid {
        claims.insert("sid".into(), Value::from(sid.clone()));
    }
    for (k, v) in &grant.claims {
        claims.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if !grant.verified_claims.is_null() {
        claims.insert("verified_claims".into(), grant.verified_claims.clone());
    }
    claims
}
