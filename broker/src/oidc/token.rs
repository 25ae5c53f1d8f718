//! `/token`: redeem a one-time code, with client authentication and PKCE.

use axum::Json;
use axum::extract::{RawForm, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;

use super::params::{Params, is_pkce_verifier, s256_challenge};
use crate::app::Broker;
use crate::audit::Event;
use crate::http::browser::random_token;
use crate::login::CodeGrant;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::id_token;
use crate::store::Kind;

/// What an access token gives at `/userinfo`.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct AccessGrant {
    pub client_id: String,
    pub subject: String,
    pub claims: Map<String, Value>,
    pub verified_claims: Value,
}

impl std::fmt::Debug for AccessGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessGrant")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

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

    let request = CodeRequest::read(&params)?;
    // One-time: taken atomically; a replayed code finds nothing, and revokes what the first
    // redemption got (RFC 6749 4.1.2, RFC 9700 4.5: the code may have been stolen).
    let Some(grant) = crate::login::redeem(broker, request.code)
        .await
        .map_err(|e| OAuthError::from_store(&e))?
    else {
        revoke_redeemed(broker, request.code, &rp.client_id).await?;
        return Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "the code is invalid, expired or already used",
        ));
    };
    // The code is spent: from here on, a refusal ends the login, and says so in the trail.
    let txn = grant.txn.clone();
    let redeemed = release(broker, rp, grant, &request).await;
    if let Ok((_, access_token)) = &redeemed {
        // Kept while the access token lives: a second presentation of the code revokes it.
        // Should this fail, the token stands (the code is spent; replays still fail).
        let redeemed = Redeemed {
            access_token: access_token.clone(),
            txn: txn.clone(),
        };
        if let Err(e) = broker
            .store
            .put(Kind::RedeemedCode, request.code, &redeemed)
            .await
        {
            tracing::warn!(error = %e, "a redeemed code could not be remembered for revocation");
        }
    }
    let redeemed = redeemed.map(|(response, _)| response);
    if let Err(e) = &redeemed {
        broker.audit(Event::TokenRefused {
            txn: &txn,
            client: &rp.client_id,
            error: e.code.as_str(),
            reason: &e.description,
        });
    }
    redeemed
}

/// An authorization code grant's parameters (RFC 6749 section 4.1.3, RFC 7636 section 4.5).
#[derive(Debug)]
pub(crate) struct CodeRequest<'p> {
    pub code: &'p str,
    pub verifier: &'p str,
    pub redirect_uri: Option<&'p str>,
}

impl<'p> CodeRequest<'p> {
    pub(crate) fn read(params: &'p Params) -> Result<Self, OAuthError> {
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
        Ok(Self {
            code,
            verifier,
            redirect_uri: params.get("redirect_uri"),
        })
    }
}

/// What a redeemed code got, kept under the code (hashed in the store) while that lives.
#[derive(Serialize, Deserialize)]
struct Redeemed {
    access_token: String,
    txn: String,
}

/// A spent code was presented again: the access token its redemption got is revoked, once,
/// whoever presents it (the legitimate service and an attacker look alike here).
async fn revoke_redeemed(broker: &Broker, code: &str, client: &str) -> Result<(), OAuthError> {
    let redeemed: Option<Redeemed> = broker
        .store
        .take(Kind::RedeemedCode, code)
        .await
        .map_err(|e| OAuthError::from_store(&e))?;
    if let Some(redeemed) = redeemed {
        broker
            .store
            .take::<AccessGrant>(Kind::AccessToken, &redeemed.access_token)
            .await
            .map_err(|e| OAuthError::from_store(&e))?;
        broker.audit(Event::TokenRevoked {
            txn: &redeemed.txn,
            client,
        });
        crate::metrics::token_revoked();
    }
    Ok(())
}

/// Checks a taken code against the request that presented it, then issues the tokens: the
/// response, and the access token in it.
async fn release(
    broker: &Broker,
    rp: &trust_framework::RelyingParty,
    grant: CodeGrant,
    request: &CodeRequest<'_>,
) -> Result<(Response, String), OAuthError> {
    if grant.client_id != rp.client_id {
        return Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "the code was issued to another client",
        ));
    }
    if request.redirect_uri != Some(grant.redirect_uri.as_str()) {
        return Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "redirect_uri does not match the authorization request",
        ));
    }
    if !is_pkce_verifier(request.verifier) {
        return Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "code_verifier is not a valid PKCE verifier",
        ));
    }
    let computed = s256_challenge(request.verifier);
    if !bool::from(computed.as_bytes().ct_eq(grant.code_challenge.as_bytes())) {
        return Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "code_verifier does not match the code_challenge",
        ));
    }

    let claims = id_token::claims(&broker.issuer, &grant, broker.now());
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
    broker.audit(Event::TokenIssued {
        txn: &grant.txn,
        client: &rp.client_id,
        acr: &grant.acr,
    });

    let body = json!({
        "access_token": &access_token,
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
    Ok((response, access_token))
}
