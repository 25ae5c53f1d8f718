//! `POST /token`: the authorization code grant, with client_secret_basic or client_secret_post.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq as _;

use super::{ClientConfig, Fault, Grant, Provider, TOKEN_TTL_SECS, claims};
use crate::util::{parse_params, pkce_s256, random_token, sha256};

/// The token endpoint's errors (RFC 6749 5.2), turned into HTTP in one place.
#[derive(Debug, thiserror::Error)]
enum TokenError {
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// `basic` says the client tried HTTP Basic: the answer then carries `WWW-Authenticate`.
    #[error("client authentication failed")]
    InvalidClient { basic: bool },
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("grant_type must be authorization_code")]
    UnsupportedGrantType,
    #[error("the token cannot be issued")]
    ServerError,
}

impl TokenError {
    fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::ServerError => "server_error",
        }
    }
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = json!({ "error": self.code(), "error_description": self.to_string() });
        let mut response = no_store((status, Json(body)).into_response());
        if let Self::InvalidClient { basic: true } = self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\""),
            );
        }
        response
    }
}

/// RFC 6749 2.3.1: Basic credentials are form-urlencoded before base64.
fn form_decode(text: &str) -> Option<String> {
    urlencoding::decode(&text.replace('+', " "))
        .ok()
        .map(|s| s.into_owned())
}

/// Compares secrets in constant time (over their digests, so the length does not leak either).
fn secret_matches(expected: &str, given: &str) -> bool {
    let (expected, given) = (sha256(expected.as_bytes()), sha256(given.as_bytes()));
    expected.as_ref().ct_eq(given.as_ref()).into()
}

fn authenticate<'a>(
    provider: &'a Provider,
    headers: &HeaderMap,
    params: &std::collections::HashMap<String, String>,
) -> Result<&'a ClientConfig, TokenError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let posted = params.get("client_secret");
    let (client_id, secret, is_basic) = match (basic, posted) {
        (Some(_), Some(_)) => {
            return Err(TokenError::InvalidRequest(
                "use one client authentication method only",
            ));
        }
        (Some(credentials), None) => {
            let decoded = STANDARD
                .decode(credentials.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or(TokenError::InvalidClient { basic: true })?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or(TokenError::InvalidClient { basic: true })?;
            let id = form_decode(id).ok_or(TokenError::InvalidClient { basic: true })?;
            let secret = form_decode(secret).ok_or(TokenError::InvalidClient { basic: true })?;
            if params
                .get("client_id")
                .is_some_and(|posted_id| *posted_id != id)
            {
                return Err(TokenError::InvalidRequest(
                    "client_id differs from the authenticated client",
                ));
            }
            (id, secret, true)
        }
        (None, Some(secret)) => {
            let id = params
                .get("client_id")
                .ok_or(TokenError::InvalidClient { basic: false })?;
            (id.clone(), secret.clone(), false)
        }
        (None, None) => return Err(TokenError::InvalidClient { basic: false }),
    };
    let client = provider.client(&client_id);
    let expected = client.map_or("", |c| c.client_secret.as_str());
    let checked = !provider.fault(&Fault::ClientSecretIgnored);
    match client {
        Some(client) if !checked || secret_matches(expected, &secret) => Ok(client),
        _ => Err(TokenError::InvalidClient { basic: is_basic }),
    }
}

/// RFC 7636 4.1: 43 to 128 unreserved characters.
fn verifier_well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The person's `sub` for this grant: their id, or under [`Fault::UnstableSubject`] a value
/// that changes with every sign-in (the grant's nonce is new each time).
pub(super) fn subject(provider: &Provider, grant: &Grant) -> String {
    if provider.fault(&Fault::UnstableSubject) {
        let mixed = format!("{}\n{}", grant.person_id, grant.request.nonce);
        return crate::util::b64url(sha256(mixed.as_bytes()));
    }
    grant.person_id.clone()
}

/// The ID token's claims, with the claim faults applied.
fn id_token_claims(provider: &Provider, grant: &Grant) -> Result<Map<String, Value>, TokenError> {
    let fault = provider.config.fault.as_ref();
    let request = &grant.request;
    let person = provider
        .person(&grant.person_id)
        .ok_or(TokenError::ServerError)?;
    let now = provider.config.clock.now().unix_timestamp();
    let (iat, exp) = match fault {
        Some(Fault::Expired) => (now - 3900, now - 3600),
        Some(Fault::IssuedInFuture) => (now + 3600, now + 3600 + TOKEN_TTL_SECS),
        Some(Fault::IssuedLongAgo) => (now - 1200, now + 2400),
        _ => (now, now + TOKEN_TTL_SECS),
    };
    let iss = match fault {
        Some(Fault::WrongIssuer) => "https://impostor.example".to_owned(),
        _ => provider.stated_issuer(),
    };
    let aud = match fault {
        Some(Fault::WrongAudience) => json!("another-client"),
        Some(Fault::ExtraAudience) => json!([request.client_id, "another-client"]),
        _ => json!(request.client_id),
    };
    let nonce = match fault {
        Some(Fault::WrongNonce) => random_token(),
        _ => request.nonce.clone(),
    };
    let acr = match fault {
        Some(Fault::AcrOverride(acr)) => Some(acr.clone()),
        Some(Fault::NoAcr) => None,
        _ => request.acr.clone(),
    };
    let mut payload = claims::requested(provider, person, request);
    payload.insert("iss".into(), iss.into());
    if !provider.fault(&Fault::NoSubject) {
        payload.insert("sub".into(), subject(provider, grant).into());
    }
    payload.insert("aud".into(), aud);
    payload.insert("azp".into(), request.client_id.clone().into());
    payload.insert("exp".into(), exp.into());
    payload.insert("iat".into(), iat.into());
    match fault {
        Some(Fault::StaleAuthTime) => {
            payload.insert("auth_time".into(), (grant.auth_time - 3600).into());
        }
        Some(Fault::NoAuthTime) => {}
        _ => {
            payload.insert("auth_time".into(), grant.auth_time.into());
        }
    }
    payload.insert("nonce".into(), nonce.into());
    payload.insert("sid".into(), grant.sid.clone().into());
    if let Some(acr) = acr {
        payload.insert("acr".into(), acr.into());
    }
    Ok(payload)
}

