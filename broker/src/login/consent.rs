//! Notice and consent (PCTF notice-and-consent component): before any release the person sees
//! the service, its purpose, the provider and each attribute; under a `consent` agreement they
//! choose to share or not, under a `notice` agreement they are told. Decisions are recorded,
//! and a remembered consent is reused only for the same agreement version and attributes.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use trust_framework::{Attribute, LegalBasis};

use crate::http::browser::hash;
use crate::login::state::CodeGrant;

/// A login that reached release and waits for the person's decision.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingConsent {
    pub grant: CodeGrant,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub provider_id: String,
    pub agreement_id: String,
    pub agreement_version: u32,
    pub legal_basis: LegalBasis,
    pub attributes: Vec<(Attribute, Value)>,
    pub lang: trust_framework::Lang,
    /// SHA-256 of the browser-binding cookie: the decision must come from the same browser
    /// (its form token is bound to it as well, `crate::login::form_tokens`).
    pub browser: String,
}

impl std::fmt::Debug for PendingConsent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingConsent")
            .field("client_id", &self.grant.client_id)
            .field("agreement_id", &self.agreement_id)
            .finish_non_exhaustive()
    }
}

/// What was agreed: kept so that an auditor can see who agreed to what, when, under which
/// version of which agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub subject: String,
    pub client_id: String,
    pub agreement_id: String,
    pub agreement_version: u32,
    pub attributes: BTreeSet<Attribute>,
    pub given_at: i64,
}

/// The key of a remembered consent: one per person, service and agreement version, so that an
/// amended agreement (a new version) asks again.
pub fn record_key(subject: &str, client_id: &str, agreement_id: &str, version: u32) -> String {
    hash(&format!(
        "{}\u{0}{}\u{0}{}\u{0}{}",
        subject, client_id, agreement_id, version
    ))
}

/// A remembered consent covers a release only for exactly the same attributes.
pub fn covers(
    record: &ConsentRecord,
    attributes: &BTreeSet<Attribute>,
    agreement_version: u32,
) -> bool {
    record.agreement_version == agreement_version && &record.attributes == attributes
}

/// A value as a person reads it: strings as they are, an address by its `formatted` member or
/// its parts, anything else as compact JSON.
pub fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(map) => {
            if let Some(Value::String(f)) = map.get("formatted") {
                return f.replace('\n', ", ");
            }
            let parts: Vec<String> = [
                "street_address",
                "locality",
                "region",
                "postal_code",
                "country",
            ]
            .iter()
            .filter_map(|k| map.get(*k).and_then(Value::as_str).map(str::to_owned))
            .collect();
            if parts.is_empty() {
                value.to_string()
            } else {
                parts.join(", ")
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(attrs: &[Attribute], version: u32) -> ConsentRecord {
        ConsentRecord {
            subject: "s".into(),
            client_id: "c".into(),
            agreement_id: "a".into(),
            agreement_version: version,
            attributes: attrs.iter().copied().collect(),
            given_at: 0,
        }
    }

    #[test]
    fn remembered_consent_needs_the_same_version_and_attributes() {
        let r = record(&[Attribute::GivenName, Attribute::Birthdate], 2);
        let same: BTreeSet<Attribute> = [Attribute::GivenName, Attribute::Birthdate].into();
        assert!(covers(&r, &same, 2));
        assert!(!covers(&r, &same, 3), "an amended agreement asks again");
        assert!(
            !covers(&r, &[Attribute::GivenName].into(), 2),
            "fewer attributes: ask again"
        );
        assert!(!covers(
            &r,
            &[
                Attribute::GivenName,
                Attribute::Birthdate,
                Attribute::Address
            ]
            .into(),
            2
        ));
    }

    #[test]
    fn record_keys_separate_people_services_and_versions() {
        let k = record_key("s", "c", "a", 1);
        assert_ne!(k, record_key("s", "c", "a", 2));
        assert_ne!(k, record_key("s2", "c", "a", 1));
        assert_ne!(k, record_key("s", "c2", "a", 1));
        assert_eq!(k, record_key("s", "c", "a", 1));
    }

    #[test]
    fn values_read_as_text() {
        assert_eq!(display(&json!("Amélie")), "Amélie");
        assert_eq!(
            display(&json!({"formatted": "10 Main St\nEdmonton AB"})),
            "10 Main St, Edmonton AB"
        );
        assert_eq!(
            display(&json!({"locality": "Edmonton", "region": "AB"})),
            "Edmonton, AB"
        );
        assert_eq!(display(&json!(true)), "true");
    }
}
