//! Admin authentication: bearer credentials with roles, from configuration. Never open: with
//! no principal configured, every admin call is refused.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::app::Broker;
use crate::audit::Event;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Registers providers and services and proposes changes.
    Registrar,
    /// Approves, suspends, revokes; never what they registered themselves.
    Approver,
    /// Reads everything, changes nothing.
    Auditor,
}

/// A configured administrator: a name, the SHA-256 of their token, and roles.
pub struct Principal {
    pub name: String,
    token_hash: [u8; 32],
    pub roles: BTreeSet<Role>,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("name", &self.name)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl Principal {
    pub fn new(
        name: impl Into<String>,
        token: &str,
        roles: impl IntoIterator<Item = Role>,
    ) -> Self {
        Self {
            name: name.into(),
            token_hash: crate::crypto::sha256_bytes(token.as_bytes()),
            roles: roles.into_iter().collect(),
        }
    }
}

/// The authenticated caller of an admin endpoint.
#[derive(Debug, Clone)]
pub struct Admin {
    pub name: String,
    pub roles: BTreeSet<Role>,
    /// Where the refusal of a call is written.
    broker: Broker,
    /// The call being made, for the audit trail of a refusal: the same `method` and `path`
    /// fields as its `admin.call` and an unauthenticated `admin.refused`.
    method: axum::http::Method,
    path: String,
}

impl Admin {
    pub fn require(&self, role: Role) -> Result<(), AdminError> {
        if self.roles.contains(&role) {
            Ok(())
        } else {
            Err(self.forbidden(format!("{} does not have the {role:?} role", self.name)))
        }
    }

    /// Refuses this call. An authenticated admin attempting what their roles or the separation
    /// of duties forbid is worth an auditor's attention, so the refusal is in the audit trail
    /// with its reason, before the call's `admin.call`.
    pub fn forbidden(&self, why: String) -> AdminError {
        self.broker.audit(Event::AdminRefused {
            admin: Some(&self.name),
            method: self.method.as_str(),
            path: &self.path,
            reason: &why,
        });
        AdminError::Forbidden(why)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the entry does not validate")]
    Problems(Vec<String>),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    /// The body is over the size limit (`crate::http::request_body`).
    #[error("{0}")]
    TooLarge(String),
    /// The body did not arrive in time (`crate::http::request_body`).
    #[error("{0}")]
    Timeout(String),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Self::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Invalid(_) | Self::Problems(_) => (StatusCode::BAD_REQUEST, "invalid"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, "timeout"),
        };
        let problems = match &self {
            Self::Problems(p) => p.clone(),
            _ => Vec::new(),
        };
        let mut response = (status, axum::Json(serde_json::json!({ "error": code, "message": self.to_string(), "problems": problems }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"broker-admin\""),
            );
        }
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
        response
    }
}

impl FromRequestParts<Broker> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        broker: &Broker,
    ) -> Result<Self, Self::Rejection> {
        let refused = |why: &str| {
            broker.audit(Event::AdminRefused {
                admin: None,
                method: parts.method.as_str(),
                path: parts.uri.path(),
                reason: why,
            });
            AdminError::Unauthenticated(why.to_owned())
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| refused("admin calls need a bearer token"))?;
        let presented: [u8; 32] = crate::crypto::sha256_bytes(token.as_bytes());
        // Every principal is compared, in constant time, whatever matches first.
        let mut found = None;
        for p in &broker.admins {
            if bool::from(p.token_hash.ct_eq(&presented)) {
                found = Some(Admin {
                    name: p.name.clone(),
                    roles: p.roles.clone(),
                    broker: broker.clone(),
                    method: parts.method.clone(),
                    path: parts.uri.path().to_owned(),
                });
            }
        }
        let admin = found.ok_or_else(|| refused("the bearer token is not an admin credential"))?;
        match parts.extensions.get::<CallRecord>() {
            Some(record) => {
                let _ = record.admin.set(admin.name.clone());
            }
            // A route outside [`audited`]: the call is still in the trail, without its answer.
            None => {
                broker.audit(Event::AdminCall {
                    admin: &admin.name,
                    method: parts.method.as_str(),
                    path: parts.uri.path(),
                    status: None,
                });
            }
        }
        Ok(admin)
    }
}

/// Who made an admin call, filled in by the [`Admin`] extractor once the caller is known.
#[derive(Debug, Clone, Default)]
struct CallRecord {
    admin: Arc<OnceLock<String>>,
}

/// Writes `admin.call` once the call has been answered.
struct Answered {
    broker: Broker,
    record: CallRecord,
    method: Method,
    path: String,
    status: Option<u16>,
}

impl Drop for Answered {
    /// Also when the answer never came (the client went away and the call was dropped): the
    /// call is in the trail then too, without a `status`.
    fn drop(&mut self) {
        if let Some(admin) = self.record.admin.get() {
            self.broker.audit(Event::AdminCall {
                admin,
                method: self.method.as_str(),
                path: &self.path,
                status: self.status,
            });
        }
    }
}

/// Middleware: every authenticated admin call leaves one `admin.call` with its answer's status
/// (after the change it made, or the `admin.refused` that stopped it), so a call refused for
/// an invalid or conflicting entry is in the trail as such, not only as an attempt.
/// Unauthenticated calls leave `admin.refused` alone.
pub async fn audited(
    axum::extract::State(broker): axum::extract::State<Broker>,
    mut request: Request,
    next: Next,
) -> Response {
    let record = CallRecord::default();
    request.extensions_mut().insert(record.clone());
    let mut answered = Answered {
        broker,
        record,
        method: request.method().clone(),
        path: request.uri().path().to_owned(),
        status: None,
    };
    let response = next.run(request).await;
    answered.status = Some(response.status().as_u16());
    response
}
