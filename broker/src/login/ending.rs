//! How a login ends when it does not end with a code: a page for the person, or the error
//! sent back to the service; and the audit events that close its trail.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use trust_framework::Lang;

use super::state::ReturnTo;
use crate::app::Broker;
use crate::audit::Event;
use crate::http::pages;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::records::RecordsError;
use crate::store::StoreError;

/// Where a failed login ends: a page for the person when the service cannot be trusted with a
/// redirect (its client or redirect URI is not known good, or the browser is not the one that
/// started the login), otherwise the error redirected to it.
#[derive(Debug)]
pub enum Failure {
    Page {
        lang: Lang,
        error: OAuthError,
        status: StatusCode,
        /// The service's own site, when it is known good: the page's way back.
        back: Option<String>,
    },
    Redirect {
        /// Boxed: it carries the languages too, and a failure is passed by value everywhere.
        return_to: Box<ReturnTo>,
        error: OAuthError,
    },
}

impl Failure {
    pub fn page(lang: Lang, error: OAuthError) -> Self {
        let status = match error.code {
            _ if error.retry_after.is_some() => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::Page {
            lang,
            error,
            status,
            back: None,
        }
    }

    /// The page offers a way back to the service at `redirect_uri`'s site (its origin only:
    /// nothing of the login goes with it).
    pub fn with_back(mut self, redirect_uri: &str) -> Self {
        if let Self::Page { back, .. } = &mut self {
            *back = url::Url::parse(redirect_uri)
                .ok()
                .map(|u| format!("{}/", u.origin().ascii_serialization()))
                .filter(|o| o.starts_with("http"));
        }
        self
    }

    pub fn to_service(return_to: &ReturnTo, error: OAuthError) -> Self {
        Self::Redirect {
            return_to: Box::new(return_to.clone()),
            error,
        }
    }

    /// The page for a step that cannot be found: expired, already completed, or from another
    /// browser (which is told nothing more).
    pub fn expired(lang: Lang) -> Self {
        Self::page(
            lang,
            OAuthError::invalid_request(
                "this sign-in has expired or was already completed; start again from the service",
            ),
        )
    }

    /// The error, whichever way it would have gone: for `/par`, which answers the program.
    pub fn into_error(self) -> OAuthError {
        match self {
            Failure::Page { error, .. } | Failure::Redirect { error, .. } => error,
        }
    }

    pub fn into_response(self, broker: &Broker, switch_href: String) -> Response {
        match self {
            Failure::Page {
                lang,
                error,
                status,
                back,
            } => {
                tracing::info!(error = %error, "login stopped with an error page");
                pages::error_page(
                    lang,
                    status,
                    &error,
                    None,
                    &error.description,
                    back,
                    switch_href,
                )
            }
            Failure::Redirect { return_to, error } => {
                tracing::info!(error = %error, "login stopped, error sent to the relying party");
                // In the person's language when the service asked for it (`ui_locales`).
                let description =
                    crate::http::error_text::description(&error, return_to.description_lang())
                        .into_owned();
                let mut params = vec![
                    ("error", error.code.as_str().to_owned()),
                    ("error_description", description),
                ];
                if let Some(state) = return_to.state {
                    params.push(("state", state));
                }
                redirect_to_service(broker, &return_to.redirect_uri, params)
            }
        }
    }
}

/// A 303 to the service's redirect URI with `iss` added (RFC 9207).
pub fn redirect_to_service(
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

/// The state store failed in the middle of a login: `login.failed` ends its trail (the person
/// gets the error page, or the service the error), and the error to answer with.
pub(crate) fn store_failed(broker: &Broker, txn: &str, e: &StoreError) -> OAuthError {
    let error = OAuthError::from_store(e);
    broker.audit(Event::LoginFailed {
        txn,
        error: error.code.as_str(),
        reason: &error.description,
    });
    error
}

/// The records could not answer or commit in the middle of a login: `login.failed` ends its
/// trail, and the person is told to try again shortly. Nothing was released.
pub(crate) fn records_failed(broker: &Broker, txn: &str, e: &RecordsError) -> OAuthError {
    tracing::error!(error = %e, "records failure in a login");
    let error = OAuthError::unavailable(
        "the broker cannot record this sign-in right now, so nothing was shared; try again shortly",
    );
    broker.audit(Event::LoginFailed {
        txn,
        error: error.code.as_str(),
        reason: &error.description,
    });
    error
}

/// `upstream.failed` ends the trail of a login whose provider leg failed, before the person
/// was sent to the provider or after they came back.
pub(crate) fn upstream_failed(broker: &Broker, txn: &str, provider: &str, error: &OAuthError) {
    broker.audit(Event::UpstreamFailed {
        txn,
        provider,
        error: error.code.as_str(),
        reason: &error.description,
    });
}

/// `release.refused` ends the trail of a login whose provider leg succeeded but from which
/// nothing may be released.
pub(crate) fn release_refused(
    broker: &Broker,
    txn: &str,
    provider: &str,
    refusal: &(dyn std::fmt::Display + Sync),
) {
    broker.audit(Event::ReleaseRefused {
        txn,
        provider,
        refusal,
    });
}
