//! `/logout`: OpenID Connect RP-Initiated Logout 1.0, the broker as the OpenID Provider.
//!
//! A request tied to the person's session (an `id_token_hint` this broker signed, whose `sid`
//! is the browser's session) signs out at once; any other (no hint, a hint of another session)
//! is asked first, on a bilingual page, so that a link on another site cannot sign a person
//! out silently. A hint this broker did not sign, an unknown client, or a
//! `post_logout_redirect_uri` not registered for the client, exactly, is refused with a page:
//! the broker never redirects to an address it cannot vouch for.
//!
//! Signing out ends the broker's session (its services get logout tokens,
//! `super::delivery`), then sends the person through the provider's own end-session endpoint,
//! if it has one, and back to `/logout/callback`, then to the service's return address with
//! its `state`, or to a page that says they are signed out. Every answer to a request that
//! signs out clears the session cookie, whatever the store said: a failure leaves the person
//! signed out, never in. A refused request changes nothing.

use axum::extract::{Form, Query, RawForm, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trust_framework::{Lang, Registry};

use super::cookie;
use super::{EndCause, Session};
use crate::app::Broker;
use crate::audit::Event;
use crate::http::logout_pages::{self, ConfirmForm, Outcome};
use crate::http::{browser, lang, pages};
use crate::login::ending::see_other;
use crate::oidc::error::OAuthError;
use crate::store::Kind;
use crate::upstream::signature::{self, ProviderKeys};
use crate::upstream::{ProviderSignOut, validation};

/// Where the person goes back to, once signed out: a return address registered for the
/// client, exactly, and the client's `state`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Return {
    uri: String,
    state: Option<String>,
}

/// A checked sign-out request.
#[derive(Debug)]
struct Checked {
    client_id: Option<String>,
    /// The `sid` of a hint this broker signed.
    hint_sid: Option<String>,
    return_to: Option<Return>,
}

/// What the provider leg keeps until the person comes back from the provider.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    return_to: Option<Return>,
    lang: Lang,
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// `GET /logout`.
pub async fn get(
    State(broker): State<Broker>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    logout(&broker, &pairs, &headers).await
}

/// `POST /logout` (form-encoded, section 2).
pub async fn post(
    State(broker): State<Broker>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    logout(&broker, &pairs, &headers).await
}

fn language(pairs: &[(String, String)], headers: &HeaderMap) -> Lang {
    lang::negotiate(param(pairs, "lang"), param(pairs, "ui_locales"), headers)
}

fn switch_href(lang: Lang) -> String {
    format!("/logout/done?lang={}", lang.other().code())
}

async fn logout(broker: &Broker, pairs: &[(String, String)], headers: &HeaderMap) -> Response {
    let lang = language(pairs, headers);
    let registry = broker.fresh_registry().await;
    let checked = match check(broker, &registry, pairs) {
        Ok(c) => c,
        Err(e) => return refused(broker, lang, &e),
    };
    let session = match browser_session(broker, headers).await {
        Ok(s) => s,
        Err(()) => return signed_out_here(broker, lang),
    };
    let Some(session) = session else {
        // Nothing to end here (already signed out, or another browser): the service still
        // gets its person back.
        return finish(broker, checked.return_to, lang);
    };
    let tied = checked
        .hint_sid
        .as_deref()
        .is_some_and(|sid| sid.as_bytes() == session.sid.as_bytes());
    if tied {
        return sign_out(broker, &registry, session, checked.return_to, lang).await;
    }
    ask(broker, &registry, &session, &checked, lang).await
}

/// The browser's session; `Err` when the store cannot say (logged), for which the person is
/// signed out in this browser all the same.
async fn browser_session(broker: &Broker, headers: &HeaderMap) -> Result<Option<Session>, ()> {
    Session::of_browser(broker, headers, broker.now())
        .await
        .map_err(|e| tracing::error!(error = %e, "the session store failed at sign-out"))
}

