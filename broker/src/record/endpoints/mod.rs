//! The record's handlers: each parses, checks the record session and the form's token, calls
//! one step (`sign_in`, `withdraw`, `report`, `proof`, the view) and answers with a page, a
//! redirect or a file. Every answer is `no-store`; every POST carries a form token bound to the
//! browser (and to the record session, once there is one). Opening and closing the record
//! are here; [`actions`] withdraws a consent and reports a disclosure, [`downloads`] serves the
//! export and the proofs.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;
use trust_framework::{Lang, Registry};

mod actions;
mod downloads;

pub use actions::{report, withdraw, withdraw_page};
pub use downloads::{export, proof, proofs};

use actions::withdrawn;

use super::RecordSession;
use super::sign_in::{self, SignInError, SignedIn};
use super::view::{self, FilterQuery};
use crate::app::Broker;
use crate::http::browser::{self, random_token};
use crate::http::lang::{self, explicit};
use crate::http::pages::provider_origins;
use crate::http::record_pages;
use crate::login::ending::see_other;
use crate::login::returned::ProviderAnswer;
use crate::records::DisclosureFilter;

/// The form token's key before there is a record session.
const SIGN_IN_FORM: &str = "sign-in";

const STORE_DOWN: (&str, &str) = (
    "Your record cannot be reached right now. Nothing was changed. Try again in a few minutes.",
    "Votre dossier est inaccessible pour le moment. Rien n'a été modifié. Réessayez dans quelques minutes.",
);
const CLOSED: (&str, &str) = (
    "Your record was closed: it closes by itself after a few minutes. Open it again to go on.",
    "Votre dossier a été fermé\u{a0}: il se ferme de lui-même après quelques minutes. Ouvrez-le de nouveau pour continuer.",
);
const FORGED: (&str, &str) = (
    "This form could not be accepted: it was not sent from your record in this browser. Open your record again and retry.",
    "Ce formulaire n'a pas pu être accepté\u{a0}: il n'a pas été envoyé à partir de votre dossier dans ce navigateur. Ouvrez de nouveau votre dossier et réessayez.",
);

fn unavailable(lang: Lang) -> Response {
    record_pages::problem(lang, StatusCode::SERVICE_UNAVAILABLE, STORE_DOWN)
}

/// The record session of this browser; the page to show when there is none (or the store
/// cannot say).
async fn session_of(
    broker: &Broker,
    headers: &HeaderMap,
    lang: Lang,
    now: OffsetDateTime,
) -> Result<RecordSession, Response> {
    match RecordSession::of_browser(broker, headers, now).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(record_pages::problem(
            lang,
            StatusCode::UNAUTHORIZED,
            CLOSED,
        )),
        Err(_) => Err(unavailable(lang)),
    }
}

/// Whether a posted token is the record form's of `session` in this browser.
fn form_ok(
    broker: &Broker,
    session: &RecordSession,
    headers: &HeaderMap,
    posted: Option<&str>,
) -> bool {
    let cookie = browser::cookie(headers);
    broker
        .forms
        .record_matches(&session.id, cookie.as_deref(), posted.unwrap_or(""))
}

fn forged(lang: Lang) -> Response {
    record_pages::problem(lang, StatusCode::FORBIDDEN, FORGED)
}

/// A POST of the record: its language, the time, and the record session it acts on, once
/// the session is found and the form's token is its own; the page to show otherwise.
async fn posted(
    broker: &Broker,
    headers: &HeaderMap,
    f: &RecordForm,
) -> Result<(Lang, OffsetDateTime, RecordSession), Response> {
    let lang = explicit(f.lang.as_deref()).unwrap_or_default();
    let now = broker.now();
    let session = session_of(broker, headers, lang, now).await?;
    if !form_ok(broker, &session, headers, f.csrf.as_deref()) {
        return Err(forged(lang));
    }
    Ok((lang, now, session))
}

/// A provider's name in the person's language (its id if it is gone from the registry).
fn provider_name(registry: &Registry, id: &str, lang: Lang) -> String {
    registry
        .provider(id)
        .map(|p| p.name.get(lang).to_owned())
        .unwrap_or_else(|| id.to_owned())
}

/// `GET /my-record`.
pub async fn page_en(
    State(broker): State<Broker>,
    Query(q): Query<FilterQuery>,
    headers: HeaderMap,
) -> Response {
    page(&broker, q, &headers, Lang::En).await
}

/// `GET /mon-dossier`.
pub async fn page_fr(
    State(broker): State<Broker>,
    Query(q): Query<FilterQuery>,
    headers: HeaderMap,
) -> Response {
    page(&broker, q, &headers, Lang::Fr).await
}

