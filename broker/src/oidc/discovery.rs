//! OpenID Provider metadata and the public keys.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;
use trust_framework::{AssuranceLevel, Attribute};

use crate::app::Broker;

pub async fn configuration(State(broker): State<Broker>) -> impl IntoResponse {
    let issuer = &broker.issuer;
    let mut claims: Vec<&str> = vec![
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "sid",
        "acr",
        "txn",
        "verified_claims",
    ];
    claims.extend(Attribute::ALL.iter().map(|a| a.claim()));
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks.json"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": broker.keys.algorithms().collect::<Vec<_>>(),
        "pushed_authorization_request_endpoint": format!("{issuer}/par"),
        "require_pushed_authorization_requests": false,
        "token_endpoint_auth_methods_supported": crate::oidc::client_auth::METHODS,
        "token_endpoint_auth_signing_alg_values_supported": crate::oidc::client_auth::assertion::ALLOWED_ALGS,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "address", "phone"],
        "claims_supported": claims,
        "claims_parameter_supported": true,
        "request_parameter_supported": false,
        // request_uri here means request objects by reference (OpenID Connect Core 6.2); a
        // pushed request's request_uri is announced by pushed_authorization_request_endpoint.
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "acr_values_supported": AssuranceLevel::ALL.iter().map(|l| l.acr()).collect::<Vec<_>>(),
        "ui_locales_supported": ["en-CA", "fr-CA"],
        "claim_types_supported": ["normal"],
        "verified_claims_supported": true,
        "trust_frameworks_supported": ["ca_pctf"],
        "claims_in_verified_claims_supported": Attribute::ALL.iter().map(|a| a.claim()).collect::<Vec<_>>(),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        // RP-Initiated Logout 1.0 and Back-Channel Logout 1.0; front-channel logout is not
        // built, so it is not announced.
        "end_session_endpoint": format!("{issuer}/logout"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    }))
}

pub async fn jwks(State(broker): State<Broker>) -> impl IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "application/jwk-set+json"),
            // Short: a rotation is seen within five minutes even by a caching relying party,
            // long before the next key signs (a rotation period later).
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        Json(broker.keys.jwks(broker.now().unix_timestamp())),
    )
}