/// Checks the request's parameters; an error is a page, never a redirect.
fn check(
    broker: &Broker,
    registry: &Registry,
    pairs: &[(String, String)],
) -> Result<Checked, OAuthError> {
    let hint = param(pairs, "id_token_hint")
        .map(|h| verify_hint(broker, h))
        .transpose()?;
    let client_id = match (param(pairs, "client_id"), &hint) {
        (Some(c), Some(h)) if !h.audience.iter().any(|a| a == c) => {
            return Err(OAuthError::invalid_request(
                "client_id is not an audience of the id_token_hint",
            ));
        }
        (Some(c), _) => Some(c.to_owned()),
        (None, Some(h)) => match h.audience.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        },
        (None, None) => None,
    };
    if let Some(c) = &client_id
        && registry.relying_party(c).is_none()
    {
        return Err(OAuthError::invalid_request("the client is not registered"));
    }
    let return_to = match param(pairs, "post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let rp = client_id
                .as_deref()
                .and_then(|c| registry.relying_party(c))
                .ok_or_else(|| {
                    OAuthError::invalid_request(
                        "post_logout_redirect_uri needs client_id or an id_token_hint naming the client",
                    )
                })?;
            if !rp.allows_post_logout_redirect(uri) {
                return Err(OAuthError::invalid_request(
                    "post_logout_redirect_uri is not registered for this client",
                ));
            }
            Some(Return {
                uri: uri.to_owned(),
                state: param(pairs, "state").map(str::to_owned),
            })
        }
    };
    Ok(Checked {
        client_id,
        hint_sid: hint.and_then(|h| h.sid),
        return_to,
    })
}

/// What a verified `id_token_hint` says.
struct Hint {
    audience: Vec<String>,
    sid: Option<String>,
}

/// An ID token this broker signed, with any of its published keys (current, next or retired):
/// signature (the algorithm allow-list of `signature::verify`) and `iss`. It may have expired
/// (section 2): a hint names a session, it grants nothing.
fn verify_hint(broker: &Broker, hint: &str) -> Result<Hint, OAuthError> {
    let invalid = || OAuthError::invalid_request("id_token_hint is not an ID token of this broker");
    let keys = ProviderKeys::from_value(&broker.keys.jwks(broker.now().unix_timestamp()));
    if let Ok(header) = crate::jose::header(hint)
        && header.typ.as_deref().is_some_and(|t| t != "JWT")
    {
        return Err(invalid());
    }
    signature::verify(hint, &keys).map_err(|_| invalid())?;
    let claims = validation::payload(hint).map_err(|_| invalid())?;
    if claims.get("iss").and_then(Value::as_str) != Some(broker.issuer.as_str()) {
        return Err(invalid());
    }
    let audience = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => return Err(invalid()),
    };
    Ok(Hint {
        audience,
        sid: claims.get("sid").and_then(Value::as_str).map(str::to_owned),
    })
}

/// A refused sign-out request: a page, and nothing else. The session cookie is left alone, or
/// any link on any site could sign a person out of the broker (leaving the session's services
/// untold, half-ended).
fn refused(broker: &Broker, lang: Lang, error: &OAuthError) -> Response {
    broker.audit(Event::LogoutRefused {
        reason: &error.description,
    });
    pages::error(
        lang,
        StatusCode::BAD_REQUEST,
        error,
        &error.description,
        switch_href(lang),
    )
}

fn clear_cookie(broker: &Broker, response: &mut Response) {
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie::clear(broker.secure_cookies));
}

/// The confirmation page: the request could not be tied to this session.
async fn ask(
    broker: &Broker,
    registry: &Registry,
    session: &Session,
    checked: &Checked,
    lang: Lang,
) -> Response {
    let services: Vec<String> = broker
        .store
        .members(Kind::SessionServices, &session.sid)
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|m| serde_json::from_str::<super::Served>(m).ok())
        .filter_map(|s| registry.relying_party(&s.client_id))
        .map(|rp| rp.name.get(lang).to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let csrf = broker.forms.sign_out(&session.sid, &session.browser);
    let mut origins = crate::http::pages::provider_origins(
        registry,
        std::iter::once(session.provider_id.as_str()),
    );
    if let Some(r) = &checked.return_to
        && let Ok(u) = url::Url::parse(&r.uri)
    {
        origins.push(u.origin().ascii_serialization());
    }
    let form = ConfirmForm {
        csrf: &csrf,
        client_id: checked.client_id.as_deref(),
        post_logout_redirect_uri: checked.return_to.as_ref().map(|r| r.uri.as_str()),
        state: checked.return_to.as_ref().and_then(|r| r.state.as_deref()),
    };
    logout_pages::confirm(lang, services, form, &origins, switch_href(lang))
}

