//! Why the trust framework says no, with the OAuth error code a program gets and the words a
//! person reads, in both official languages.

use crate::level::AssuranceLevel;
use crate::text::Lang;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error("unknown client {client_id:?}")]
    UnknownClient { client_id: String },
    #[error("client {client_id:?} is {status}")]
    ClientNotActive { client_id: String, status: String },
    #[error("no information sharing agreement covers client {client_id:?}")]
    NoAgreement { client_id: String },
    #[error("agreement {agreement_id:?} has expired")]
    AgreementExpired { agreement_id: String },
    #[error("agreement {agreement_id:?} is not yet in force")]
    AgreementNotYetInForce { agreement_id: String },
    #[error("agreement {agreement_id:?} has been terminated")]
    AgreementTerminated { agreement_id: String },
    #[error("agreement {agreement_id:?} was amended during the sign-in")]
    AgreementChanged { agreement_id: String },
    #[error("level {required} cannot be attained (best available: {})", best_available.map(|l| l.to_string()).unwrap_or_else(|| "none".into()))]
    LevelNotAttainable {
        required: AssuranceLevel,
        best_available: Option<AssuranceLevel>,
    },
    #[error("no provider covered by an agreement is certified and active")]
    NoCertifiedProvider,
    #[error("provider {provider_id:?} is {status}")]
    ProviderNotActive { provider_id: String, status: String },
    #[error("provider {provider_id:?} is no longer certified for level {required}")]
    ProviderNotCertified {
        provider_id: String,
        required: AssuranceLevel,
    },
    #[error("{hint:?} names no provider and no jurisdiction")]
    UnknownHint { hint: String },
    #[error("{hint:?} names no provider eligible for this request")]
    HintNotEligible { hint: String },
    #[error("the sign-in reached level {}, below the required level {required}", achieved.map(|l| l.to_string()).unwrap_or_else(|| "unknown".into()))]
    LevelNotMet {
        required: AssuranceLevel,
        achieved: Option<AssuranceLevel>,
    },
    #[error("the assertion came from provider {actual:?}, not {expected:?}")]
    WrongProvider { expected: String, actual: String },
    #[error("{}", stale_message(*max_age, *elapsed))]
    AuthenticationTooOld {
        /// What the service asked (`prompt=login` counts as 0).
        max_age: u64,
        /// Seconds from the provider's `auth_time` to when the broker sent the person there;
        /// `None` when the provider did not say.
        elapsed: Option<i64>,
    },
}

fn stale_message(max_age: u64, elapsed: Option<i64>) -> String {
    match elapsed {
        Some(elapsed) => format!(
            "the provider authenticated the person {elapsed} s before the request, which asked for at most {max_age} s (max_age or prompt=login)"
        ),
        None => format!(
            "the provider did not say when it authenticated the person (no auth_time), and the request asked for at most {max_age} s"
        ),
    }
}

