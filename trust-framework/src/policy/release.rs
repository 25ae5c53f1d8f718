//! Claim release at `/callback`: the only way to obtain attributes for a relying party.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::decide::Candidate;
use super::refusal::Refusal;
use crate::agreement::{Agreement, NotInForce};
use crate::attribute::Attribute;
use crate::jurisdiction::Jurisdiction;
use crate::level::AssuranceLevel;
use crate::provider::IdentityProvider;
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

/// What a release rests on, as it was granted: checked again with [`still_stands`] at the moment
/// the release is recorded, which may be minutes after it was granted (the person reads the
/// consent page) and after a change to the registry on another replica.
#[derive(Debug, Clone, Copy)]
pub struct Basis<'a> {
    pub client_id: &'a str,
    pub provider_id: &'a str,
    pub agreement_id: &'a str,
    pub agreement_version: u32,
    /// The level the release claims (the ID token's `acr`).
    pub level: AssuranceLevel,
}

/// Whether a release granted earlier may still go out at `now` under `registry`: the service
/// and the provider still active, the provider still certified for the level the release
/// claims, the agreement still in force at the same version and still covering the provider.
pub fn still_stands(
    registry: &Registry,
    basis: &Basis<'_>,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    let rp = registry
        .relying_party(basis.client_id)
        .ok_or_else(|| Refusal::UnknownClient {
            client_id: basis.client_id.to_owned(),
        })?;
    if !rp.status.is_active() {
        return Err(Refusal::ClientNotActive {
            client_id: rp.client_id.clone(),
            status: rp.status.to_string(),
        });
    }
    standing(
        registry,
        basis.provider_id,
        basis.agreement_id,
        basis.agreement_version,
        basis.level,
        now,
    )
    .map(|_| ())
}

/// The provider (active, certified at least at `level`, with the level it is certified for)
/// and the agreement (in force at `version`, covering it) a release rests on.
fn standing<'r>(
    registry: &'r Registry,
    provider_id: &str,
    agreement_id: &str,
    version: u32,
    level: AssuranceLevel,
    now: OffsetDateTime,
) -> Result<(&'r IdentityProvider, AssuranceLevel, &'r Agreement), Refusal> {
    let provider = registry
        .provider(provider_id)
        .ok_or_else(|| Refusal::ProviderNotActive {
            provider_id: provider_id.to_owned(),
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
        .filter(|l| *l >= level)
        .ok_or_else(|| Refusal::ProviderNotCertified {
            provider_id: provider.id.clone(),
            required: level,
        })?;
    let agreement =
        registry
            .agreement(agreement_id)
            .ok_or_else(|| Refusal::AgreementTerminated {
                agreement_id: agreement_id.to_owned(),
            })?;
    match agreement.in_force(now) {
        Ok(()) => {}
        Err(NotInForce::Expired) => {
            return Err(Refusal::AgreementExpired {
                agreement_id: agreement.id.clone(),
            });
        }
        Err(NotInForce::Terminated) => {
            return Err(Refusal::AgreementTerminated {
                agreement_id: agreement.id.clone(),
            });
        }
        Err(NotInForce::NotYetInForce) => {
            return Err(Refusal::AgreementNotYetInForce {
                agreement_id: agreement.id.clone(),
            });
        }
    }
    if agreement.version != version || !agreement.covers(provider) {
        return Err(Refusal::AgreementChanged {
            agreement_id: agreement.id.clone(),
        });
    }
    Ok((provider, certified, agreement))
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
    let (provider, certified, agreement) = standing(
        registry,
        &candidate.provider_id,
        &candidate.agreement_id,
        candidate.agreement_version,
        candidate.required_level,
        now,
    )?;

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