fn exchange(provider: &Provider, headers: &HeaderMap, body: &str) -> Result<Response, TokenError> {
    let params =
        parse_params(body).map_err(|_| TokenError::InvalidRequest("a parameter is repeated"))?;
    let client = authenticate(provider, headers, &params)?;
    if provider.config.fault == Some(Fault::TokenEndpointError) {
        return Err(TokenError::InvalidGrant(
            "the grant is refused (test fault)",
        ));
    }
    if params.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return Err(TokenError::UnsupportedGrantType);
    }
    let code = params
        .get("code")
        .ok_or(TokenError::InvalidRequest("code is required"))?;
    let grant = if provider.fault(&Fault::CodeReplayAllowed) {
        provider.codes.get(code)
    } else {
        provider.codes.take(code)
    };
    let grant = grant.ok_or(TokenError::InvalidGrant(
        "the code is unknown, expired or already used",
    ))?;
    if grant.request.client_id != client.client_id {
        return Err(TokenError::InvalidGrant(
            "the code was issued to another client",
        ));
    }
    if params.get("redirect_uri") != Some(&grant.request.redirect_uri)
        && !provider.fault(&Fault::RedeemRedirectUriIgnored)
    {
        return Err(TokenError::InvalidGrant(
            "redirect_uri differs from the authorization request",
        ));
    }
    let verifier = params
        .get("code_verifier")
        .map(String::as_str)
        .unwrap_or_default();
    let unchecked = provider.fault(&Fault::CodeVerifierIgnored)
        || (provider.fault(&Fault::PkceNotEnforced) && grant.request.code_challenge.is_empty())
        || (provider.fault(&Fault::CodeVerifierOptional) && verifier.is_empty());
    let pkce_ok = unchecked
        || verifier_well_formed(verifier)
            && bool::from(
                pkce_s256(verifier)
                    .as_bytes()
                    .ct_eq(grant.request.code_challenge.as_bytes()),
            );
    if !pkce_ok {
        return Err(TokenError::InvalidGrant(
            "the PKCE code_verifier does not match",
        ));
    }
    let mut payload = id_token_claims(provider, &grant)?;
    let access_token = provider
        .access_tokens
        .insert(grant.clone())
        .map_err(|_| TokenError::ServerError)?;
    if provider.fault(&Fault::WrongAtHash) {
        // ES256: the left half of a SHA-256 (OpenID Connect Core 3.1.3.6), of another token.
        let other = sha256(random_token().as_bytes());
        payload.insert(
            "at_hash".into(),
            crate::util::b64url(&other.as_ref()[..16]).into(),
        );
    }
    let id_token = provider
        .keys
        .sign_id_token(
            &payload,
            provider.config.fault.as_ref(),
            &client.client_secret,
        )
        .map_err(|e| {
            tracing::error!(error = %e, "cannot sign an ID token");
            TokenError::ServerError
        })?;
    let scope = grant.request.scopes.join(" ");
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": TOKEN_TTL_SECS,
        "id_token": id_token,
        "scope": scope,
    });
    let mut response = Json(body).into_response();
    if provider.fault(&Fault::TokenResponseNotJson) {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    if provider.fault(&Fault::TokenResponseCacheable) {
        return Ok(response);
    }
    Ok(no_store(response))
}

pub(super) async fn token(
    State(provider): State<Arc<Provider>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    match &provider.config.fault {
        Some(Fault::SlowToken(delay)) => tokio::time::sleep(*delay).await,
        Some(Fault::OversizedTokenResponse) => {
            let chunks = std::iter::once(b"{\"padding\":\"".to_vec())
                .chain(std::iter::repeat_n(vec![b'x'; 16 * 1024], 256))
                .map(Ok::<_, std::io::Error>);
            return (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                axum::body::Body::from_stream(futures_util::stream::iter(chunks)),
            )
                .into_response();
        }
        _ => {}
    }
    match exchange(&provider, &headers, &body) {
        Ok(response) => response,
        Err(e) if provider.fault(&Fault::TokenErrorNotOAuth) => no_store(
            (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("Bad request: {e}"),
            )
                .into_response(),
        ),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(form_decode("a%3Ab+c").as_deref(), Some("a:b c"));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(secret_matches("s3cret", "s3cret"));
        assert!(!secret_matches("s3cret", "s3cret "));
        assert!(!secret_matches("s3cret", ""));
    }

    #[test]
    fn verifier_format_follows_rfc_7636() {
        assert!(verifier_well_formed(&"a".repeat(43)));
        assert!(!verifier_well_formed(&"a".repeat(42)));
        assert!(!verifier_well_formed(&"a".repeat(129)));
        assert!(!verifier_well_formed(&format!("{}+", "a".repeat(43))));
    }
}
