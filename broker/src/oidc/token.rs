//! `/token`: redeem a one-time code, with client authentication and PKCE.

use axum::Json;
use axum::extract::{RawForm, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::params::{Params, is_pkce_verifier};
use crate::app::Broker;
use crate::http::browser::random_token;
use crate::login::state::{AccessGrant, CodeGrant};
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::id_token;
use crate::store::Kind;

pub async fn token(
    State(broker): State<Broker>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    match redeem(&broker, &headers, &body).await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, "token request refused");
            e.into_response()
        }
    }
}

async fn redeem(broker: &Broker, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let pairs = url::form_urlencoded::parse(body).into_owned().collect();
    let params = Params::from_pairs(pairs).map_err(OAuthError::invalid_request)?;
    let registry = broker.fresh_registry().await;
    let rp = crate::oidc::client_auth::authenticate(broker, &registry, headers, &params).await?;
    crate::http::limits::client(broker, &rp.client_id)
        .await
        .map_err(|r| r.to_oauth("from this client"))?;

    match params.get("grant_type") {
        Some("authorization_code") => {}
        None => return Err(OAuthError::invalid_request("grant_type is missing")),
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "only authorization_code is supported",
            ));
        }
    }
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
    let verifier = params.get("code_verifier").ok_or_else(|| {
        OAuthError::invalid_request("code_verifier is missing (PKCE is required)")
    })?;
    let redirect_uri = params.get("redirect_uri");

    // One-time: taken atomically; a replayed code finds nothing.
    let grant: CodeGrant = broker
        .store
        .take(Kind::Code, code)
        .await
        .map_err(|e| OAuthError::from_store(&e))?
        .ok_or_else(|| {
            OAuthError::new(
                ErrorCode::InvalidGrant,
                "the code is invalid, expired or already used",
            )
        })?;
    // The code is spent: from here on, a refusal ends the login, and says so in the trail.
    let txn = grant.txn.clone();
    let redeemed = release(broker, rp, grant, redirect_uri, verifier).await;
    if let Err(e) = &redeemed {
        tracing::warn!(target: "audit", event = "token.refused", txn = %txn, client = %rp.client_id, error = e.code.as_str(), reason = %e.description);
    }
    redeemed
}

/// Checks a taken code against the request that presented it, then issues the tokens.
async fn release(
    broker: &Broker,
    rp: &trust_framework::RelyingParty,
    grant: CodeGrant,
    redirect_uri: Option<&str>,
    verifier: &str,
) -> Result<Response, OAuthError> {
    if grant.client_id != rp.client_id {
        return Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "the code was issued to another client",
        ));
    }
    if redirect_uri != Some(grant.redirect_uri.as_str()) {
        return Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "redirect_uri does not match the authorization request",
        ));
    }
    if !is_pkce_verifier(verifier) {
        return Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "code_verifier is not a valid PKCE verifier",
        ));
    }
    let computed = URL_SAFE_NO_PAD.encode(crate::crypto::sha256(verifier.as_bytes()));
    if !bool::from(computed.as_bytes().ct_eq(grant.code_challenge.as_bytes())) {
        return Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "code_verifier does not match the code_challenge",
        ));
    }

    let now = time::OffsetDateTime::now_utc();
    let claims = id_token::claims(&broker.issuer, &grant, now);
    let id_token = broker
        .keys
        .sign(rp.id_token_alg, claims)
        .map_err(|e| OAuthError::server_error(format!("the ID token could not be signed: {e}")))?;
    let access_token = random_token();
    let access = AccessGrant {
        client_id: grant.client_id.clone(),
        subject: grant.subject.clone(),
        claims: grant.claims.clone(),
        verified_claims: grant.verified_claims.clone(),
    };
    broker
        .store
        .put(Kind::AccessToken, &access_token, &access)
        .await
        .map_err(|e| OAuthError::from_store(&e))?;
    tracing::info!(target: "audit", event = "token.issued", txn = %grant.txn, client = %rp.client_id, acr = %grant.acr);

    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": Kind::AccessToken.ttl().as_secs(),
        "id_token": id_token,
        "scope": "openid",
    });
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}