/// The confirmation form's answer.
#[derive(Debug, Deserialize)]
pub struct Confirmed {
    csrf: String,
    decision: String,
    lang: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

/// `POST /logout/confirm`.
pub async fn confirm(
    State(broker): State<Broker>,
    headers: HeaderMap,
    Form(answer): Form<Confirmed>,
) -> Response {
    let lang = lang::negotiate(answer.lang.as_deref(), None, &headers);
    let registry = broker.fresh_registry().await;
    // The return address is checked again, as on the first request.
    let mut pairs = Vec::new();
    for (k, v) in [
        ("client_id", &answer.client_id),
        ("post_logout_redirect_uri", &answer.post_logout_redirect_uri),
        ("state", &answer.state),
    ] {
        if let Some(v) = v {
            pairs.push((k.to_owned(), v.clone()));
        }
    }
    let checked = match check(&broker, &registry, &pairs) {
        Ok(c) => c,
        Err(e) => return refused(&broker, lang, &e),
    };
    let session = match browser_session(&broker, &headers).await {
        Ok(s) => s,
        Err(()) => return signed_out_here(&broker, lang),
    };
    let Some(session) = session else {
        return finish(&broker, checked.return_to, lang);
    };
    if !broker.forms.sign_out_matches(
        &session.sid,
        browser::cookie(&headers).as_deref(),
        &answer.csrf,
    ) {
        return refused(
            &broker,
            lang,
            &OAuthError::invalid_request(
                "the form was not issued by this broker (CSRF check failed)",
            ),
        );
    }
    match answer.decision.as_str() {
        "sign_out" => sign_out(&broker, &registry, session, checked.return_to, lang).await,
        _ => logout_pages::outcome(lang, Outcome::StayedSignedIn, switch_href(lang)),
    }
}

/// Ends the session, then on to the provider's end-session endpoint if it has one.
async fn sign_out(
    broker: &Broker,
    registry: &Registry,
    session: Session,
    return_to: Option<Return>,
    lang: Lang,
) -> Response {
    let now = broker.now();
    let ended = match super::end(broker, session, EndCause::Logout, now).await {
        Ok(Some(ended)) => ended,
        Ok(None) => return finish(broker, return_to, lang),
        Err(e) => {
            tracing::error!(error = %e, "a session could not be ended in the store");
            return signed_out_here(broker, lang);
        }
    };
    let session = ended.session;
    let Some(provider) = registry.provider(&session.provider_id) else {
        return finish(broker, return_to, lang);
    };
    let state = browser::random_token();
    let pending = Pending {
        return_to: return_to.clone(),
        lang,
    };
    if let Err(e) = broker.store.put(Kind::LogoutReturn, &state, &pending).await {
        tracing::warn!(error = %e, "the provider's sign-out is skipped: the store failed");
        return finish(broker, return_to, lang);
    }
    let callback = format!("{}/logout/callback", broker.issuer);
    let request = ProviderSignOut {
        id_token_hint: &session.upstream_id_token,
        post_logout_redirect_uri: &callback,
        state: &state,
        ui_locales: Some(lang.code()),
    };
    match broker.upstream.end_session_url(provider, &request).await {
        Ok(Some(url)) => {
            let mut response = see_other(url.as_str());
            clear_cookie(broker, &mut response);
            response
        }
        Ok(None) => finish(broker, return_to, lang),
        Err(e) => {
            tracing::warn!(provider = %provider.id, error = %e, "the provider's sign-out is skipped");
            finish(broker, return_to, lang)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ProviderReturn {
    state: Option<String>,
}

/// `GET /logout/callback`: back from the provider's end-session endpoint.
pub async fn callback(
    State(broker): State<Broker>,
    Query(q): Query<ProviderReturn>,
    headers: HeaderMap,
) -> Response {
    let fallback = lang::negotiate(None, None, &headers);
    let pending = match q.state.as_deref() {
        Some(state) => broker
            .store
            .take::<Pending>(Kind::LogoutReturn, state)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    match pending {
        Some(p) => finish(&broker, p.return_to, p.lang),
        None => finish(&broker, None, fallback),
    }
}

#[derive(Debug, Deserialize)]
pub struct Done {
    lang: Option<String>,
}

/// `GET /logout/done`: the signed-out page (the language switch's target).
pub async fn done(
    State(broker): State<Broker>,
    Query(q): Query<Done>,
    headers: HeaderMap,
) -> Response {
    let lang = lang::negotiate(q.lang.as_deref(), None, &headers);
    finish(&broker, None, lang)
}

/// Back to the service's return address with its `state`, or the signed-out page.
fn finish(broker: &Broker, return_to: Option<Return>, lang: Lang) -> Response {
    let mut response = match return_to.and_then(|r| {
        let mut url = url::Url::parse(&r.uri).ok()?;
        if let Some(state) = r.state {
            url.query_pairs_mut().append_pair("state", &state);
        }
        Some(url)
    }) {
        Some(url) => see_other(url.as_str()),
        None => logout_pages::outcome(lang, Outcome::SignedOut, switch_href(lang)),
    };
    clear_cookie(broker, &mut response);
    response
}

/// The store failed: the browser is signed out all the same (its cookie cleared), and told
/// that the services may not have heard.
fn signed_out_here(broker: &Broker, lang: Lang) -> Response {
    let mut response = logout_pages::outcome(lang, Outcome::SignedOutHere, switch_href(lang));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    clear_cookie(broker, &mut response);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