impl Refusal {
    /// The OAuth 2.0 / OpenID Connect error code for the relying party.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::UnknownClient { .. } => "invalid_client",
            Self::ClientNotActive { .. } => "unauthorized_client",
            Self::UnknownHint { .. } => "invalid_request",
            Self::LevelNotAttainable { .. }
            | Self::LevelNotMet { .. }
            | Self::AuthenticationTooOld { .. } => "unmet_authentication_requirements",
            Self::WrongProvider { .. } => "server_error",
            Self::NoAgreement { .. }
            | Self::AgreementExpired { .. }
            | Self::AgreementNotYetInForce { .. }
            | Self::AgreementTerminated { .. }
            | Self::AgreementChanged { .. }
            | Self::NoCertifiedProvider
            | Self::ProviderNotActive { .. }
            | Self::ProviderNotCertified { .. }
            | Self::HintNotEligible { .. } => "access_denied",
        }
    }

    /// The kind of refusal, as a stable snake_case name without identifiers: a label for
    /// metrics and dashboards, which must stay bounded whatever was asked.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UnknownClient { .. } => "unknown_client",
            Self::ClientNotActive { .. } => "client_not_active",
            Self::NoAgreement { .. } => "no_agreement",
            Self::AgreementExpired { .. } => "agreement_expired",
            Self::AgreementNotYetInForce { .. } => "agreement_not_yet_in_force",
            Self::AgreementTerminated { .. } => "agreement_terminated",
            Self::AgreementChanged { .. } => "agreement_changed",
            Self::LevelNotAttainable { .. } => "level_not_attainable",
            Self::NoCertifiedProvider => "no_certified_provider",
            Self::ProviderNotActive { .. } => "provider_not_active",
            Self::ProviderNotCertified { .. } => "provider_not_certified",
            Self::UnknownHint { .. } => "unknown_hint",
            Self::HintNotEligible { .. } => "hint_not_eligible",
            Self::LevelNotMet { .. } => "level_not_met",
            Self::WrongProvider { .. } => "wrong_provider",
            Self::AuthenticationTooOld { .. } => "authentication_too_old",
        }
    }

    /// A message for a person, who may not know what an agreement or a level is. Identifiers
    /// are deliberately left out: they are in the audit trail and the `error_description`.
    pub fn message(&self, lang: Lang) -> &'static str {
        let (en, fr) = match self {
            Self::UnknownClient { .. } => (
                "The service that sent you here is not registered with the identity broker.",
                "Le service qui vous a dirigé ici n'est pas inscrit auprès du courtier d'identité.",
            ),
            Self::ClientNotActive { .. } => (
                "The service that sent you here may not use the identity broker at this time.",
                "Le service qui vous a dirigé ici ne peut pas utiliser le courtier d'identité pour le moment.",
            ),
            Self::NoAgreement { .. } => (
                "No information sharing agreement allows this service to receive your identity information.",
                "Aucune entente d'échange de renseignements ne permet à ce service de recevoir vos renseignements d'identité.",
            ),
            Self::AgreementExpired { .. } => (
                "The information sharing agreement for this service has expired.",
                "L'entente d'échange de renseignements de ce service est expirée.",
            ),
            Self::AgreementNotYetInForce { .. } => (
                "The information sharing agreement for this service is not yet in force.",
                "L'entente d'échange de renseignements de ce service n'est pas encore en vigueur.",
            ),
            Self::AgreementTerminated { .. } => (
                "The information sharing agreement for this service has been terminated.",
                "L'entente d'échange de renseignements de ce service a été résiliée.",
            ),
            Self::AgreementChanged { .. } => (
                "The information sharing agreement for this service changed while you were signing in. Please start again.",
                "L'entente d'échange de renseignements de ce service a changé pendant votre connexion. Veuillez recommencer.",
            ),
            Self::LevelNotAttainable { .. } => (
                "No identity provider available to you can confirm your identity at the level this service requires.",
                "Aucun fournisseur d'identité à votre disposition ne peut confirmer votre identité au niveau exigé par ce service.",
            ),
            Self::NoCertifiedProvider => (
                "No certified identity provider is available for this service at this time.",
                "Aucun fournisseur d'identité certifié n'est disponible pour ce service pour le moment.",
            ),
            Self::ProviderNotActive { .. } | Self::ProviderNotCertified { .. } => (
                "The identity provider you chose is not available at this time.",
                "Le fournisseur d'identité que vous avez choisi n'est pas disponible pour le moment.",
            ),
            Self::UnknownHint { .. } | Self::HintNotEligible { .. } => (
                "The identity provider requested by the service is not available for this service.",
                "Le fournisseur d'identité demandé par le service n'est pas disponible pour ce service.",
            ),
            Self::LevelNotMet { .. } => (
                "Your sign-in did not reach the level of assurance this service requires.",
                "Votre connexion n'a pas atteint le niveau d'assurance exigé par ce service.",
            ),
            Self::WrongProvider { .. } => (
                "Your sign-in could not be completed. Please start again.",
                "Votre connexion n'a pas pu être complétée. Veuillez recommencer.",
            ),
            Self::AuthenticationTooOld { .. } => (
                "This service needs you to sign in again, and your identity provider did not ask you to. Please start again.",
                "Ce service exige que vous vous connectiez de nouveau, et votre fournisseur d'identité ne vous l'a pas demandé. Veuillez recommencer.",
            ),
        };
        match lang {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }
}
