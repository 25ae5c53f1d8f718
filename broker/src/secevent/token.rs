//! The Security Event Token (RFC 8417) that tells a service a person withdrew a consent.
//!
//! It must never pass for an ID token or a logout token (RFC 8417 section 4.3): it has its
//! own `typ` (`secevent+jwt`), its `events` claim, no `nonce`, and no top-level `sub` (the
//! subject is in `sub_id`, RFC 9493). It has no `exp`: it states a fact at a moment (`iat`),
//! which stays true, and a service that wants a freshness bound applies it to `iat`; replays
//! are caught by `jti`, fresh at each try.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::ConsentWithdrawn;
use crate::http::browser::random_token;

/// The event member of a consent withdrawn SET: the trust framework's own URN.
pub const EVENT: &str = "urn:pctf:event:consent-withdrawn";
/// The `typ` of every SET (RFC 8417 section 2.3).
pub const TYP: &str = "secevent+jwt";

/// The claims of the SET telling `event.client_id` of `event`, signed at `now`.
pub fn claims(issuer: &str, event: &ConsentWithdrawn, now: OffsetDateTime) -> Map<String, Value> {
    let attributes: Vec<&str> = event.attributes.iter().map(|a| a.name()).collect();
    let value = json!({
        "iss": issuer,
        "aud": event.client_id,
        "iat": now.unix_timestamp(),
        "jti": random_token(),
        "sub_id": {
            "format": "iss_sub",
            "iss": issuer,
            "sub": event.subject,
        },
        "events": {
            EVENT: {
                "agreement_id": event.agreement_id,
                "agreement_version": event.agreement_version,
                "attributes": attributes,
                "withdrawn_at": event.withdrawn_at_ms.div_euclid(1000),
                "reason": event.reason,
            }
        },
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use trust_framework::Attribute;

    use super::*;

    fn event() -> ConsentWithdrawn {
        ConsentWithdrawn {
            client_id: "rp".into(),
            subject: "pairwise".into(),
            agreement_id: "agreement-1".into(),
            agreement_version: 3,
            attributes: BTreeSet::from([Attribute::GivenName, Attribute::Birthdate]),
            withdrawn_at_ms: 1_800_000_000_500,
            reason: "no_longer_needed".into(),
        }
    }

    #[test]
    fn a_set_names_the_subject_in_sub_id_and_never_passes_for_an_id_token() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_010).unwrap();
        let c = claims("https://broker.example", &event(), now);
        assert_eq!(c["iss"], "https://broker.example");
        assert_eq!(c["aud"], "rp");
        assert_eq!(c["iat"], 1_800_000_010);
        assert_eq!(
            c["sub_id"],
            json!({"format": "iss_sub", "iss": "https://broker.example", "sub": "pairwise"})
        );
        for absent in ["sub", "nonce", "exp", "sid"] {
            assert!(!c.contains_key(absent), "{absent}");
        }
        let e = &c["events"][EVENT];
        assert_eq!(e["agreement_id"], "agreement-1");
        assert_eq!(e["agreement_version"], 3);
        assert_eq!(e["withdrawn_at"], 1_800_000_000);
        assert_eq!(e["reason"], "no_longer_needed");
        let names: Vec<&str> = e["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(names.len(), 2);
        assert!(names.contains(&Attribute::GivenName.name()));
        assert_eq!(c["events"].as_object().unwrap().len(), 1, "one event");
        let again = claims("https://broker.example", &event(), now);
        assert_ne!(c["jti"], again["jti"], "each try has its own jti");
    }

    #[test]
    fn its_type_is_the_set_type() {
        assert_eq!(TYP, "secevent+jwt");
        assert_ne!(TYP, crate::session::logout_token::TYP);
    }
}
