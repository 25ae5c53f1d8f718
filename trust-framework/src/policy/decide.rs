//! The policy decision at `/authorize`: who may be asked, for what, at which level.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::refusal::Refusal;
use crate::agreement::{Agreement, LegalBasis, NotInForce};
use crate::attribute::Attribute;
use crate::jurisdiction::Jurisdiction;
use crate::level::AssuranceLevel;
use crate::provider::IdentityProvider;
use crate::registry::Registry;

/// What the relying party asked for, already parsed from the authorization request.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub client_id: String,
    pub attributes: BTreeSet<Attribute>,
    /// From `acr_values` or an essential `acr` claim; the agreement's minimum applies anyway.
    pub level: Option<AssuranceLevel>,
    /// `idp_hint`: a provider id or a jurisdiction code.
    pub hint: Option<String>,
}

/// One provider the person may sign in with, and the terms that apply if they do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub provider_id: String,
    pub jurisdiction: Jurisdiction,
    pub agreement_id: String,
    pub agreement_version: u32,
    pub legal_basis: LegalBasis,
    pub required_level: AssuranceLevel,
    /// The provider's own acr values that satisfy the level, weakest first.
    pub acr_values: Vec<String>,
    /// Asked upstream and releasable: requested, agreed, and attested by this provider.
    pub attributes: BTreeSet<Attribute>,
    /// Requested but not asked: outside the agreement or not attested by this provider.
    pub refused: BTreeSet<Attribute>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub client_id: String,
    /// Eligible providers: provinces and territories in code order, the federal provider last.
    pub candidates: Vec<Candidate>,
}

impl Decision {
    pub fn candidate(&self, provider_id: &str) -> Option<&Candidate> {
        self.candidates
            .iter()
            .find(|c| c.provider_id == provider_id)
    }

    /// The level that every candidate will demand: the highest of them, since the request's
    /// level applies to all and only agreement minimums differ.
    pub fn required_level(&self) -> Option<AssuranceLevel> {
        self.candidates.iter().map(|c| c.required_level).max()
    }
}

/// Decides which providers are eligible for a request at `now`, or why none is.
///
/// Invariants (property-tested): a candidate is active, certified at its required level at
/// `now`, covered by an agreement in force with this relying party, and its attributes are a
/// subset of that agreement's.
pub fn decide(
    registry: &Registry,
    request: &RequestContext,
    now: OffsetDateTime,
) -> Result<Decision, Refusal> {
    let rp = registry
        .relying_party(&request.client_id)
        .ok_or_else(|| Refusal::UnknownClient {
            client_id: request.client_id.clone(),
        })?;
    if !rp.status.is_active() {
        return Err(Refusal::ClientNotActive {
            client_id: rp.client_id.clone(),
            status: rp.status.to_string(),
        });
    }
    let agreements: Vec<&Agreement> = registry.agreements_of(&rp.client_id).collect();
    let in_force: Vec<&Agreement> = agreements
        .iter()
        .copied()
        .filter(|a| a.in_force(now).is_ok())
        .collect();
    if in_force.is_empty() {
        return Err(why_no_agreement(&rp.client_id, &agreements, now));
    }

    let hinted: Option<Vec<&IdentityProvider>> = match &request.hint {
        None => None,
        Some(hint) => {
            let matches: Vec<&IdentityProvider> = match hint.parse::<Jurisdiction>() {
                Ok(j) => registry
                    .providers()
                    .iter()
                    .filter(|p| p.jurisdiction == j)
                    .collect(),
                Err(_) => registry.provider(hint).into_iter().collect(),
            };
            if matches.is_empty() {
                return Err(Refusal::UnknownHint { hint: hint.clone() });
            }
            Some(matches)
        }
    };
    let considered: Vec<&IdentityProvider> = match &hinted {
        Some(matches) => matches.clone(),
        None => registry.providers().iter().collect(),
    };

    let mut candidates: Vec<Candidate> = considered
        .iter()
        .filter_map(|p| candidate(p, &in_force, request, now))
        .collect();
    candidates
        .sort_by(|a, b| (a.jurisdiction, &a.provider_id).cmp(&(b.jurisdiction, &b.provider_id)));

    if candidates.is_empty() {
        return Err(why_no_candidate(&considered, &in_force, request, now));
    }
    Ok(Decision {
        client_id: rp.client_id.clone(),
        candidates,
    })
}

