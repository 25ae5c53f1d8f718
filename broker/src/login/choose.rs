//! `/authorize/select`: the person's choice on the jurisdiction picker.

use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use trust_framework::Lang;

use crate::app::Broker;
use crate::http::browser;
use crate::http::pages;
use crate::login::ending::{self, Failure};
use crate::login::state::PendingLogin;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::store::Kind;

#[derive(Debug, Deserialize)]
pub struct Show {
    txn: String,
    lang: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Choice {
    txn: String,
    csrf: String,
    provider: String,
    lang: Option<String>,
    remember: Option<String>,
}

fn lang_of(explicit: Option<&str>, pending: &PendingLogin) -> Lang {
    explicit
        .and_then(|l| Lang::negotiate([l]))
        .unwrap_or(pending.lang)
}

/// Loads the pending login, only for the browser that started it.
async fn pending(
    broker: &Broker,
    txn: &str,
    headers: &HeaderMap,
    lang: Lang,
) -> Result<PendingLogin, Failure> {
    let expired = || {
        Failure::page(
            lang,
            OAuthError::invalid_request(
                "this sign-in has expired or was already completed; start again from the service",
            ),
        )
    };
    let pending: PendingLogin = broker
        .store
        .get(Kind::Pending, txn)
        .await
        .map_err(|e| Failure::page(lang, OAuthError::from_store(&e)))?
        .ok_or_else(expired)?;
    if !browser::matches(&pending.browser, headers) || pending.upstream.is_some() {
        return Err(expired());
    }
    Ok(pending)
}

/// Shows the picker again (for the language switch).
pub async fn show(
    State(broker): State<Broker>,
    Query(q): Query<Show>,
    headers: HeaderMap,
) -> Response {
    let lang = q
        .lang
        .as_deref()
        .and_then(|l| Lang::negotiate([l]))
        .unwrap_or_default();
    match pending(&broker, &q.txn, &headers, lang).await {
        Ok(p) => pages::picker(
            lang_of(q.lang.as_deref(), &p),
            &broker.registry(),
            &p.decision,
            &q.txn,
            &p.csrf,
            None,
        ),
        Err(f) => f.into_response(
            &broker,
            format!(
                "/authorize/select?txn={}&lang={}",
                urlencoding::encode(&q.txn),
                lang.other().code()
            ),
        ),
    }
}

pub async fn choose(
    State(broker): State<Broker>,
    headers: HeaderMap,
    Form(c): Form<Choice>,
) -> Response {
    let lang = c
        .lang
        .as_deref()
        .and_then(|l| Lang::negotiate([l]))
        .unwrap_or_default();
    let switch = format!(
        "/authorize/select?txn={}&lang={}",
        urlencoding::encode(&c.txn),
        lang.other().code()
    );
    let result = async {
        let pending = pending(&broker, &c.txn, &headers, lang).await?;
        if !bool::from(pending.csrf.as_bytes().ct_eq(c.csrf.as_bytes())) {
            return Err(Failure::page(
                lang,
                OAuthError::invalid_request(
                    "the form was not issued by this broker (CSRF check failed)",
                ),
            ));
        }
        let Some(candidate) = pending.decision.candidate(&c.provider).cloned() else {
            return Err(Failure::to_rp(
                &pending,
                OAuthError::new(
                    ErrorCode::AccessDenied,
                    "the chosen provider was not offered for this request",
                ),
            ));
        };
        let registry = broker.fresh_registry().await;
        tracing::info!(target: "audit", event = "provider.chosen", txn = %c.txn, provider = %candidate.provider_id,
            remembered = c.remember.is_some());
        let mut response = ending::start_upstream(&broker, &registry, &c.txn, pending, &candidate).await?;
        if c.remember.is_some()
            && let Some(v) = browser::remember_provider(&candidate.provider_id, broker.secure_cookies)
        {
            response.headers_mut().append(axum::http::header::SET_COOKIE, v);
        }
        Ok(response)
    }
    .await;
    match result {
        Ok(r) => r,
        Err(f) => f.into_response(&broker, switch),
    }
}
