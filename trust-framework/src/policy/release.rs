//! Claim release at `/callback`: the only way to obtain attributes for a relying party.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::decide::Candidate;
use super::refusal::Refusal;
use crate::attribute::Attribute;
use crate::jurisdiction::Jurisdiction;
use crate::level::AssuranceLevel;
use crate::registry::Registry;

/// What a provider asserted, after its ID token was verified. Claims still carry the
/// provider's own names; the acr is the provider's own value.
#[derive(Debug, Clone, Default)]
pub struct UpstreamAssertion {
    pub provider_id: String,
    pub subject: String,
    pub acr: Option<String>,
    pub claims: Map<String, Value>,
}

/// Attributes cleared for release. Fields are private and there is no constructor: a
/// `Release` exists only because [`release`] checked the registry at that moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    provider_id: String,
    jurisdiction: Jurisdiction,
    agreement_id: String,
    agreement_version: u32,
    level: AssuranceLevel,
    attributes: BTreeMap<Attribute, Value>,
    withheld: BTreeSet<Attribute>,
    missing: BTreeSet<Attribute>,
}

impl Release {
    pub fn provider_id(&self) -> &str {
        &self.provider_id
    }
    pub fn jurisdiction(&self) -> Jurisdiction {
        self.jurisdiction
    }
    pub fn agreement_id(&self) -> &str {
        &self.agreement_id
    }
    pub fn agreement_version(&self) -> u32 {
        self.agreement_version
    }
    /// The level achieved: the provider's asserted level, capped by its certification.
    pub fn level(&self) -> AssuranceLevel {
        self.level
    }
    /// Released attributes with their values, under canonical names.
    pub fn attributes(&self) -> &BTreeMap<Attribute, Value> {
        &self.attributes
    }
    /// Attributes the provider sent that the agreement does not allow: dropped, for the audit.
    pub fn withheld(&self) -> &BTreeSet<Attribute> {
        &self.withheld
    }
    /// Attributes agreed and asked that the provider did not supply.
    pub fn missing(&self) -> &BTreeSet<Attribute> {
        &self.missing
    }
}

/// Decides what may be sent to the relying party, re-checking at `now` everything the
/// decision relied on: the provider is still active and certified, the agreement is still in
/// force at the same version, and the achieved level meets the required one.
pub fn release(
    registry: &Registry,
    candidate: &Candidate,
    assertion: &UpstreamAssertion,
    now: OffsetDateTime,
) -> Result<Release, Refusal> {
    if assertion.provider_id != candidate.provider_id {
        return Err(Refusal::WrongProvider {
            expected: candidate.provider_id.clone(),
            actual: assertion.provider_id.clone(),
        });
    }
    let provider =
        registry
            .provider(&candidate.provider_id)
            .ok_or_else(|| Refusal::ProviderNotActive {
                provider_id: candidate.provider_id.clone(),
                status: "removed".to_owned(),
            })?;
    if !provider.status.is_active() {
        return Err(Refusal::ProviderNotActive {
            provider_id: provider.id.clone(),
            status: provider.status.to_string(),
        });
    }
    let certified = provider
        .certified_level(now)
        .filter(|l| *l >= candidate.required_level)
        .ok_or_else(|| Refusal::ProviderNotCertified {
            provider_id: provider.id.clone(),
            required: candidate.required_level,
        })?;

    let agreement = registry.agreement(&candidate.agreement_id).ok_or_else(|| {
        Refusal::AgreementTerminated {
            agreement_id: candidate.agreement_id.clone(),
        }
    })?;
    match agreement.in_force(now) {
        Ok(()) => {}
        Err(crate::agreement::NotInForce::Expired) => {
            return Err(Refusal::AgreementExpired {
                agreement_id: agreement.id.clone(),
            });
        }
        Err(crate::agreement::NotInForce::Terminated) => {
            return Err(Refusal::AgreementTerminated {
                agreement_id: agreement.id.clone(),
            });
        }
        Err(crate::agreement::NotInForce::NotYetInForce) => {
            return Err(Refusal::AgreementNotYetInForce {
                agreement_id: agreement.id.clone(),
            });
        }
    }
    if agreement.version != candidate.agreement_version || !agreement.covers(provider) {
        return Err(Refusal::AgreementChanged {
            agreement_id: agreement.id.clone(),
        });
    }

    let asserted = assertion
        .acr
        .as_deref()
        .and_then(|acr| provider.level_of_acr(acr));
    let level = asserted.map(|l| l.min(certified));
    if level.is_none_or(|l| l < candidate.required_level) {
        return Err(Refusal::LevelNotMet {
            required: candidate.required_level,
            achieved: level,
        });
    }
    let level = level.unwrap_or(candidate.required_level);

    let mut attributes = BTreeMap::new();
    let mut withheld = BTreeSet::new();
    for (claim, value) in &assertion.claims {
        let Some(attribute) = provider.attribute_of_claim(claim) else {
            continue;
        };
        let allowed = candidate.attributes.contains(&attribute)
            && agreement.attributes.contains(&attribute)
            && provider.attributes.contains(&attribute);
        if allowed && !value.is_null() {
            attributes.insert(attribute, value.clone());
        } else if !allowed {
            withheld.insert(attribute);
        }
    }
    let missing = candidate
        .attributes
        .iter()
        .filter(|a| !attributes.contains_key(a) && agreement.attributes.contains(a))
        .copied()
        .collect();
    Ok(Release {
        provider_id: provider.id.clone(),
        jurisdiction: provider.jurisdiction,
        agreement_id: agreement.id.clone(),
        agreement_version: agreement.version,
        level,
        attributes,
        withheld,
        missing,
    })
}
