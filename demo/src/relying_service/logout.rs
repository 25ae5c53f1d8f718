//! Signing out of a service through the broker (RP-Initiated Logout 1.0, as the relying party):
//!
//! - `POST /logout/{client_id}` (the result page's "Sign out" button) ends the service's own
//!   session in this browser, then sends the browser to the broker's `end_session_endpoint`
//!   with the ID token it received as `id_token_hint`, its `client_id`, its
//!   `post_logout_redirect_uri` (`{public_url}/signed-out/{client_id}`), a random `state` bound
//!   to this browser by a cookie, and the page's language as `ui_locales`;
//! - `GET /signed-out/{client_id}` is where the broker sends the browser back: the `state` must
//!   be the one this browser sent (one-time), so that no one can make a browser show "you are
//!   signed out" for a sign-out it did not ask for.
//!
//! The button is a POST, not a link, so that another site cannot sign a person out by an image
//! or a link (the session cookie is `SameSite=Lax`: a cross-site POST does not carry it).

use std::fmt;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Redirect, Response};
use subtle::ConstantTimeEq as _;

use super::backchannel::ReceivedLogout;
use super::callback::{SignedIn, cookie};
use super::error::RpError;
use super::pages::{back_link, page};
use super::{RelyingService, SESSION_COOKIE, ServiceClient, pages};
use crate::html::{self, FormAction, Lang, escape};
use crate::util::parse_params;

/// The cookie binding the browser to the `state` of its sign-out.
const LOGOUT_STATE_COOKIE: &str = "demo_rp_logout_state";

/// An ID token as received from the broker, kept to be sent back as `id_token_hint`. Its
/// `Debug` hides it: a token never goes to a log.
#[derive(Clone)]
pub(super) struct RawIdToken(pub String);

impl fmt::Debug for RawIdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawIdToken(<redacted>)")
    }
}

/// A sign-out in progress at the broker, keyed by its `state`.
#[derive(Debug, Clone)]
pub(super) struct PendingLogout {
    client_id: String,
    lang: Lang,
}

/// Where the broker sends the browser back after signing out of `client_id`: beside the
/// service's callback, under its public URL, as the registry registers it.
pub(super) fn post_logout_redirect_uri(service: &RelyingService, client_id: &str) -> String {
    format!(
        "{}/signed-out/{}",
        service.config.public_url.trim_end_matches('/'),
        urlencoding::encode(client_id)
    )
}

/// The result page's sign-out button (its page must allow a redirect chain as form action).
pub(super) fn sign_out_section(lang: Lang, client: &ServiceClient) -> String {
    format!(
        "<h2>{title}</h2>\n<p>{explain}</p>\n<form method=\"post\" action=\"/logout/{path}\">\
<input type=\"hidden\" name=\"lang\" value=\"{lang_code}\">\
<button type=\"submit\">{sign_out}</button></form>",
        title = lang.pick("Sign out", "Déconnexion"),
        explain = escape(lang.pick(
            "Signing out here also signs you out at the identity broker and at your identity provider, and the broker tells the other services you signed in to.",
            "Vous déconnecter ici vous déconnecte aussi du courtier d'identité et de votre fournisseur d'identité, et le courtier en avise les autres services où votre session est ouverte."
        )),
        path = escape(&urlencoding::encode(&client.client_id)),
        lang_code = lang.code(),
        sign_out = lang.pick("Sign out", "Se déconnecter"),
    )
}

