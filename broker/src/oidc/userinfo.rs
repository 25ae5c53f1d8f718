//! `/userinfo`: the released attributes, for the holder of an access token.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::token::AccessGrant;
use crate::app::Broker;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::store::Kind;

pub async fn userinfo(State(broker): State<Broker>, headers: HeaderMap) -> Response {
    match lookup(&broker, &headers).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn lookup(broker: &Broker, headers: &HeaderMap) -> Result<Response, OAuthError> {
    let invalid = || {
        OAuthError::new(
            ErrorCode::InvalidToken,
            "the access token is missing, invalid or expired",
        )
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(invalid)?;
    let grant: AccessGrant = broker
        .store
        .get(Kind::AccessToken, token)
        .await
        .map_err(|e| OAuthError::from_store(&e))?
        .ok_or_else(invalid)?;
    let mut claims = Map::new();
    claims.insert("sub".into(), Value::from(grant.subject));
    claims.extend(grant.claims);
    if !grant.verified_claims.is_null() {
        claims.insert("verified_claims".into(), grant.verified_claims);
    }
    let mut response = Json(Value::Object(claims)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
