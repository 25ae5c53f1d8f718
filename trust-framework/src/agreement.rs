//! Information sharing agreements: no agreement, no release.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::attribute::Attribute;
use crate::jurisdiction::Jurisdiction;
use crate::level::AssuranceLevel;
use crate::provider::IdentityProvider;
use crate::text::Bilingual;
use crate::window::Window;

/// Whether the person is asked (`Consent`) or told (`Notice`, where a statute authorizes
/// the collection), as the PCTF notice and consent component distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LegalBasis {
    Consent,
    Notice,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum AgreementStatus {
    Active,
    Terminated { reason: String },
}

/// A party to an agreement on the provider side: one provider, or every provider of a
/// jurisdiction (so a province can replace its provider without amending every agreement).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderSelector {
    Provider(String),
    Jurisdiction(Jurisdiction),
}

impl ProviderSelector {
    pub fn selects(&self, provider: &IdentityProvider) -> bool {
        match self {
            Self::Provider(id) => *id == provider.id,
            Self::Jurisdiction(j) => *j == provider.jurisdiction,
        }
    }
}

/// The law that authorizes a program to collect without asking (a notice agreement): its name
/// and where a person can read it, in both languages, so the notice names the law it relies on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalAuthority {
    #[serde(default)]
    pub name: Bilingual,
    #[serde(default)]
    pub url: Bilingual,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    pub id: String,
    pub version: u32,
    pub relying_party: String,
    pub providers: Vec<ProviderSelector>,
    pub purpose: Bilingual,
    pub attributes: BTreeSet<Attribute>,
    pub minimum_level: AssuranceLevel,
    pub legal_basis: LegalBasis,
    pub window: Window,
    pub retention_days: u32,
    pub status: AgreementStatus,
    /// Required for a notice agreement; a consent agreement may name one too.
    #[serde(default)]
    pub legal_authority: Option<LegalAuthority>,
}

/// Why an agreement is not in force, most final reason first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotInForce {
    Terminated,
    Expired,
    NotYetInForce,
}

impl Agreement {
    pub fn in_force(&self, now: OffsetDateTime) -> Result<(), NotInForce> {
        if matches!(self.status, AgreementStatus::Terminated { .. }) {
            Err(NotInForce::Terminated)
        } else if self.window.has_ended(now) {
            Err(NotInForce::Expired)
        } else if !self.window.contains(now) {
            Err(NotInForce::NotYetInForce)
        } else {
            Ok(())
        }
    }

    pub fn covers(&self, provider: &IdentityProvider) -> bool {
        self.providers.iter().any(|s| s.selects(provider))
    }
}