fn cookie_header(
    service: &RelyingService,
    name: &str,
    value: &str,
    max_age: u32,
) -> Option<HeaderValue> {
    let secure = if service.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

async fn start(
    service: &RelyingService,
    client_id: &str,
    headers: &HeaderMap,
    lang: Lang,
) -> Result<Response, RpError> {
    let client = service.client(client_id).ok_or(RpError::UnknownClient)?;
    // The service's own session ends now, whatever the broker does next.
    let signed_in = cookie(headers, SESSION_COOKIE)
        .and_then(|session| service.sessions.take(&session))
        .filter(|signed_in| signed_in.client_id == client.client_id);
    let discovery = service.discovery().await?;
    let endpoint = discovery
        .end_session_endpoint
        .unwrap_or_else(|| format!("{}/logout", service.config.broker_issuer));
    let state = service
        .logouts
        .insert(PendingLogout {
            client_id: client.client_id.clone(),
            lang,
        })
        .map_err(|_| RpError::Busy)?;
    let mut url = url::Url::parse(&endpoint)
        .map_err(|e| RpError::Broker(format!("end_session_endpoint: {e}")))?;
    {
        let mut query = url.query_pairs_mut();
        if let Some(signed_in) = &signed_in {
            query.append_pair("id_token_hint", &signed_in.id_token.0);
        }
        query
            .append_pair("client_id", &client.client_id)
            .append_pair(
                "post_logout_redirect_uri",
                &post_logout_redirect_uri(service, &client.client_id),
            )
            .append_pair("state", &state)
            .append_pair("ui_locales", lang.code());
    }
    let mut response = Redirect::to(url.as_str()).into_response();
    let headers = response.headers_mut();
    let state_cookie =
        cookie_header(service, LOGOUT_STATE_COOKIE, &state, 600).ok_or(RpError::Busy)?;
    headers.append(header::SET_COOKIE, state_cookie);
    if let Some(clear) = cookie_header(service, SESSION_COOKIE, "", 0) {
        headers.append(header::SET_COOKIE, clear);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `POST /logout/{client_id}`: the person signs out of this service.
pub(super) async fn logout(
    State(service): State<Arc<RelyingService>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let params = parse_params(&body).unwrap_or_default();
    let lang = Lang::from_param(params.get("lang").map(String::as_str));
    match start(&service, &client_id, &headers, lang).await {
        Ok(response) => response,
        Err(error) => pages::error_page(lang, &error),
    }
}

fn signed_out_body(lang: Lang, client: &ServiceClient, message: (&str, &str)) -> String {
    format!(
        "<p>{} <strong>{}</strong>.</p>\n{}",
        escape(lang.pick(message.0, message.1)),
        escape(client.name(lang)),
        back_link(lang)
    )
}

/// `GET /signed-out/{client_id}?state=…`: back from the broker.
pub(super) async fn signed_out(
    State(service): State<Arc<RelyingService>>,
    Path(client_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = parse_params(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let state = params.get("state").map(String::as_str).unwrap_or_default();
    // One-time: taken whatever happens next.
    let pending = service.logouts.take(state);
    let lang = match (&pending, params.get("lang")) {
        (_, Some(lang)) => Lang::from_param(Some(lang)),
        (Some(pending), None) => pending.lang,
        (None, None) => Lang::En,
    };
    let Some(client) = service.client(&client_id) else {
        return pages::error_page(lang, &RpError::UnknownClient);
    };
    let browser = cookie(&headers, LOGOUT_STATE_COOKIE).unwrap_or_default();
    let ours = pending.is_some_and(|p| p.client_id == client.client_id)
        && bool::from(browser.as_bytes().ct_eq(state.as_bytes()));
    let (status, title, body) = if ours {
        (
            StatusCode::OK,
            lang.pick("You are signed out", "Votre session est fermée"),
            signed_out_body(
                lang,
                client,
                (
                    "You are signed out of",
                    "Votre session est fermée pour le service",
                ),
            ),
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            lang.pick("Sign-out not confirmed", "Déconnexion non confirmée"),
            format!(
                "<p class=\"error\" role=\"alert\">{}</p>\n{}",
                escape(lang.pick(
                    "This sign-out is unknown, has expired or was started in another browser (state). If you asked to sign out in this browser, the service's own session has ended.",
                    "Cette déconnexion est inconnue, a expiré ou a été commencée dans un autre navigateur (state). Si vous avez demandé la déconnexion dans ce navigateur, la session du service est terminée."
                )),
                back_link(lang)
            ),
        )
    };
    // The language switch leads to the services: this page's state is spent.
    let mut response = html::render(status, page(lang, title, body, FormAction::SelfOnly));
    if let Some(clear) = cookie_header(&service, LOGOUT_STATE_COOKIE, "", 0) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// The result page of a sign-in the broker has since ended (a back-channel logout token named
/// it): the service's session is over.
pub(super) fn ended_page(lang: Lang, client: &ServiceClient, ended: &ReceivedLogout) -> Response {
    let body = format!(
        "<p>{} <strong>{}</strong>.</p>\n<p class=\"muted\">{} {}</p>\n{}",
        escape(lang.pick(
            "You were signed out by the identity broker, so you are no longer signed in to",
            "Le courtier d'identité a fermé votre session\u{a0}: elle n'est plus ouverte pour le service"
        )),
        escape(client.name(lang)),
        escape(lang.pick("Logout token received at", "Jeton de déconnexion reçu à")),
        escape(&ended.received_at_text()),
        back_link(lang)
    );
    html::render(
        StatusCode::OK,
        page(
            lang,
            lang.pick("Signed out by the broker", "Session fermée par le courtier"),
            body,
            FormAction::SelfOnly,
        ),
    )
}

/// The logout token that ended `signed_in`, if the broker has sent one.
pub(super) fn ended_by_broker(
    service: &RelyingService,
    signed_in: &SignedIn,
) -> Option<ReceivedLogout> {
    let claims = &signed_in.id_token_claims;
    let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
    let iat = claims
        .get("iat")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or_default();
    service
        .received
        .ended(&signed_in.client_id, text("sid"), text("sub"), iat)
}
