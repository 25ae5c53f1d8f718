//! `/consent`: the person's decision on the notice-and-consent page.

use std::collections::BTreeSet;

use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use trust_framework::{Attribute, Lang, LegalBasis, Registry};

use crate::app::Broker;
use crate::audit;
use crate::http::browser;
use crate::http::pages;
use crate::login::abandoned::{Stage, Watch};
use crate::login::consent::{ConsentRecord, PendingConsent, covers, record_key};
use crate::login::ending::{self, Failure};
use crate::metrics::{LoginLeg, LoginOutcome};
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::store::Kind;

#[derive(Debug, Deserialize)]
pub struct Show {
    txn: String,
    lang: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Decision {
    txn: String,
    csrf: String,
    decision: String,
    remember: Option<String>,
    lang: Option<String>,
}

fn released(pending: &PendingConsent) -> BTreeSet<Attribute> {
    pending.attributes.iter().map(|(a, _)| *a).collect()
}

/// After release: reuse a remembered consent, or show the page and wait for the person.
/// `tally` counts how the login ends, here or in [`decide`].
pub async fn ask(
    broker: &Broker,
    registry: &Registry,
    pending: PendingConsent,
    mut tally: LoginLeg,
) -> Result<Response, Failure> {
    let key = record_key(
        &pending.grant.subject,
        &pending.grant.client_id,
        &pending.agreement_id,
        pending.agreement_version,
    );
    if pending.legal_basis == LegalBasis::Consent {
        let remembered: Option<ConsentRecord> = broker
            .store
            .get(Kind::ConsentRecord, &key)
            .await
            .map_err(|e| {
            Failure::page(pending.lang, ending::store_failed(&pending.grant.txn, &e))
        })?;
        if remembered.is_some_and(|r| covers(&r, &released(&pending), pending.agreement_version)) {
            tracing::info!(target: "audit", event = "consent.reused", txn = %pending.grant.txn, client = %pending.grant.client_id,
                agreement = %pending.agreement_id, agreement_version = pending.agreement_version);
            let response = issue(broker, pending).await;
            if response.is_ok() {
                tally.end(LoginOutcome::Success);
            }
            return response;
        }
    }
    let txn = browser::random_token();
    let watch = Watch::new(
        &pending.grant.txn,
        Stage::Consent,
        &pending.grant.client_id,
        Some(&pending.provider_id),
    );
    crate::login::abandoned::keep(broker, Kind::ConsentPending, &txn, &pending, &watch)
        .await
        .map_err(|e| Failure::page(pending.lang, ending::store_failed(&pending.grant.txn, &e)))?;
    tally.goes_on();
    let csrf = broker.forms.consent(&txn, &pending.browser);
    Ok(pages::consent(
        pending.lang,
        registry,
        &pending,
        &txn,
        &csrf,
    ))
}

async fn issue(broker: &Broker, pending: PendingConsent) -> Result<Response, Failure> {
    let code = browser::random_token();
    let fail = |e: OAuthError| Failure::Redirect {
        redirect_uri: pending.redirect_uri.clone(),
        state: pending.state.clone(),
        error: e,
    };
    let watch = Watch::new(
        &pending.grant.txn,
        Stage::CodeRedemption,
        &pending.grant.client_id,
        Some(&pending.provider_id),
    );
    crate::login::abandoned::keep(broker, Kind::Code, &code, &pending.grant, &watch)
        .await
        .map_err(|e| fail(ending::store_failed(&pending.grant.txn, &e)))?;
    let mut params = vec![("code", code)];
    if let Some(state) = &pending.state {
        params.push(("state", state.clone()));
    }
    Ok(ending::redirect_to_rp(
        broker,
        &pending.redirect_uri,
        params,
    ))
}

async fn load(
    broker: &Broker,
    txn: &str,
    headers: &HeaderMap,
    lang: Lang,
    take: bool,
) -> Result<PendingConsent, Failure> {
    let expired = || {
        Failure::page(
            lang,
            OAuthError::invalid_request(
                "this sign-in has expired or was already completed; start again from the service",
            ),
        )
    };
    let pending: PendingConsent = if take {
        broker.store.take(Kind::ConsentPending, txn).await
    } else {
        broker.store.get(Kind::ConsentPending, txn).await
    }
    .map_err(|e| Failure::page(lang, OAuthError::from_store(&e)))?
    .ok_or_else(expired)?;
    if !browser::matches(&pending.browser, headers) {
        return Err(expired());
    }
    Ok(pending)
}

fn lang_of(explicit: Option<&str>) -> Option<Lang> {
    explicit.and_then(|l| Lang::negotiate([l]))
}

/// The page again, for the language switch.
pub async fn show(
    State(broker): State<Broker>,
    Query(q): Query<Show>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(q.lang.as_deref()).unwrap_or_default();
    let switch = format!(
        "/consent?txn={}&lang={}",
        urlencoding::encode(&q.txn),
        lang.other().code()
    );
    match load(&broker, &q.txn, &headers, lang, false).await {
        Ok(p) => pages::consent(
            lang_of(q.lang.as_deref()).unwrap_or(p.lang),
            &broker.registry(),
            &p,
            &q.txn,
            &broker.forms.consent(&q.txn, &p.browser),
        ),
        Err(f) => f.into_response(&broker, switch),
    }
}

pub async fn decide(
    State(broker): State<Broker>,
    headers: HeaderMap,
    Form(d): Form<Decision>,
) -> Response {
    let lang = lang_of(d.lang.as_deref()).unwrap_or_default();
    let switch = format!(
        "/consent?txn={}&lang={}",
        urlencoding::encode(&d.txn),
        lang.other().code()
    );
    let result = async {
        // Checked before the pending decision is read, so a forged post (another site's form,
        // another browser, a guessed token) changes nothing and costs no store round trip.
        if !broker.forms.consent_matches(&d.txn, browser::cookie(&headers).as_deref(), &d.csrf) {
            return Err(Failure::page(lang, OAuthError::invalid_request("the form was not issued by this broker (CSRF check failed)")));
        }
        let pending = load(&broker, &d.txn, &headers, lang, true).await?;
        // Taken: the login ends in this request, as an error on any path that does not say.
        let mut tally = LoginLeg::new(&broker.registry(), &pending.provider_id);
        let attributes: Vec<&str> = pending.attributes.iter().map(|(a, _)| a.name()).collect();
        match d.decision.as_str() {
            "share" => {
                let record = ConsentRecord {
                    subject: pending.grant.subject.clone(),
                    client_id: pending.grant.client_id.clone(),
                    agreement_id: pending.agreement_id.clone(),
                    agreement_version: pending.agreement_version,
                    attributes: released(&pending),
                    given_at: time::OffsetDateTime::now_utc().unix_timestamp(),
                };
                tracing::info!(target: "audit", event = if pending.legal_basis == LegalBasis::Consent { "consent.given" } else { "notice.acknowledged" },
                    txn = %pending.grant.txn, subject = %record.subject, client = %record.client_id, agreement = %record.agreement_id,
                    agreement_version = record.agreement_version, attributes = %audit::list(&attributes), remembered = d.remember.is_some());
                if d.remember.is_some() && pending.legal_basis == LegalBasis::Consent {
                    let key = record_key(&record.subject, &record.client_id, &record.agreement_id, record.agreement_version);
                    broker.store.put(Kind::ConsentRecord, &key, &record).await.map_err(|e| Failure::page(lang, ending::store_failed(&pending.grant.txn, &e)))?;
                }
                let response = issue(&broker, pending).await;
                if response.is_ok() {
                    tally.end(LoginOutcome::Success);
                }
                response
            }
            "deny" => {
                tracing::info!(target: "audit", event = "consent.refused", txn = %pending.grant.txn, subject = %pending.grant.subject,
                    client = %pending.grant.client_id, agreement = %pending.agreement_id, agreement_version = pending.agreement_version,
                    attributes = %audit::list(&attributes));
                tally.end(LoginOutcome::Denied);
                Err(Failure::Redirect {
                    redirect_uri: pending.redirect_uri.clone(),
                    state: pending.state.clone(),
                    error: OAuthError::new(ErrorCode::AccessDenied, "the person chose not to share their information"),
                })
            }
            _ => Err(Failure::page(lang, OAuthError::invalid_request("the decision must be share or deny"))),
        }
    }
    .await;
    match result {
        Ok(r) => r,
        Err(f) => f.into_response(&broker, switch),
    }
}
