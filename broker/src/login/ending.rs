//! Steps shared by several endpoints of the login: answering the relying party, and sending
//! the person upstream.

use std::collections::BTreeSet;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use trust_framework::{Attribute, Candidate, IdentityProvider, Lang, Registry};

use crate::app::Broker;
use crate::audit;
use crate::http::browser::random_token;
use crate::http::pages;
use crate::login::abandoned::{Stage, Watch};
use crate::login::state::{PendingLogin, UpstreamLeg};
use crate::metrics::{self, LoginOutcome};
use crate::oidc::error::OAuthError;
use crate::store::Kind;
use crate::upstream::AuthorizationRequest;

/// Where a failed login ends: a page for the person when the relying party cannot be trusted
/// with a redirect, otherwise an error redirected to it.
#[derive(Debug)]
pub enum Failure {
    Page {
        lang: Lang,
        error: OAuthError,
        status: StatusCode,
    },
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

impl Failure {
    pub fn page(lang: Lang, error: OAuthError) -> Self {
        let status = match error.code {
            _ if error.retry_after.is_some() => StatusCode::TOO_MANY_REQUESTS,
            crate::oidc::error::ErrorCode::TemporarilyUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            crate::oidc::error::ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::Page {
            lang,
            error,
            status,
        }
    }

    pub fn to_rp(pending: &PendingLogin, error: OAuthError) -> Self {
        Self::Redirect {
            redirect_uri: pending.redirect_uri.clone(),
            state: pending.state.clone(),
            error,
        }
    }

    pub fn into_response(self, broker: &Broker, switch_href: String) -> Response {
        match self {
            Failure::Page {
                lang,
                error,
                status,
            } => {
                tracing::info!(error = %error, "login stopped with an error page");
                pages::error(lang, status, &error, &error.description, switch_href)
            }
            Failure::Redirect {
                redirect_uri,
                state,
                error,
            } => {
                tracing::info!(error = %error, "login stopped, error sent to the relying party");
                let mut params = vec![
                    ("error", error.code.as_str().to_owned()),
                    ("error_description", error.description.clone()),
                ];
                if let Some(state) = state {
                    params.push(("state", state));
                }
                redirect_to_rp(broker, &redirect_uri, params)
            }
        }
    }
}

/// A 303 to the relying party's registered redirect URI with `iss` added (RFC 9207).
pub fn redirect_to_rp(
    broker: &Broker,
    redirect_uri: &str,
    params: Vec<(&str, String)>,
) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return pages::error(
            Lang::En,
            StatusCode::INTERNAL_SERVER_ERROR,
            &OAuthError::server_error("the registered redirect URI is not a URL"),
            "",
            String::new(),
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, &v);
        }
        query.append_pair("iss", &broker.issuer);
    }
    see_other(url.as_str())
}

pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Scopes that carry the attributes, limited to those the provider registered.
fn upstream_scopes(provider: &IdentityProvider, attributes: &BTreeSet<Attribute>) -> Vec<String> {
    let mut scopes = vec!["openid".to_owned()];
    for scope in ["profile", "email", "address", "phone"] {
        let needed = Attribute::for_scope(scope)
            .iter()
            .any(|a| attributes.contains(a));
        if needed && provider.scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    scopes
}

/// The `claims` request for exactly the attributes to ask, under the provider's claim names.
fn claims_request(provider: &IdentityProvider, attributes: &BTreeSet<Attribute>) -> Option<Value> {
    if attributes.is_empty() {
        return None;
    }
    let members: Map<String, Value> = attributes
        .iter()
        .map(|a| (provider.claim_of_attribute(*a).to_owned(), Value::Null))
        .collect();
    Some(serde_json::json!({ "id_token": members, "userinfo": members }))
}

/// The state store failed in the middle of a login: the audit event `login.failed` ends it
/// (the person gets the error page, or the service the error), and the error to answer with.
pub(crate) fn store_failed(txn: &str, e: &crate::store::StoreError) -> OAuthError {
    let error = OAuthError::from_store(e);
    tracing::warn!(target: "audit", event = "login.failed", txn,
        error = error.code.as_str(), reason = %error.description);
    error
}

/// The audit event ending a login whose provider leg failed, before the person was sent to
/// the provider or after they came back.
pub(crate) fn upstream_failed(txn: &str, provider: &str, error: &OAuthError) {
    tracing::warn!(target: "audit", event = "upstream.failed", txn, provider,
        error = error.code.as_str(), reason = %error.description);
}

/// Records the chosen provider in the pending login and sends the person there. A failure
/// ends the login, audited where it happens (`upstream.failed`, or `login.failed` for the
/// store), and the pending login (there is one when the person chose on the picker) is
/// dropped, so that it is not reported abandoned later.
pub async fn start_upstream(
    broker: &Broker,
    registry: &Registry,
    txn: &str,
    pending: PendingLogin,
    candidate: &Candidate,
) -> Result<Response, Failure> {
    let sent = send_upstream(broker, registry, txn, pending, candidate).await;
    if sent.is_err()
        && let Err(e) = broker.store.take::<PendingLogin>(Kind::Pending, txn).await
    {
        tracing::warn!(error = %e, "a failed login's pending state could not be dropped");
    }
    sent
}

/// [`start_upstream`]'s work.
async fn send_upstream(
    broker: &Broker,
    registry: &Registry,
    txn: &str,
    mut pending: PendingLogin,
    candidate: &Candidate,
) -> Result<Response, Failure> {
    let to_rp = |pending: &PendingLogin, error: OAuthError| {
        upstream_failed(txn, &candidate.provider_id, &error);
        Failure::to_rp(pending, error)
    };
    let provider = registry.provider(&candidate.provider_id).ok_or_else(|| {
        to_rp(
            &pending,
            OAuthError::new(
                crate::oidc::error::ErrorCode::AccessDenied,
                "the provider is no longer registered",
            ),
        )
    })?;
    let leg = UpstreamLeg {
        provider_id: provider.id.clone(),
        nonce: random_token(),
        pkce_verifier: random_token(),
        sent_at: time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    let request = AuthorizationRequest {
        redirect_uri: broker.callback_url(),
        state: txn.to_owned(),
        nonce: leg.nonce.clone(),
        pkce_verifier: leg.pkce_verifier.clone(),
        scopes: upstream_scopes(provider, &candidate.attributes),
        acr_values: candidate.acr_values.clone(),
        claims: claims_request(provider, &candidate.attributes),
        login_hint: pending.login_hint.clone(),
        ui_locales: pending.ui_locales.clone(),
        max_age: pending.max_age,
    };
    let slot = crate::http::limits::upstream_slot(broker)
        .await
        .map_err(|e| {
            metrics::login(provider, LoginOutcome::Error);
            to_rp(&pending, e)
        })?;
    let url = broker
        .upstream
        .authorization_url(provider, &request)
        .await
        .map_err(|e| {
            metrics::login(provider, LoginOutcome::UpstreamError);
            to_rp(&pending, e.to_oauth())
        })?;
    drop(slot);
    pending.upstream = Some(leg);
    let watch = Watch::new(
        txn,
        Stage::AtProvider,
        &pending.client_id,
        Some(&provider.id),
    );
    crate::login::abandoned::keep(broker, Kind::Pending, txn, &pending, &watch)
        .await
        .map_err(|e| {
            metrics::login(provider, LoginOutcome::Error);
            Failure::page(pending.lang, store_failed(txn, &e))
        })?;
    tracing::info!(target: "audit", event = "upstream.sent", txn, provider = %provider.id, level_required = candidate.required_level.acr(), acr_values = %audit::list(&candidate.acr_values));
    Ok(see_other(url.as_str()))
}

/// The language switch link for a page reached with these headers.
pub fn same_page_other_lang(path_and_query: &str, lang: Lang) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "lang")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push(("lang".into(), lang.other().code().into()));
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{query}")
}
