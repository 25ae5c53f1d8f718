//! `GET /userinfo` and `POST /userinfo`: the requested claims of the person an access token
//! stands for (Bearer, RFC 6750).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Fault, Provider, claims};

fn unauthorized() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error": "invalid_token", "error_description": "the access token is missing, unknown or expired" })),
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    response
}

pub(super) async fn userinfo(
    State(provider): State<Arc<Provider>>,
    headers: HeaderMap,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(grant) = token.and_then(|t| provider.access_tokens.get(t)) else {
        return unauthorized();
    };
    let Some(person) = provider.person(&grant.person_id) else {
        return unauthorized();
    };
    let mut body = claims::requested(&provider, person, &grant.request);
    let sub = if provider.fault(&Fault::UserinfoOtherSubject) {
        format!("{}-other", grant.person_id)
    } else {
        super::token::subject(&provider, &grant)
    };
    body.insert("sub".into(), sub.into());
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
