//! `GET /.well-known/openid-configuration` and `GET /jwks`.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Fault, Provider};

/// The canonical claims a demo person may carry.
const CANONICAL_CLAIMS: [&str; 10] = [
    "given_name",
    "family_name",
    "middle_name",
    "birthdate",
    "gender",
    "place_of_birth",
    "address",
    "email",
    "phone_number",
    "locale",
];

pub(super) async fn configuration(State(provider): State<Arc<Provider>>) -> Response {
    let mut claims: BTreeSet<&str> = [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "azp",
        "sid",
    ]
    .into();
    let person_claims = provider
        .config
        .persons
        .iter()
        .flat_map(|p| p.claims.keys().map(String::as_str));
    for canonical in CANONICAL_CLAIMS.into_iter().chain(person_claims) {
        claims.insert(provider.claim_name(canonical));
    }
    let mut document = json!({
        "issuer": provider.stated_issuer(),
        "authorization_endpoint": provider.endpoint("/authorize"),
        "token_endpoint": provider.endpoint("/token"),
        "userinfo_endpoint": provider.endpoint("/userinfo"),
        "jwks_uri": provider.endpoint("/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": if provider.fault(&Fault::AlgNoneAdvertised) {
            json!(["ES256", "none"])
        } else {
            json!(["ES256"])
        },
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["openid", "profile", "email", "address", "phone"],
        "claims_supported": claims,
        "acr_values_supported": provider.config.acr_values,
        "claims_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "ui_locales_supported": ["en", "fr"],
        "end_session_endpoint": provider.endpoint("/logout"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    });
    if provider.fault(&Fault::EndpointOverHttp) {
        let logout = provider.endpoint("/logout");
        let logout = match logout.strip_prefix("https://") {
            Some(rest) => format!("http://{rest}"),
            None => logout,
        };
        document["end_session_endpoint"] = json!(logout);
    }
    (
        [(header::CACHE_CONTROL, "public, max-age=60")],
        Json(document),
    )
        .into_response()
}

pub(super) async fn jwks(State(provider): State<Arc<Provider>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/jwk-set+json"),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        provider
            .keys
            .jwks(provider.config.fault.as_ref())
            .to_string(),
    )
        .into_response()
}
