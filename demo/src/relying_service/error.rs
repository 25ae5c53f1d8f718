//! Why a sign-in failed at the relying service, shown to the person in their language.

use axum::http::StatusCode;

use super::verify::IdTokenError;
use crate::html::Lang;

#[derive(Debug, thiserror::Error)]
pub(super) enum RpError {
    #[error("this service is not known")]
    UnknownClient,
    #[error("the broker cannot be used: {0}")]
    Broker(String),
    #[error("a parameter is repeated")]
    RepeatedParameter,
    #[error("the sign-in is unknown or has expired (state)")]
    UnknownState,
    #[error("the sign-in was started in another browser (state cookie)")]
    BrowserMismatch,
    #[error("the response does not come from the broker (iss)")]
    WrongIssuer,
    #[error("the response carries no code")]
    MissingCode,
    #[error("the broker refused the code: {error} {description}")]
    TokenRefused { error: String, description: String },
    #[error("the ID token is not valid: {0}")]
    IdToken(#[from] IdTokenError),
    #[error("the userinfo answer is not valid: {0}")]
    Userinfo(String),
    #[error("too many sign-ins in progress")]
    Busy,
}

impl RpError {
    pub(super) fn status(&self) -> StatusCode {
        match self {
            Self::UnknownClient => StatusCode::NOT_FOUND,
            Self::Broker(_) | Self::TokenRefused { .. } | Self::Userinfo(_) => {
                StatusCode::BAD_GATEWAY
            }
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// A sentence for the person; the technical detail (`Display`) is shown under it.
    pub(super) fn message(&self, lang: Lang) -> &'static str {
        match self {
            Self::UnknownClient => lang.pick(
                "This service does not exist here.",
                "Ce service n'existe pas ici.",
            ),
            Self::Broker(_) => lang.pick(
                "The identity broker cannot be reached right now.",
                "Le courtier d'identité est injoignable pour le moment.",
            ),
            Self::RepeatedParameter | Self::MissingCode => lang.pick(
                "The answer received is not valid.",
                "La réponse reçue n'est pas valide.",
            ),
            Self::UnknownState | Self::BrowserMismatch => lang.pick(
                "This sign-in is unknown, expired or was started in another browser.",
                "Cette connexion est inconnue, a expiré ou a été commencée dans un autre navigateur.",
            ),
            Self::WrongIssuer => lang.pick(
                "The answer does not come from the expected identity broker.",
                "La réponse ne provient pas du courtier d'identité attendu.",
            ),
            Self::TokenRefused { .. } => lang.pick(
                "The identity broker refused to complete the sign-in.",
                "Le courtier d'identité a refusé de terminer la connexion.",
            ),
            Self::IdToken(_) | Self::Userinfo(_) => lang.pick(
                "The identity confirmation received could not be verified.",
                "La confirmation d'identité reçue n'a pas pu être vérifiée.",
            ),
            Self::Busy => lang.pick(
                "Too many sign-ins are in progress. Try again in a moment.",
                "Trop de connexions sont en cours. Réessayez dans un moment.",
            ),
        }
    }
}
