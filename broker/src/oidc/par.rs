//! `/par`: pushed authorization requests (RFC 9126). The relying party authenticates and posts
//! its authorization request over the back channel; the browser then carries only an opaque,
//! one-time `request_uri` that lives 60 seconds.

use axum::Json;
use axum::extract::{RawForm, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use trust_framework::Lang;

use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use crate::app::Broker;
use crate::audit::Event;
use crate::http::browser::random_token;
use crate::login::{AuthorizeRequest, Failure, Origin};
use crate::store::Kind;

/// RFC 9126 section 2.2: the broker's request URIs are URNs under this prefix.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Parameters of client authentication, which are not part of the authorization request.
const AUTHENTICATION: [&str; 3] = ["client_secret", "client_assertion", "client_assertion_type"];

/// What a `request_uri` stands for.
#[derive(Serialize, Deserialize)]
pub struct Pushed {
    pub client_id: String,
    pub pairs: Vec<(String, String)>,
}

/// Names only: a pushed request's values (nonce, state, hints) stay out of logs.
impl std::fmt::Debug for Pushed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pushed")
            .field("client_id", &self.client_id)
            .field(
                "parameters",
                &self.pairs.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

pub async fn push(
    State(broker): State<Broker>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    match accept(&broker, &headers, &body).await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, "pushed authorization request refused");
            e.into_response()
        }
    }
}

async fn accept(broker: &Broker, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let params = Params::from_pairs(pairs.clone()).map_err(OAuthError::invalid_request)?;
    let registry = broker.fresh_registry().await;
    let rp = crate::oidc::client_auth::authenticate(broker, &registry, headers, &params).await?;
    crate::http::limits::client(broker, &rp.client_id)
        .await
        .map_err(|r| r.to_oauth("from this client"))?;
    if params.has("request_uri") {
        return Err(OAuthError::invalid_request(
            "request_uri cannot be pushed (RFC 9126 section 2.1)",
        ));
    }
    // With Basic authentication the body may omit client_id; the request then names the
    // authenticated client, and no other.
    let mut pairs: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, _)| !AUTHENTICATION.contains(&k.as_str()))
        .collect();
    if !params.has("client_id") {
        pairs.push(("client_id".into(), rp.client_id.clone()));
    }
    let request = Params::from_pairs(pairs.clone()).map_err(OAuthError::invalid_request)?;
    // The same checks as /authorize, answered to the program instead of the browser.
    AuthorizeRequest::parse(&registry, &request, Lang::En, Origin::Pushed)
        .map_err(Failure::into_error)?;
    let handle = random_token();
    let pushed = Pushed {
        client_id: rp.client_id.clone(),
        pairs,
    };
    broker
        .store
        .put(Kind::PushedRequest, &handle, &pushed)
        .await
        .map_err(|e| OAuthError::from_store(&e))?;
    broker.audit(Event::RequestPushed {
        client: &rp.client_id,
    });
    let mut response = (
        StatusCode::CREATED,
        Json(json!({
            "request_uri": format!("{REQUEST_URI_PREFIX}{handle}"),
            "expires_in": Kind::PushedRequest.ttl().as_secs(),
        })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The pushed request a `request_uri` at `/authorize` stands for, taken once: a second use, an
/// expired one or one pushed by another client finds nothing (RFC 9126 sections 2.2 and 4).
pub async fn take(broker: &Broker, params: &Params) -> Result<Params, OAuthError> {
    let invalid = |d: &str| OAuthError::new(ErrorCode::InvalidRequestUri, d);
    let client_id = params
        .get("client_id")
        .ok_or_else(|| OAuthError::invalid_request("client_id is missing"))?;
    let handle = params
        .get("request_uri")
        .and_then(|u| u.strip_prefix(REQUEST_URI_PREFIX))
        .ok_or_else(|| invalid("request_uri was not issued by this broker's /par"))?;
    let stored: Pushed = broker
        .store
        .take(Kind::PushedRequest, handle)
        .await
        .map_err(|e| OAuthError::from_store(&e))?
        .ok_or_else(|| invalid("the request_uri is unknown, expired or already used"))?;
    if stored.client_id != client_id {
        return Err(invalid("the request_uri was pushed by another client"));
    }
    let mut pairs = stored.pairs;
    // The only parameter the browser may add: the page language it asked for.
    if let Some(l) = params.get("lang") {
        pairs.retain(|(k, _)| k != "lang");
        pairs.push(("lang".into(), l.to_owned()));
    }
    Params::from_pairs(pairs).map_err(OAuthError::invalid_request)
}
