//! `/token`: redeem a one-time code, with client authentication and PKCE.

use axum::Json;
use axum::extract::{RawForm, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use trust_framework::{ClientAuth, RelyingParty};

use super::browser::random_token;
use super::params::{Params, is_pkce_verifier};
use crate::app::Broker;
use crate::grant::{AccessGrant, CodeGrant};
use crate::id_token;
use crate::oauth_error::{ErrorCode, OAuthError};
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
    let rp = authenticate(broker, &registry, headers, &params)?;

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
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
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

/// The client, authenticated by the method it registered and no other.
fn authenticate<'r>(
    broker: &Broker,
    registry: &'r trust_framework::Registry,
    headers: &HeaderMap,
    params: &Params,
) -> Result<&'r RelyingParty, OAuthError> {
    let invalid = |d: &str| OAuthError::new(ErrorCode::InvalidClient, d);
    let basic = basic_credentials(headers)?;
    let (client_id, secret, method) = match (basic, params.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        (Some((id, secret)), None) => {
            if params.get("client_id").is_some_and(|c| c != id) {
                return Err(invalid("client_id differs from the authenticated client"));
            }
            (id, secret, "client_secret_basic")
        }
        (None, Some(secret)) => {
            let id = params
                .get("client_id")
                .ok_or_else(|| invalid("client_id is missing"))?;
            (id.to_owned(), secret.to_owned(), "client_secret_post")
        }
        (None, None) => return Err(invalid("client authentication is required")),
    };
    let rp = registry
        .relying_party(&client_id)
        .ok_or_else(|| invalid("client authentication failed"))?;
    let stored = match &rp.auth {
        ClientAuth::ClientSecretBasic { secret } | ClientAuth::ClientSecretPost { secret }
            if rp.auth.method() == method =>
        {
            secret
        }
        _ => {
            return Err(invalid(
                "the client must authenticate with the method it registered",
            ));
        }
    };
    let verified = broker.secrets.verify(stored, &secret).map_err(|e| {
        tracing::error!(client = %client_id, error = %e, "client secret unavailable");
        OAuthError::server_error("the client's credentials are unavailable")
    })?;
    if !verified {
        return Err(invalid("client authentication failed"));
    }
    if !rp.status.is_active() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("the client is {}", rp.status.name()),
        ));
    }
    Ok(rp)
}

/// RFC 6749 section 2.3.1: id and secret are form-urlencoded, then joined by a colon.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let invalid = || OAuthError::new(ErrorCode::InvalidClient, "malformed Basic credentials");
    let value = value.to_str().map_err(|_| invalid())?;
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return Err(invalid());
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
    let unescape = |s: &str| {
        urlencoding::decode(&s.replace('+', " "))
            .map(|c| c.into_owned())
            .map_err(|_| invalid())
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}
