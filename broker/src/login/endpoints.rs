//! The login's pages in the browser: the picker (`/authorize/select`), the return from the
//! provider (`/callback`) and the notice-and-consent page (`/consent`). Each handler parses,
//! calls one transition of the machine and answers with [`respond`].

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::Deserialize;
use trust_framework::Lang;

use super::choose::Choice;
use super::consent::Answer;
use super::ending::{redirect_to_service, see_other};
use super::returned::ProviderAnswer;
use super::{AtProvider, AwaitingConsent, Choosing, Failure, Login, Returned};
use crate::app::Broker;
use crate::http::lang::explicit;
use crate::http::{browser, lang, pages};
use crate::session;

/// What the browser is shown or sent to once a transition is made.
pub fn respond(broker: &Broker, login: Login) -> Response {
    match login {
        Login::Choosing { choosing, step_up } => pages::picker(
            choosing.login.lang,
            &broker.registry(),
            &choosing.login.decision,
            &choosing.login.txn,
            &choosing.csrf,
            step_up.then(|| pages::step_up_notice(choosing.login.lang)),
        ),
        Login::AtProvider { url, .. } => see_other(url.as_str()),
        Login::AwaitingConsent { awaiting, form } => {
            let csrf = broker.forms.consent(&form, &awaiting.browser);
            pages::consent(awaiting.lang, &broker.registry(), &awaiting, &form, &csrf)
        }
        Login::CodeIssued { grant, code, state } => {
            let mut params = vec![("code", code)];
            if let Some(state) = state {
                params.push(("state", state));
            }
            redirect_to_service(broker, &grant.redirect_uri, params)
        }
    }
}

/// A page's key and its language switch, from the query or the form.
#[derive(Debug, Deserialize)]
pub struct Show {
    txn: String,
    lang: Option<String>,
}

/// The same page in the other language.
fn switch(path: &str, key: &str, lang: Lang) -> String {
    format!(
        "{path}?txn={}&lang={}",
        urlencoding::encode(key),
        lang.other().code()
    )
}

/// `GET /authorize/select`: the picker again, for the language switch.
pub async fn picker(
    State(broker): State<Broker>,
    Query(q): Query<Show>,
    headers: HeaderMap,
) -> Response {
    let lang = explicit(q.lang.as_deref()).unwrap_or_default();
    let cookie = browser::cookie(&headers);
    match Choosing::load(&broker, &q.txn, cookie.as_deref(), lang).await {
        Ok(choosing) => pages::picker(
            explicit(q.lang.as_deref()).unwrap_or(choosing.login.lang),
            &broker.registry(),
            &choosing.login.decision,
            &q.txn,
            &choosing.csrf,
            None,
        ),
        Err(f) => f.into_response(&broker, switch("/authorize/select", &q.txn, lang)),
    }
}

#[derive(Debug, Deserialize)]
pub struct ChoiceForm {
    txn: String,
    csrf: String,
    provider: String,
    lang: Option<String>,
    remember: Option<String>,
}

