//! Notice and consent (PCTF notice-and-consent component): before any release the person sees
//! the service, its purpose, the provider and each attribute; under a `consent` agreement they
//! choose to share or not, under a `notice` agreement they are told. Decisions are recorded,
//! and a remembered consent is reused only for the same agreement version and attributes.

use std::collections::BTreeSet;

use serde_json::Value;
use time::OffsetDateTime;
use trust_framework::{Attribute, Lang, LegalBasis};

use super::abandoned::{Stage, Watch};
use super::ending::{records_failed, store_failed};
use super::state::AwaitingConsent;
use super::{Access, Failure, Login, kept};
use crate::app::Broker;
use crate::audit::{Decided, Event, list};
use crate::http::browser::{self, random_token};
use crate::metrics::{LoginLeg, LoginOutcome};
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::records::{ConsentBasis, ConsentDecision, ConsentKey, ConsentRow, How, millis};
use crate::store::Kind;

/// How long a consent the person asked to be remembered is reused: about thirteen months,
/// after which they are asked again (and the records say it expired).
pub(crate) const REMEMBER_FOR: time::Duration = time::Duration::days(395);

/// A remembered consent covers a release only for exactly the same attributes (the agreement
/// version is part of which consent it is).
pub fn covers(remembered: &BTreeSet<Attribute>, released: &BTreeSet<Attribute>) -> bool {
    remembered == released
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

/// The consent record of `awaiting`'s decision at `now`.
fn consent_record(
    awaiting: &AwaitingConsent,
    decision: ConsentDecision,
    remember: bool,
    now: OffsetDateTime,
) -> ConsentRow {
    let granted = &awaiting.granted;
    ConsentRow {
        at: millis(now),
        decision,
        how: How::ConsentPage.as_str().to_owned(),
        subject: granted.subject.clone(),
        person_key: granted.person_key.clone(),
        client_id: awaiting.client_id.clone(),
        agreement_id: granted.agreement_id.clone(),
        agreement_version: granted.agreement_version,
        lang: awaiting.lang,
        attributes: granted.attribute_names(),
        remember,
        expires_at: remember.then(|| millis(now + REMEMBER_FOR)),
        txn: Some(awaiting.txn.clone()),
        reason: None,
    }
}

impl AwaitingConsent {
    /// After release: a remembered consent that covers exactly this release issues the code at
    /// once; otherwise the page is kept, under a key of its own, for the person to decide.
    /// `tally` counts how the login ends, here or in [`AwaitingConsent::decide`].
    pub(super) async fn ask(
        self,
        broker: &Broker,
        mut tally: LoginLeg,
        now: OffsetDateTime,
    ) -> Result<Login, Failure> {
        let granted = &self.granted;
        if granted.legal_basis == LegalBasis::Consent {
            let key = ConsentKey {
                subject: &granted.subject,
                client_id: &self.client_id,
                agreement_id: &granted.agreement_id,
                agreement_version: granted.agreement_version,
            };
            let remembered = broker
                .records
                .remembered_consent(key, now)
                .await
                .map_err(|e| Failure::page(self.lang, records_failed(broker, &self.txn, &e)))?;
            if !self.prompt.consent
                && remembered.is_some_and(|r| covers(&r.attributes, &granted.attribute_names()))
            {
                broker.audit(Event::ConsentReused {
                    txn: &self.txn,
                    client: &self.client_id,
                    agreement: &granted.agreement_id,
                    agreement_version: granted.agreement_version,
                });
                let issued =
                    super::code::issue(broker, self, ConsentBasis::Remembered, None, now).await;
                if issued.is_ok() {
                    tally.end(LoginOutcome::Success);
                }
                return issued;
            }
        }
        if self.prompt.none {
            // `prompt=none`: no page. A consent agreement needs the person's consent, a notice
            // agreement that they be told.
            let (code, description) = if granted.legal_basis == LegalBasis::Consent {
                (
                    ErrorCode::ConsentRequired,
                    "the person must consent before their information is shared with this service",
                )
            } else {
                (
                    ErrorCode::InteractionRequired,
                    "the person must be shown a notice before their information is shared with this service",
                )
            };
            tally.end(LoginOutcome::Denied);
            return Err(super::start::without_interaction(
                broker,
                (&self.txn, &self.return_to),
                code,
                description,
            ));
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
            .map_err(|e| Failure::page(self.lang, store_failed(broker, &self.txn, &e)))?;
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
        let mut awaiting: AwaitingConsent =
            kept(broker, Kind::AwaitingConsent, form, lang, Access::Take).await?;
        if !browser::matches_cookie(&awaiting.browser, cookie) {
            return Err(Failure::expired(lang));
        }
        // The page's language, which the person may have switched, for what follows.
        awaiting.lang = lang;
        awaiting.return_to.lang = lang;
        // Taken: the login ends in this request, as an error on any path that does not say.
        let registry = broker.registry();
        let mut tally = LoginLeg::new(&registry, &awaiting.granted.provider_id);
        let granted = &awaiting.granted;
        let attributes = list(granted.attributes.iter().map(|(a, _)| a.name()));
        match answer.decision {
            "share" => {
                let asks = granted.legal_basis == LegalBasis::Consent;
                let decided = Decided {
                    txn: &awaiting.txn,
                    subject: &granted.subject,
                    client: &awaiting.client_id,
                    agreement: &granted.agreement_id,
                    agreement_version: granted.agreement_version,
                    attributes,
                    remembered: answer.remember,
                };
                if asks {
                    broker.audit(Event::ConsentGiven(decided));
                } else {
                    broker.audit(Event::NoticeAcknowledged(decided));
                }
                let (basis, record) = if asks {
                    let remember = answer.remember;
                    let record = consent_record(&awaiting, ConsentDecision::Given, remember, now);
                    (ConsentBasis::Given, Some(record))
                } else {
                    (ConsentBasis::Notice, None)
                };
                let issued = super::code::issue(broker, awaiting, basis, record, now).await;
                if issued.is_ok() {
                    tally.end(LoginOutcome::Success);
                }
                issued
            }
            "deny" => {
                broker.audit(Event::ConsentRefused {
                    txn: &awaiting.txn,
                    subject: &granted.subject,
                    client: &awaiting.client_id,
                    agreement: &granted.agreement_id,
                    agreement_version: granted.agreement_version,
                    attributes,
                });
                tally.end(LoginOutcome::Denied);
                // The refusal is a consent record too. Nothing is released whether or not it
                // is written, so a failure to write it is logged and the person's "no" stands.
                let refused = consent_record(&awaiting, ConsentDecision::Refused, false, now);
                if let Err(e) = broker.records.append_consent(&refused).await {
                    tracing::error!(txn = %awaiting.txn, error = %e, "a refused consent could not be recorded");
                }
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

    #[test]
    fn remembered_consent_needs_the_same_attributes() {
        let remembered: BTreeSet<Attribute> = [Attribute::GivenName, Attribute::Birthdate].into();
        let same: BTreeSet<Attribute> = [Attribute::GivenName, Attribute::Birthdate].into();
        assert!(covers(&remembered, &same));
        assert!(
            !covers(&remembered, &[Attribute::GivenName].into()),
            "fewer attributes: ask again"
        );
        assert!(!covers(
            &remembered,
            &[
                Attribute::GivenName,
                Attribute::Birthdate,
                Attribute::Address
            ]
            .into(),
        ));
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