/// The best terms for one provider among the agreements in force that cover it: the one that
/// releases the most of what was asked, then the one with the lowest minimum level.
fn candidate(
    provider: &IdentityProvider,
    in_force: &[&Agreement],
    request: &RequestContext,
    now: OffsetDateTime,
) -> Option<Candidate> {
    if !provider.status.is_active() {
        return None;
    }
    in_force
        .iter()
        .filter(|a| a.covers(provider))
        .filter_map(|a| {
            let required = request
                .level
                .map_or(a.minimum_level, |l| l.max(a.minimum_level));
            if !provider.is_routable_at(required, now) {
                return None;
            }
            let attributes: BTreeSet<Attribute> = request
                .attributes
                .iter()
                .filter(|x| a.attributes.contains(x) && provider.attributes.contains(x))
                .copied()
                .collect();
            let refused = request
                .attributes
                .difference(&attributes)
                .copied()
                .collect();
            Some(Candidate {
                provider_id: provider.id.clone(),
                jurisdiction: provider.jurisdiction,
                agreement_id: a.id.clone(),
                agreement_version: a.version,
                legal_basis: a.legal_basis,
                required_level: required,
                acr_values: provider.acr_values_for(required),
                attributes,
                refused,
            })
        })
        .max_by(|x, y| {
            x.attributes
                .len()
                .cmp(&y.attributes.len())
                .then(y.required_level.cmp(&x.required_level))
                .then(y.agreement_id.cmp(&x.agreement_id))
        })
}

fn why_no_agreement(client_id: &str, agreements: &[&Agreement], now: OffsetDateTime) -> Refusal {
    let reason = |kind: NotInForce| agreements.iter().find(|a| a.in_force(now) == Err(kind));
    if let Some(a) = reason(NotInForce::Expired) {
        Refusal::AgreementExpired {
            agreement_id: a.id.clone(),
        }
    } else if let Some(a) = reason(NotInForce::Terminated) {
        Refusal::AgreementTerminated {
            agreement_id: a.id.clone(),
        }
    } else if let Some(a) = reason(NotInForce::NotYetInForce) {
        Refusal::AgreementNotYetInForce {
            agreement_id: a.id.clone(),
        }
    } else {
        Refusal::NoAgreement {
            client_id: client_id.to_owned(),
        }
    }
}

fn why_no_candidate(
    considered: &[&IdentityProvider],
    in_force: &[&Agreement],
    request: &RequestContext,
    now: OffsetDateTime,
) -> Refusal {
    let covered: Vec<&IdentityProvider> = considered
        .iter()
        .copied()
        .filter(|p| in_force.iter().any(|a| a.covers(p)))
        .collect();
    let hint = request.hint.clone();
    let active: Vec<&IdentityProvider> = covered
        .iter()
        .copied()
        .filter(|p| p.status.is_active())
        .collect();
    if active.is_empty() {
        return match (covered.first(), hint) {
            (Some(p), Some(_)) => Refusal::ProviderNotActive {
                provider_id: p.id.clone(),
                status: p.status.to_string(),
            },
            (None, Some(hint)) => Refusal::HintNotEligible { hint },
            _ => Refusal::NoCertifiedProvider,
        };
    }
    let best_available = active.iter().filter_map(|p| p.certified_level(now)).max();
    let needed = in_force
        .iter()
        .filter(|a| active.iter().any(|p| a.covers(p)))
        .map(|a| {
            request
                .level
                .map_or(a.minimum_level, |l| l.max(a.minimum_level))
        })
        .min();
    match (best_available, needed) {
        (Some(best), Some(required)) if best < required => Refusal::LevelNotAttainable {
            required,
            best_available: Some(best),
        },
        _ => Refusal::NoCertifiedProvider,
    }
}