/// `POST /authorize/select`: the person's choice on the picker.
pub async fn choose(
    State(broker): State<Broker>,
    headers: HeaderMap,
    Form(c): Form<ChoiceForm>,
) -> Response {
    let lang = explicit(c.lang.as_deref()).unwrap_or_default();
    let cookie = browser::cookie(&headers);
    let choice = Choice {
        provider: &c.provider,
        csrf: &c.csrf,
        remember: c.remember.is_some(),
    };
    let chosen = match Choosing::load(&broker, &c.txn, cookie.as_deref(), lang).await {
        Ok(choosing) => {
            let lang = explicit(c.lang.as_deref()).unwrap_or(choosing.login.lang);
            choosing.choose(&broker, &choice, lang, broker.now()).await
        }
        Err(f) => Err(f),
    };
    match chosen {
        Ok(login) => {
            let remembered = match (&login, choice.remember) {
                (Login::AtProvider { at, .. }, true) => {
                    browser::remember_provider(&at.candidate.provider_id, broker.secure_cookies)
                }
                _ => None,
            };
            let mut response = respond(&broker, login);
            if let Some(cookie) = remembered {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(f) => f.into_response(&broker, switch("/authorize/select", &c.txn, lang)),
    }
}

#[derive(Debug, Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /callback`: the provider sends the person back.
pub async fn callback(
    State(broker): State<Broker>,
    Query(q): Query<CallbackParams>,
    headers: HeaderMap,
) -> Response {
    let lang = lang::negotiate(None, None, &headers);
    let cookie = browser::cookie(&headers);
    // A sign-in to a person's record, not a service's login.
    if let Some(id) = q
        .state
        .as_deref()
        .and_then(|s| s.strip_prefix(crate::record::sign_in::STATE_PREFIX))
    {
        let answer = ProviderAnswer {
            code: q.code,
            iss: q.iss,
            error: q.error,
            error_description: q.error_description,
        };
        return crate::record::endpoints::returned(&broker, id, answer, &headers).await;
    }
    let returned = match q.state.as_deref() {
        None => Err(Failure::expired(lang)),
        Some(txn) => match AtProvider::take(&broker, txn, cookie.as_deref(), lang).await {
            Ok(at) => {
                let answer = ProviderAnswer {
                    code: q.code,
                    iss: q.iss,
                    error: q.error,
                    error_description: q.error_description,
                };
                let now = broker.now();
                // The browser's session, if any, is renewed or replaced by this sign-in. A store
                // that cannot say counts as none: the new session replaces it in the browser.
                let existing = session::Session::of_browser(&broker, &headers, now)
                    .await
                    .unwrap_or_default();
                at.returned(&broker, answer, existing, now).await
            }
            Err(f) => Err(f),
        },
    };
    match returned {
        Ok(Returned { login, started }) => {
            let mut response = respond(&broker, login);
            if let Some(started) = started {
                let secure = broker.secure_cookies;
                let headers = response.headers_mut();
                if let Some(v) = session::cookie::set(&started, secure) {
                    headers.append(header::SET_COOKIE, v);
                }
                // The binding cookie lives as long as the session may.
                if let Some(c) = cookie.as_deref()
                    && let Some(v) = browser::set_cookie_for(c, secure, broker.sessions.absolute())
                {
                    headers.append(header::SET_COOKIE, v);
                }
            }
            response
        }
        Err(f) => f.into_response(&broker, format!("/?lang={}", lang.other().code())),
    }
}

/// `GET /consent`: the page again, for the language switch.
pub async fn consent_page(
    State(broker): State<Broker>,
    Query(q): Query<Show>,
    headers: HeaderMap,
) -> Response {
    let lang = explicit(q.lang.as_deref()).unwrap_or_default();
    let cookie = browser::cookie(&headers);
    match AwaitingConsent::load(&broker, &q.txn, cookie.as_deref(), lang).await {
        Ok(awaiting) => {
            let csrf = broker.forms.consent(&q.txn, &awaiting.browser);
            pages::consent(
                explicit(q.lang.as_deref()).unwrap_or(awaiting.lang),
                &broker.registry(),
                &awaiting,
                &q.txn,
                &csrf,
            )
        }
        Err(f) => f.into_response(&broker, switch("/consent", &q.txn, lang)),
    }
}

#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    txn: String,
    csrf: String,
    decision: String,
    remember: Option<String>,
    lang: Option<String>,
}

/// `POST /consent`: the person's decision.
pub async fn decide(
    State(broker): State<Broker>,
    headers: HeaderMap,
    Form(d): Form<ConsentForm>,
) -> Response {
    let lang = explicit(d.lang.as_deref()).unwrap_or_default();
    let cookie = browser::cookie(&headers);
    let answer = Answer {
        csrf: &d.csrf,
        decision: &d.decision,
        remember: d.remember.is_some(),
    };
    match AwaitingConsent::decide(
        &broker,
        &d.txn,
        cookie.as_deref(),
        &answer,
        lang,
        broker.now(),
    )
    .await
    {
        Ok(login) => respond(&broker, login),
        Err(f) => f.into_response(&broker, switch("/consent", &d.txn, lang)),
    }
}
