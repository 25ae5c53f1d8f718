//! The record's actions on a consent or a disclosure: the withdrawal's question and its post
//! (now on a fresh sign-in, or after one), and "This wasn't me".

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;
use trust_framework::Lang;

use super::super::RecordSession;
use super::super::sign_in;
use super::super::view;
use super::super::withdraw::{self, WithdrawError, Withdrawal};
use super::{
    RecordForm, explicit, posted, provider_name, provider_origins, session_of, sign_in_failed,
    unavailable,
};
use crate::app::Broker;
use crate::http::record_pages;
use crate::login::ending::see_other;

/// Withdraws, and says how it went.
pub(super) async fn withdrawn(
    broker: &Broker,
    session: &RecordSession,
    w: &Withdrawal,
    lang: Lang,
    now: OffsetDateTime,
) -> Response {
    match withdraw::withdraw(broker, session, w, now).await {
        Ok(done) => {
            let done = if done.notified {
                "withdrawn"
            } else {
                "withdrawn-quietly"
            };
            see_other(&format!(
                "{}?done={done}#consents",
                super::super::path(lang)
            ))
        }
        Err(e) => {
            let status = match e {
                WithdrawError::Store(_) | WithdrawError::Records(_) => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                WithdrawError::AnotherPerson => StatusCode::FORBIDDEN,
                WithdrawError::NotInForce => StatusCode::CONFLICT,
            };
            record_pages::problem(lang, status, e.advice())
        }
    }
}

/// The question's query.
#[derive(Debug, Default, Deserialize)]
pub struct WithdrawQuery {
    consent: Option<String>,
    lang: Option<String>,
}

/// `GET /my-record/withdraw`: "Withdraw your consent?".
pub async fn withdraw_page(
    State(broker): State<Broker>,
    Query(q): Query<WithdrawQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = explicit(q.lang.as_deref()).unwrap_or_default();
    let now = broker.now();
    let session = match session_of(&broker, &headers, lang, now).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let registry = broker.registry();
    let Ok(consents) = broker
        .records
        .consents_in_force(&session.person_key, now)
        .await
    else {
        return unavailable(lang);
    };
    let wanted = q.consent.unwrap_or_default();
    let Some(consent) = consents
        .iter()
        .map(|c| view::consent(&registry, c, lang))
        .find(|c| c.key == wanted)
    else {
        return record_pages::problem(
            lang,
            StatusCode::NOT_FOUND,
            WithdrawError::NotInForce.advice(),
        );
    };
    let csrf = broker.forms.record(&session.id, &session.browser);
    let fresh = session.fresh(&broker, now);
    let provider = provider_name(&registry, &session.provider_id, lang);
    let form_origins = if fresh {
        Vec::new()
    } else {
        provider_origins(&registry, std::iter::once(session.provider_id.as_str()))
    };
    record_pages::withdraw(
        lang,
        &consent,
        &csrf,
        (!fresh).then_some(provider.as_str()),
        &form_origins,
    )
}

/// `POST /my-record/withdraw`: withdraw now on a fresh sign-in, or after one.
pub async fn withdraw(
    State(broker): State<Broker>,
    headers: HeaderMap,
    Form(f): Form<RecordForm>,
) -> Response {
    let (lang, now, session) = match posted(&broker, &headers, &f).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let Some(w) = Withdrawal::from_form(
        &session.person_key,
        f.consent.as_deref().unwrap_or(""),
        f.reason.as_deref().unwrap_or(""),
    ) else {
        return record_pages::problem(
            lang,
            StatusCode::BAD_REQUEST,
            (
                "Choose why you are withdrawing your consent, then try again. Nothing was changed.",
                "Choisissez la raison du retrait de votre consentement, puis réessayez. Rien n'a été modifié.",
            ),
        );
    };
    if session.fresh(&broker, now) {
        return withdrawn(&broker, &session, &w, lang, now).await;
    }
    let registry = broker.registry();
    match sign_in::send(
        &broker,
        &registry,
        &session.provider_id,
        session.browser.clone(),
        lang,
        Some(w),
        now,
    )
    .await
    {
        Ok(url) => see_other(url.as_str()),
        Err(e) => sign_in_failed(lang, &e),
    }
}

/// `POST /my-record/report`: "This wasn't me".
pub async fn report(
    State(broker): State<Broker>,
    headers: HeaderMap,
    Form(f): Form<RecordForm>,
) -> Response {
    let (lang, now, session) = match posted(&broker, &headers, &f).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let txn = f.reference.clone().unwrap_or_default();
    match super::super::report::report(&broker, &session, &txn, now).await {
        Ok(reference) => {
            let registry = broker.registry();
            let provider = provider_name(&registry, &session.provider_id, lang);
            record_pages::reported(lang, &reference, &provider)
        }
        Err(super::super::report::ReportError::NotInRecord) => record_pages::problem(
            lang,
            StatusCode::NOT_FOUND,
            (
                "That entry is not in your record. Nothing was reported.",
                "Cette inscription ne figure pas dans votre dossier. Rien n'a été signalé.",
            ),
        ),
        Err(super::super::report::ReportError::Records(_)) => unavailable(lang),
    }
}
