//! Pairwise subject identifiers (OpenID Connect Core section 8.1).
//!
//! `sub` = HMAC-SHA256(broker secret, sector, provider, provider's subject). Two services in
//! different sectors get unrelated identifiers for the same person and cannot correlate them;
//! without the broker's secret nobody can link a `sub` back to the provider's subject.
//!
//! The records name a person also by a *person key*: an HMAC of the provider and the
//! provider's subject alone, under a key derived from the same secret for that use only. It is
//! the same for every service, so that the person, signed in at that provider, can find every
//! disclosure about them; and it is another value than any `sub`, so that no service can match
//! it with what it received.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub struct PairwiseSubjects {
    key: hmac::Key,
    person: hmac::Key,
}

/// The label under which the person key's key is derived from the broker's secret.
const PERSON_KEY_LABEL: &[u8] = b"pan-canadian-broker/person-records/v1";

impl std::fmt::Debug for PairwiseSubjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PairwiseSubjects(***)")
    }
}

impl PairwiseSubjects {
    pub fn new(secret: &[u8]) -> Self {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derived = hmac::sign(&key, PERSON_KEY_LABEL);
        Self {
            person: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
            key,
        }
    }

    /// The person key of the provider's subject `upstream_subject` (see the module's note).
    pub fn person_key(&self, provider_id: &str, upstream_subject: &str) -> String {
        fields_mac(&self.person, &[provider_id, upstream_subject])
    }

    pub fn subject(&self, sector: &str, provider_id: &str, upstream_subject: &str) -> String {
        fields_mac(&self.key, &[sector, provider_id, upstream_subject])
    }
}

/// HMAC-SHA256 of `fields`, each prefixed with its length so that no two different lists share
/// an encoding, in base64url: the pairwise subject, and the consent form's token
/// (`crate::login::form_tokens`).
pub(crate) fn fields_mac(key: &hmac::Key, fields: &[&str]) -> String {
    let mut ctx = hmac::Context::with_key(key);
    for field in fields {
        ctx.update(&(field.len() as u64).to_be_bytes());
        ctx.update(field.as_bytes());
    }
    URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_per_sector_and_different_across_sectors() {
        let p = PairwiseSubjects::new(b"secret");
        let a = p.subject("esdc-edsc.gc.ca", "ab-account", "person-1");
        assert_eq!(a, p.subject("esdc-edsc.gc.ca", "ab-account", "person-1"));
        assert_ne!(a, p.subject("vpl.ca", "ab-account", "person-1"));
        assert_ne!(a, p.subject("esdc-edsc.gc.ca", "qc-sqin", "person-1"));
        assert_ne!(a, p.subject("esdc-edsc.gc.ca", "ab-account", "person-2"));
        // Field boundaries matter.
        assert_ne!(p.subject("ab", "c", "d"), p.subject("a", "bc", "d"));
        // A different broker secret gives unrelated subjects.
        assert_ne!(
            a,
            PairwiseSubjects::new(b"other").subject("esdc-edsc.gc.ca", "ab-account", "person-1")
        );
        assert_eq!(a.len(), 43);
        // The person key: one per person and provider, whatever the sector, and no `sub`.
        let person = p.person_key("ab-account", "person-1");
        assert_eq!(person, p.person_key("ab-account", "person-1"));
        assert_ne!(person, p.person_key("qc-sqin", "person-1"));
        assert_ne!(person, p.person_key("ab-account", "person-2"));
        assert_ne!(person, a);
        assert_ne!(person, p.subject("", "ab-account", "person-1"));
    }

    /// The subject a service holds must never change with the library that computes it.
    #[test]
    fn a_fixed_input_gives_the_subject_it_always_gave() {
        let p = PairwiseSubjects::new(b"secret");
        assert_eq!(
            p.subject("esdc-edsc.gc.ca", "ab-account", "person-1"),
            "ZwsifF7YDrhBEzrY1if7XuEbqELK89SlZa8JMktO5xo"
        );
    }
}
