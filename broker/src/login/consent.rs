//! Notice and consent (PCTF notice-and-consent component): before any release the person sees
//! the service, its purpose, the provider and each attribute; under a `consent` agreement they
//! choose to share or not, under a `notice` agreement they are told. Decisions are recorded,
//! and a remembered consent is reused only for the same agreement version and attributes.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use trust_framework::{Attribute, Lang, LegalBasis};

use super::abandoned::{Stage, Watch};
use super::ending::store_failed;
use super::state::AwaitingConsent;
use super::{Access, Failure, Login, kept};
use crate::app::Broker;
use crate::audit::{Decided, Event, list};
use crate::http::browser::{self, hash, random_token};
use crate::metrics::{LoginLeg, LoginOutcome};
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::store::Kind;

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

/// The person's answer on the notice-and-consent page.
#[derive(Debug)]
pub struct Answer<'a> {
    /// The form's token (`super::form_tokens`), checked before anything is read.
    pub csrf: &'a str,
    /// `share` or `deny`, as the form posts it.
    pub decision: &'a str,
    /// "Remember my decision for this service" (consent agreements only).
    pub remember: bool,
}

impl AwaitingConsent {
    /// After release: a remembered consent that covers exactly this release issues the code at
    /// once; otherwise the page is kept, under a key of its own, for the person to decide.
    /// `tally` counts how the login ends, here or in [`AwaitingConsent::decide`].
    pub(super) async fn ask(self, broker: &Broker, mut tally: LoginLeg) -> Result<Login, Failure> {
        let granted = &self.granted;
        if granted.legal_basis == LegalBasis::Consent {
            let key = record_key(
                &granted.subject,
                &self.client_id,
                &granted.agreement_id,
                granted.agreement_version,
            );
            let remembered: Option<ConsentRecord> = broker
                .store
                .get(Kind::ConsentRecord, &key)
                .await
                .map_err(|e| Failure::page(self.lang, store_failed(&self.txn, &e)))?;
            if remembered
                .is_some_and(|r| covers(&r, &granted.attribute_names(), granted.agreement_version))
            {
                Event::ConsentReused {
                    txn: &self.txn,
                    client: &self.client_id,
                    agreement: &granted.agreement_id,
                    agreement_version: granted.agreement_version,
                }
                .record();
                let issued = super::code::issue(broker, self).await;
                if issued.is_ok() {
                    tally.end(LoginOutcome::Success);
                }
                return issued;
            }
        }
        let form = random_token();
        let watch = Watch::new(
            &self.txn,
            Stage::Consent,
            &self.client_id,
            Some(&self.granted.provider_id),
        );
        super::abandoned::keep(broker, Kind::AwaitingConsent, &form, &self, &watch)
            .await
            .map_err(|e| Failure::page(self.lang, store_failed(&self.txn, &e)))?;
        tally.goes_on();
        Ok(Login::AwaitingConsent {
            awaiting: self,
            form,
        })
    }

    /// The page's decision under `form`, for the browser that started the login only (read,
    /// not taken: the page may be shown again for the language switch).
    pub async fn load(
        broker: &Broker,
        form: &str,
        cookie: Option<&str>,
        lang: Lang,
    ) -> Result<Self, Failure> {
        let awaiting: AwaitingConsent =
            kept(broker, Kind::AwaitingConsent, form, lang, Access::Read).await?;
        if !browser::matches_cookie(&awaiting.browser, cookie) {
            return Err(Failure::expired(lang));
        }
        Ok(awaiting)
    }

    /// The person decided. The form's token is checked before the store is read, so a forged
    /// post (another site's form, another browser, a guessed token) changes nothing and costs
    /// no round trip; then the decision is taken, once, and recorded.
    pub async fn decide(
        broker: &Broker,
        form: &str,
        cookie: Option<&str>,
        answer: &Answer<'_>,
        lang: Lang,
        now: OffsetDateTime,
    ) -> Result<Login, Failure> {
        if !broker.forms.consent_matches(form, cookie, answer.csrf) {
            return Err(Failure::page(
                lang,
                OAuthError::invalid_request(
                    "the form was not issued by this broker (CSRF check failed)",
                ),
            ));
        }
        let awaiting: AwaitingConsent =
            kept(broker, Kind::AwaitingConsent, form, lang, Access::Take).await?;
        if !browser::matches_cookie(&awaiting.browser, cookie) {
            return Err(Failure::expired(lang));
        }
        // Taken: the login ends in this request, as an error on any path that does not say.
        let registry = broker.registry();
        let mut tally = LoginLeg::new(&registry, &awaiting.granted.provider_id);
        let granted = &awaiting.granted;
        let attributes = list(granted.attributes.iter().map(|(a, _)| a.name()));
        match answer.decision {
            "share" => {
                let record = ConsentRecord {
                    subject: granted.subject.clone(),
                    client_id: awaiting.client_id.clone(),
                    agreement_id: granted.agreement_id.clone(),
                    agreement_version: granted.agreement_version,
                    attributes: granted.attribute_names(),
                    given_at: now.unix_timestamp(),
                };
                let decided = Decided {
                    txn: &awaiting.txn,
                    subject: &record.subject,
                    client: &record.client_id,
                    agreement: &record.agreement_id,
                    agreement_version: record.agreement_version,
                    attributes,
                    remembered: answer.remember,
                };
                let asks = granted.legal_basis == LegalBasis::Consent;
                if asks {
                    Event::ConsentGiven(decided).record();
                } else {
                    Event::NoticeAcknowledged(decided).record();
                }
                if answer.remember && asks {
                    let key = record_key(
                        &record.subject,
                        &record.client_id,
                        &record.agreement_id,
                        record.agreement_version,
                    );
                    broker
                        .store
                        .put(Kind::ConsentRecord, &key, &record)
                        .await
                        .map_err(|e| Failure::page(lang, store_failed(&awaiting.txn, &e)))?;
                }
                let issued = super::code::issue(broker, awaiting).await;
                if issued.is_ok() {
                    tally.end(LoginOutcome::Success);
                }
                issued
            }
            "deny" => {
                Event::ConsentRefused {
                    txn: &awaiting.txn,
                    subject: &granted.subject,
                    client: &awaiting.client_id,
                    agreement: &granted.agreement_id,
                    agreement_version: granted.agreement_version,
                    attributes,
                }
                .record();
                tally.end(LoginOutcome::Denied);
                Err(Failure::to_service(
                    &awaiting.return_to,
                    OAuthError::new(
                        ErrorCode::AccessDenied,
                        "the person chose not to share their information",
                    ),
                ))
            }
            _ => Err(Failure::page(
                lang,
                OAuthError::invalid_request("the decision must be share or deny"),
            )),
        }
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
