//! Trusted Digital Identity Providers and their PCTF certification.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::attribute::Attribute;
use crate::jurisdiction::Jurisdiction;
use crate::level::AssuranceLevel;
use crate::secret::SecretRef;
use crate::text::Bilingual;
use crate::window::Window;

/// Lifecycle of a registered party. Only `Active` is ever routable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Status {
    Pending,
    Active,
    Suspended { reason: String },
    Revoked { reason: String },
}

impl Status {
    pub fn is_active(&self) -> bool {
        matches!(self, Status::Active)
    }

    pub fn name(&self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Active => "active",
            Status::Suspended { .. } => "suspended",
            Status::Revoked { .. } => "revoked",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Suspended { reason } | Status::Revoked { reason } => {
                write!(f, "{} ({reason})", self.name())
            }
            _ => f.write_str(self.name()),
        }
    }
}

/// PCTF components a provider can be certified against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    VerifiedPerson,
    Authentication,
    Credential,
    NoticeAndConsent,
    Privacy,
    Infrastructure,
}

impl Component {
    pub const ALL: [Component; 6] = [
        Self::VerifiedPerson,
        Self::Authentication,
        Self::Credential,
        Self::NoticeAndConsent,
        Self::Privacy,
        Self::Infrastructure,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::VerifiedPerson => "verified-person",
            Self::Authentication => "authentication",
            Self::Credential => "credential",
            Self::NoticeAndConsent => "notice-and-consent",
            Self::Privacy => "privacy",
            Self::Infrastructure => "infrastructure",
        }
    }
}

impl FromStr for Component {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("{s:?} is not a PCTF component"))
    }
}

/// One certified component: the highest level it was assessed at, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certification {
    pub component: Component,
    pub level: AssuranceLevel,
    pub window: Window,
    pub assessor: Option<String>,
}

/// The components that must be certified, current, at (at least) the routed level. Identity
/// assurance (verified person) and credential assurance (authentication) are what a level of
/// assurance is made of; privacy must be current at any level because the provider handles
/// personal information for every login.
pub const ROUTING_COMPONENTS: [Component; 2] =
    [Component::VerifiedPerson, Component::Authentication];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityProvider {
    pub id: String,
    pub jurisdiction: Jurisdiction,
    pub name: Bilingual,
    /// Exactly as the provider's discovery document states it (compared byte for byte).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretRef,
    pub scopes: Vec<String>,
    /// The provider's own acr values and the PCTF level each stands for.
    pub acr_map: BTreeMap<String, AssuranceLevel>,
    /// The provider's claim names and the canonical attribute each carries.
    pub claim_map: BTreeMap<String, Attribute>,
    pub attributes: BTreeSet<Attribute>,
    pub certifications: Vec<Certification>,
    pub status: Status,
}

impl IdentityProvider {
    /// The highest level this provider may be routed for at `now`: bounded by each routing
    /// component's certification, by a current privacy certification, and by the highest acr
    /// value it can actually be asked for. `None` means not routable at all.
    pub fn certified_level(&self, now: OffsetDateTime) -> Option<AssuranceLevel> {
        let current = |c: Component| {
            self.certifications
                .iter()
                .filter(|cert| cert.component == c && cert.window.contains(now))
                .map(|cert| cert.level)
                .max()
        };
        current(Component::Privacy)?;
        let mut level = self.acr_map.values().copied().max()?;
        for component in ROUTING_COMPONENTS {
            level = level.min(current(component)?);
        }
        Some(level)
    }

    /// Whether the provider can be routed a request needing `level` at `now`.
    pub fn is_routable_at(&self, level: AssuranceLevel, now: OffsetDateTime) -> bool {
        self.status.is_active() && self.certified_level(now).is_some_and(|l| l >= level)
    }

    /// The provider's acr values that satisfy `level`, weakest first, so that the person is
    /// not asked for more than needed while any of them is acceptable.
    pub fn acr_values_for(&self, level: AssuranceLevel) -> Vec<String> {
        let mut values: Vec<(&AssuranceLevel, &String)> = self
            .acr_map
            .iter()
            .filter(|(_, l)| **l >= level)
            .map(|(acr, l)| (l, acr))
            .collect();
        values.sort();
        values.into_iter().map(|(_, acr)| acr.clone()).collect()
    }

    /// The PCTF level of an acr value this provider returned; unmapped values have none.
    pub fn level_of_acr(&self, acr: &str) -> Option<AssuranceLevel> {
        self.acr_map.get(acr).copied()
    }

    /// The attribute carried by an upstream claim: mapped claims first, then the standard
    /// claim name of an attribute the provider attests (and has not mapped elsewhere).
    pub fn attribute_of_claim(&self, claim: &str) -> Option<Attribute> {
        if let Some(a) = self.claim_map.get(claim) {
            return Some(*a);
        }
        let a = Attribute::from_claim(claim)?;
        let remapped = self.claim_map.values().any(|m| *m == a);
        (self.attributes.contains(&a) && !remapped).then_some(a)
    }

    /// The upstream claim name that carries `attribute`, for the `claims` request upstream.
    pub fn claim_of_attribute(&self, attribute: Attribute) -> &str {
        self.claim_map
            .iter()
            .find(|(_, a)| **a == attribute)
            .map(|(c, _)| c.as_str())
            .unwrap_or(attribute.claim())
    }
}

#[cfg(test)]
mod tests;