async fn page(broker: &Broker, q: FilterQuery, headers: &HeaderMap, path_lang: Lang) -> Response {
    let lang = explicit(q.lang.as_deref()).unwrap_or(path_lang);
    let now = broker.now();
    match RecordSession::of_browser(broker, headers, now).await {
        Err(_) => unavailable(lang),
        Ok(None) => sign_in_page(broker, headers, lang, now),
        Ok(Some(session)) => record_page(broker, &session, &q, lang, now).await,
    }
}

/// The sign-in page, with a binding cookie for this browser if it had none.
fn sign_in_page(broker: &Broker, headers: &HeaderMap, lang: Lang, now: OffsetDateTime) -> Response {
    let registry = broker.registry();
    let (cookie, fresh_cookie) = match browser::cookie(headers) {
        Some(c) => (c, false),
        None => (random_token(), true),
    };
    let offered = trust_framework::policy::record_providers(&registry, broker.record.level(), now);
    let mut groups: Vec<(&'static str, Vec<(String, String)>)> = Vec::new();
    for p in &offered {
        let name = provider_name(&registry, &p.provider_id, lang);
        let jurisdiction = p.jurisdiction.name(lang);
        match groups.last_mut() {
            Some(g) if g.0 == jurisdiction => g.1.push((p.provider_id.clone(), name)),
            _ => groups.push((jurisdiction, vec![(p.provider_id.clone(), name)])),
        }
    }
    let form_origins = provider_origins(&registry, offered.iter().map(|p| p.provider_id.as_str()));
    let csrf = broker.forms.record(SIGN_IN_FORM, &browser::hash(&cookie));
    let mut response = record_pages::sign_in(lang, groups, csrf, &form_origins);
    if fresh_cookie && let Some(v) = browser::set_cookie(&cookie, broker.secure_cookies) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// The disclosures the filter selects, in words, and whether there were more.
async fn disclosures(
    broker: &Broker,
    registry: &Registry,
    session: &RecordSession,
    filter: &DisclosureFilter,
    lang: Lang,
) -> Result<(Vec<view::DisclosureView>, bool), crate::records::RecordsError> {
    let most = usize::try_from(view::MOST).unwrap_or(usize::MAX);
    let rows = broker
        .records
        .disclosures_of(&session.person_key, filter, view::MOST + 1)
        .await?;
    let views = rows
        .iter()
        .take(most)
        .map(|(_, d)| view::disclosure(registry, d, lang))
        .collect();
    Ok((views, rows.len() > most))
}

async fn record_page(
    broker: &Broker,
    session: &RecordSession,
    q: &FilterQuery,
    lang: Lang,
    now: OffsetDateTime,
) -> Response {
    let registry = broker.registry();
    let (filter, problem) = match q.filter() {
        Ok(f) => (f, None),
        Err(words) => (
            DisclosureFilter::default(),
            Some(crate::http::pages::pick(lang, words.0, words.1)),
        ),
    };
    let Ok((views, truncated)) = disclosures(broker, &registry, session, &filter, lang).await
    else {
        return unavailable(lang);
    };
    // The filter's list names every service of the record, not only those shown.
    let Ok(services) = broker.records.services_of(&session.person_key).await else {
        return unavailable(lang);
    };
    let services = view::services(&registry, &services, lang);
    let Ok(consents) = broker
        .records
        .consents_in_force(&session.person_key, now)
        .await
    else {
        return unavailable(lang);
    };
    let consents = consents
        .iter()
        .map(|c| view::consent(&registry, c, lang))
        .collect();
    let csrf = broker.forms.record(&session.id, &session.browser);
    let provider = provider_name(&registry, &session.provider_id, lang);
    let selected = filter.client_id.clone().unwrap_or_default();
    let from = q
        .from
        .clone()
        .filter(|_| problem.is_none())
        .unwrap_or_default();
    let to =
        q.to.clone()
            .filter(|_| problem.is_none())
            .unwrap_or_default();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("service", &selected)
        .append_pair("from", &from)
        .append_pair("to", &to)
        .append_pair("lang", lang.code())
        .finish();
    let notice = q.done.as_deref().and_then(|d| done_notice(d, lang));
    record_pages::record(
        lang,
        record_pages::Record {
            provider,
            level: view::level_words(session.level, lang).to_lowercase(),
            minutes_left: ((session.expires_at - now.unix_timestamp()) / 60).max(1),
            csrf: &csrf,
            consents,
            disclosures: &views,
            services,
            selected_service: &selected,
            from: &from,
            to: &to,
            query,
            truncated,
            notice,
            problem,
        },
    )
}

/// What the record page says after a step, from its `done` query value.
fn done_notice(done: &str, lang: Lang) -> Option<String> {
    let words = match done {
        "withdrawn" => (
            "Your consent was withdrawn. The service is being told, and you will be asked again the next time you sign in to it.",
            "Votre consentement a été retiré. Le service en est avisé, et on vous le redemandera à votre prochaine connexion.",
        ),
        "withdrawn-quietly" => (
            "Your consent was withdrawn. This service does not receive notices from us: you will be asked again the next time you sign in to it, and you can tell the service yourself.",
            "Votre consentement a été retiré. Ce service ne reçoit pas d'avis de notre part\u{a0}: on vous le redemandera à votre prochaine connexion, et vous pouvez en aviser le service vous-même.",
        ),
        _ => return None,
    };
    Some(crate::http::pages::pick(lang, words.0, words.1).to_owned())
}

/// A posted form of the record.
#[derive(Debug, Default, Deserialize)]
pub struct RecordForm {
    csrf: Option<String>,
    lang: Option<String>,
    provider: Option<String>,
    consent: Option<String>,
    reason: Option<String>,
    reference: Option<String>,
}

/// `POST /my-record/sign-in`: the person chose their provider.
pub async fn sign_in(
    State(broker): State<Broker>,
    headers: HeaderMap,
    Form(f): Form<RecordForm>,
) -> Response {
    let lang = explicit(f.lang.as_deref()).unwrap_or_default();
    let cookie = browser::cookie(&headers);
    if !broker.forms.record_matches(
        SIGN_IN_FORM,
        cookie.as_deref(),
        f.csrf.as_deref().unwrap_or(""),
    ) {
        return forged(lang);
    }
    let Some(cookie) = cookie else {
        return forged(lang);
    };
    let now = broker.now();
    let registry = broker.registry();
    match sign_in::send(
        &broker,
        &registry,
        f.provider.as_deref().unwrap_or(""),
        browser::hash(&cookie),
        lang,
        None,
        now,
    )
    .await
    {
        Ok(url) => see_other(url.as_str()),
        Err(e) => sign_in_failed(lang, &e),
    }
}

fn sign_in_failed(lang: Lang, e: &SignInError) -> Response {
    let status = match e {
        SignInError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        SignInError::Provider(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::BAD_REQUEST,
    };
    record_pages::problem(lang, status, e.advice())
}

/// The provider sent the person back to `/callback` with a record sign-in's state (`id`,
/// without its prefix).
pub async fn returned(
    broker: &Broker,
    id: &str,
    answer: ProviderAnswer,
    headers: &HeaderMap,
) -> Response {
    let fallback = lang::negotiate(None, None, headers);
    let now = broker.now();
    let cookie = browser::cookie(headers);
    let (lang, result) = match sign_in::returned(broker, id, answer, cookie.as_deref(), now).await {
        Ok(r) => r,
        Err(e) => return sign_in_failed(fallback, &e),
    };
    let SignedIn {
        session,
        cookie,
        then,
    } = match result {
        Ok(s) => s,
        Err(e) => return sign_in_failed(lang, &e),
    };
    // The browser's earlier record session, if any, gives way to this one.
    if let Ok(Some(old)) = RecordSession::of_browser(broker, headers, now).await
        && let Err(e) = old.end(broker).await
    {
        tracing::warn!(error = %e, "an earlier record session could not be ended");
    }
    let mut response = match then {
        None => see_other(super::path(lang)),
        Some(w) => withdrawn(broker, &session, &w, lang, now).await,
    };
    if let Some(v) = super::session::set_cookie(&cookie, broker.secure_cookies) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// `POST /my-record/sign-out`: the person closes their record.
pub async fn sign_out(
    State(broker): State<Broker>,
    headers: HeaderMap,
    Form(f): Form<RecordForm>,
) -> Response {
    let lang = explicit(f.lang.as_deref()).unwrap_or_default();
    let now = broker.now();
    let mut response = match session_of(&broker, &headers, lang, now).await {
        Ok(session) if form_ok(&broker, &session, &headers, f.csrf.as_deref()) => {
            if session.end(&broker).await.is_err() {
                unavailable(lang)
            } else {
                record_pages::notice(
                    lang,
                    ("Your record is closed", "Votre dossier est fermé"),
                    (
                        "To open it again, you will sign in with your identity provider.",
                        "Pour l'ouvrir de nouveau, vous vous connecterez avec votre fournisseur d'identité.",
                    ),
                )
            }
        }
        Ok(_) => return forged(lang),
        Err(page) => page,
    };
    response.headers_mut().append(
        header::SET_COOKIE,
        super::session::clear_cookie(broker.secure_cookies),
    );
    response
}
