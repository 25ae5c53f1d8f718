//! `GET /callback/{client_id}`: the broker's answer. Checks state (and the browser's cookie) and
//! `iss` (RFC 9207), redeems the code, verifies the ID token, fetches userinfo.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse as _, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq as _;

use super::error::RpError;
use super::logout::RawIdToken;
use super::verify::{Expected, verify_id_token};
use super::{
    Discovery, Pending, RelyingService, SESSION_COOKIE, STATE_COOKIE, ServiceClient, pages,
};
use crate::html::Lang;
use crate::util::{now_unix, parse_params};

/// What the result page shows.
#[derive(Debug, Clone)]
pub(super) struct SignedIn {
    pub client_id: String,
    /// The ID token as received, sent back to the broker as `id_token_hint` on sign-out.
    pub id_token: RawIdToken,
    pub id_token_header: Map<String, Value>,
    pub id_token_claims: Map<String, Value>,
    pub userinfo: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(cookie, _)| *cookie == name)
        .map(|(_, value)| value.to_owned())
}

async fn redeem(
    service: &RelyingService,
    discovery: &Discovery,
    client: &ServiceClient,
    code: &str,
    pending: &Pending,
) -> Result<TokenResponse, RpError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("code_verifier", pending.verifier.as_str()),
    ];
    let mut request = service
        .http
        .post(&discovery.token_endpoint)
        .header(header::ACCEPT, "application/json");
    if client.auth_method == "client_secret_post" {
        form.push(("client_id", &client.client_id));
        form.push(("client_secret", &client.client_secret));
    } else {
        // RFC 6749 2.3.1: form-urlencode each part before Basic.
        request = request.basic_auth(
            urlencoding::encode(&client.client_id),
            Some(urlencoding::encode(&client.client_secret)),
        );
    }
    let response = request
        .form(&form)
        .send()
        .await
        .map_err(|e| RpError::Broker(e.to_string()))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| RpError::Broker(e.to_string()))?;
    if !status.is_success() {
        let refusal: Option<OAuthError> = serde_json::from_slice(&body).ok();
        return Err(RpError::TokenRefused {
            error: refusal
                .as_ref()
                .map_or_else(|| status.to_string(), |r| r.error.clone()),
            description: refusal
                .and_then(|r| r.error_description)
                .unwrap_or_default(),
        });
    }
    serde_json::from_slice(&body)
        .map_err(|e| RpError::Broker(format!("the token response is not valid: {e}")))
}

pub(super) async fn fetch_json(
    service: &RelyingService,
    url: &str,
    bearer: Option<&str>,
) -> Result<Value, String> {
    let mut request = service
        .http
        .get(url)
        .header(header::ACCEPT, "application/json");
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

async fn finish(
    service: &RelyingService,
    client_id: &str,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    pending: Option<Pending>,
) -> Result<SignedIn, RpError> {
    let pending = pending.ok_or(RpError::UnknownState)?;
    let state = params.get("state").map(String::as_str).unwrap_or_default();
    let cookie = cookie(headers, STATE_COOKIE).unwrap_or_default();
    if !bool::from(cookie.as_bytes().ct_eq(state.as_bytes())) {
        return Err(RpError::BrowserMismatch);
    }
    if pending.client_id != client_id {
        return Err(RpError::UnknownState);
    }
    let client = service.client(client_id).ok_or(RpError::UnknownClient)?;
    if params.get("iss") != Some(&service.config.broker_issuer) {
        return Err(RpError::WrongIssuer);
    }
    let code = params.get("code").ok_or(RpError::MissingCode)?;
    let discovery = service.discovery().await?;
    let tokens = redeem(service, &discovery, client, code, &pending).await?;
    let id_token = tokens.id_token.as_deref().ok_or(RpError::TokenRefused {
        error: "no id_token".into(),
        description: "the token response carries no ID token".into(),
    })?;
    let jwks = fetch_json(service, &discovery.jwks_uri, None)
        .await
        .map_err(|e| RpError::Broker(format!("jwks: {e}")))?;
    let verified = verify_id_token(
        id_token,
        &jwks,
        Expected {
            issuer: &service.config.broker_issuer,
            client_id,
            nonce: &pending.nonce,
            now: now_unix(),
        },
    )?;
    let userinfo = match &discovery.userinfo_endpoint {
        None => None,
        Some(endpoint) => {
            let value = fetch_json(service, endpoint, Some(&tokens.access_token))
                .await
                .map_err(RpError::Userinfo)?;
            let Value::Object(userinfo) = value else {
                return Err(RpError::Userinfo("not a JSON object".into()));
            };
            // OpenID Connect Core 5.3.2: the sub must be the ID token's.
            if userinfo.get("sub") != verified.claims.get("sub") {
                return Err(RpError::Userinfo(
                    "its sub differs from the ID token's".into(),
                ));
            }
            Some(userinfo)
        }
    };
    Ok(SignedIn {
        client_id: client_id.to_owned(),
        id_token: RawIdToken(id_token.to_owned()),
        id_token_header: verified.header,
        id_token_claims: verified.claims,
        userinfo,
    })
}

/// Keeps the result in a short session and shows it at `/result` (so that the page can be
/// switched to the other language).
fn result_redirect(service: &RelyingService, session: &str, lang: Lang) -> Response {
    let mut response = Redirect::to(&crate::html::href("/result", &[], lang)).into_response();
    let secure = if service.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{SESSION_COOKIE}={session}; Path=/; Max-Age=600; HttpOnly; SameSite=Lax{secure}");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub(super) async fn callback(
    State(service): State<Arc<RelyingService>>,
    Path(client_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = match parse_params(query.as_deref().unwrap_or_default()) {
        Ok(params) => params,
        Err(_) => return pages::error_page(Lang::En, &RpError::RepeatedParameter),
    };
    // The state is one-time: taken whatever happens next.
    let pending = params
        .get("state")
        .and_then(|state| service.pending.take(state));
    let lang = match (&pending, params.get("lang")) {
        (_, Some(lang)) => Lang::from_param(Some(lang)),
        (Some(pending), None) => pending.lang,
        (None, None) => Lang::En,
    };
    let mut response = if let Some(error) = params.get("error") {
        let client = service.client(&client_id);
        pages::refused_page(
            lang,
            client,
            error,
            params.get("error_description").map(String::as_str),
        )
    } else {
        match finish(&service, &client_id, &params, &headers, pending).await {
            Ok(signed_in) => match service.sessions.insert(signed_in) {
                Ok(session) => result_redirect(&service, &session, lang),
                Err(_) => pages::error_page(lang, &RpError::Busy),
            },
            Err(error) => {
                tracing::warn!(%error, client_id, "demo relying service: sign-in failed");
                pages::error_page(lang, &error)
            }
        }
    };
    let clear = format!("{STATE_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
