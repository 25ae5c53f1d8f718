//! `GET /login/{client_id}`: starts a sign-in at the broker (code + PKCE S256 + state + nonce).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::error::RpError;
use super::{Pending, RelyingService, STATE_COOKIE, pages};
use crate::html::Lang;
use crate::util::{parse_params, pkce_s256, random_token};

/// The scopes every demo service asks for.
const SCOPE: &str = "openid profile address email";
/// Optional fields are passed on only up to this length.
const MAX_FIELD: usize = 256;

async fn start(
    service: &RelyingService,
    client_id: &str,
    params: &std::collections::HashMap<String, String>,
    lang: Lang,
) -> Result<Response, RpError> {
    let client = service.client(client_id).ok_or(RpError::UnknownClient)?;
    let discovery = service.discovery().await?;
    let nonce = random_token();
    let verifier = random_token();
    let state = service
        .pending
        .insert(Pending {
            client_id: client.client_id.clone(),
            nonce: nonce.clone(),
            verifier: verifier.clone(),
            lang,
        })
        .map_err(|_| RpError::Busy)?;
    let mut url = url::Url::parse(&discovery.authorization_endpoint)
        .map_err(|e| RpError::Broker(format!("authorization_endpoint: {e}")))?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &client.client_id)
            .append_pair("redirect_uri", &client.redirect_uri)
            .append_pair("scope", SCOPE)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &pkce_s256(&verifier))
            .append_pair("code_challenge_method", "S256")
            .append_pair("ui_locales", lang.code());
        for name in ["acr_values", "idp_hint", "login_hint"] {
            if let Some(value) = params.get(name).map(|v| v.trim())
                && !value.is_empty()
                && value.len() <= MAX_FIELD
            {
                query.append_pair(name, value);
            }
        }
    }
    let secure = if service.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{STATE_COOKIE}={state}; Path=/; Max-Age=600; HttpOnly; SameSite=Lax{secure}");
    let mut response = Redirect::to(url.as_str()).into_response();
    let cookie = HeaderValue::from_str(&cookie).map_err(|_| RpError::Busy)?;
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub(super) async fn login(
    State(service): State<Arc<RelyingService>>,
    Path(client_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = parse_params(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let lang = Lang::from_param(params.get("lang").map(String::as_str));
    match start(&service, &client_id, &params, lang).await {
        Ok(response) => response,
        Err(error) => pages::error_page(lang, &error),
    }
}
