//! The one protocol error type of the broker, turned into HTTP in exactly one place.
//!
//! `/authorize` errors are redirected to the relying party only once the client and its
//! redirect URI are known to be valid; every other failure there is a bilingual page, so the
//! broker can never be used as an open redirector (RFC 9700 section 4.11).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use trust_framework::{Lang, Refusal};

/// The OAuth 2.0 / OpenID Connect error codes the broker emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    UnmetAuthenticationRequirements,
    RequestNotSupported,
    RequestUriNotSupported,
    /// RFC 9126 section 2.2 and OpenID Connect Core 3.1.2.6: unknown, expired or used.
    InvalidRequestUri,
    InvalidToken,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::InvalidToken => "invalid_token",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
        }
    }

    /// Codes from the trust framework's refusals.
    pub fn from_refusal(refusal: &Refusal) -> Self {
        match refusal.error_code() {
            "invalid_client" => Self::InvalidClient,
            "unauthorized_client" => Self::UnauthorizedClient,
            "invalid_request" => Self::InvalidRequest,
            "unmet_authentication_requirements" => Self::UnmetAuthenticationRequirements,
            "server_error" => Self::ServerError,
            _ => Self::AccessDenied,
        }
    }

    /// The HTTP status for the token and userinfo endpoints (RFC 6749 section 5.2, RFC 6750).
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::AccessDenied => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// An error for a program: code plus a human description (never containing secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
    /// Set when a rate limit refused the request: answered with 429 and `Retry-After`.
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    /// A rate limit's refusal: `temporarily_unavailable` with HTTP 429 and `Retry-After`.
    pub fn rate_limited(description: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::unavailable(description)
        }
    }

    /// The HTTP status of this error on a back-channel endpoint or an error page.
    pub fn status(&self) -> StatusCode {
        if self.retry_after.is_some() {
            StatusCode::TOO_MANY_REQUESTS
        } else {
            self.code.status()
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn server_error(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::ServerError, description)
    }

    pub fn unavailable(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::TemporarilyUnavailable, description)
    }

    /// A state store failure: the detail goes to the log, never to the caller.
    pub fn from_store(e: &crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "state store failure");
        Self::unavailable("the broker's state store is unavailable; try again shortly")
    }

    pub fn from_refusal(refusal: &Refusal) -> Self {
        Self::new(ErrorCode::from_refusal(refusal), refusal.to_string())
    }

    /// A message for a person, in their language, for the error page.
    pub fn person_message(&self, lang: Lang) -> &'static str {
        let (en, fr) = match self.code {
            ErrorCode::TemporarilyUnavailable => (
                "The identity service is temporarily unavailable. Please try again in a few minutes.",
                "Le service d'identité est temporairement indisponible. Veuillez réessayer dans quelques minutes.",
            ),
            ErrorCode::ServerError => (
                "Something went wrong on our side. Your sign-in was stopped and nothing was shared.",
                "Un problème est survenu de notre côté. Votre connexion a été interrompue et rien n'a été communiqué.",
            ),
            ErrorCode::AccessDenied => (
                "Your sign-in was stopped and nothing was shared.",
                "Votre connexion a été interrompue et rien n'a été communiqué.",
            ),
            _ => (
                "The request that brought you here is not valid, so it was stopped. Nothing was shared.",
                "La demande reçue n'est pas valide; elle a donc été interrompue. Rien n'a été communiqué.",
            ),
        };
        match lang {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// JSON error response for programs (token, userinfo, and other back-channel endpoints).
impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = Body {
            error: self.code.as_str(),
            error_description: &self.description,
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.code == ErrorCode::InvalidClient {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"broker\""),
            );
        }
        if self.code == ErrorCode::InvalidToken {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                headers.insert(header::RETRY_AFTER, v);
            }
        } else if self.code == ErrorCode::TemporarilyUnavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}
