//! Upstream failures, each mapped to the error the relying party receives. The person's login
//! stops; the relying party gets a clean OAuth error and never a token.

use crate::oidc::error::{ErrorCode, OAuthError};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    #[error("the identity provider cannot be reached: {0}")]
    Unreachable(String),
    #[error("the identity provider's metadata is not usable: {0}")]
    Metadata(String),
    #[error("the identity provider refused: {0}")]
    Rejected(String),
    #[error("the identity provider's ID token failed validation: {0}")]
    InvalidIdToken(String),
    /// An answer over [`super::bounded::MAX_UPSTREAM_BODY`]: the provider's fault, not the
    /// network's.
    #[error("the identity provider's answer is too large: {0}")]
    Oversized(String),
    /// The client toward providers could not be set up (at start, never during a login).
    #[error("the client toward identity providers cannot be configured: {0}")]
    Configuration(String),
}

impl UpstreamError {
    pub(super) fn from_id_token(e: super::IdTokenError) -> Self {
        Self::InvalidIdToken(e.to_string())
    }

    /// What the relying party is told.
    pub fn to_oauth(&self) -> OAuthError {
        let code = match self {
            Self::Unreachable(_) => ErrorCode::TemporarilyUnavailable,
            Self::Rejected(_) => ErrorCode::AccessDenied,
            Self::Metadata(_)
            | Self::InvalidIdToken(_)
            | Self::Oversized(_)
            | Self::Configuration(_) => ErrorCode::ServerError,
        };
        OAuthError::new(code, self.to_string())
    }
}

/// An error with its sources, for a description that says why (`signature: no matching key`).
pub(super) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}
