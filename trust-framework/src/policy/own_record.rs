//! The person's own record: where they may sign in to read it, whether that sign-in holds, and
//! whether it is fresh enough to withdraw a consent (PCTF CORV.02: a withdrawal is confirmed by
//! a fresh verification of identity).
//!
//! The broker reads the record as its own relying service: the same providers, certified at
//! the same level, as any service asking at the operator's level would be routed to. No
//! agreement is needed, since nothing is released to anyone: the person sees what the records
//! already hold about them, found by the keyed hash of the provider and their subject there.

use std::time::Duration;

use time::OffsetDateTime;

use crate::jurisdiction::Jurisdiction;
use crate::level::AssuranceLevel;
use crate::registry::Registry;
use crate::text::Lang;

/// A provider the person may sign in with to read their record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordProvider {
    pub provider_id: String,
    pub jurisdiction: Jurisdiction,
    /// The provider's own acr values that satisfy the level, weakest first.
    pub acr_values: Vec<String>,
}

/// Every provider that is active and certified at `level` at `now`, provinces and territories
/// in code order, the federal provider last (the picker's order).
pub fn record_providers(
    registry: &Registry,
    level: AssuranceLevel,
    now: OffsetDateTime,
) -> Vec<RecordProvider> {
    let mut providers: Vec<RecordProvider> = registry
        .providers()
        .iter()
        .filter(|p| p.is_routable_at(level, now))
        .map(|p| RecordProvider {
            provider_id: p.id.clone(),
            jurisdiction: p.jurisdiction,
            acr_values: p.acr_values_for(level),
        })
        .collect();
    providers
        .sort_by(|a, b| (a.jurisdiction, &a.provider_id).cmp(&(b.jurisdiction, &b.provider_id)));
    providers
}

/// Why a sign-in to the record does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordRefusal {
    #[error("the identity provider {0} is no longer active or certified at the level required")]
    ProviderNotRoutable(String),
    #[error(
        "the identity provider confirmed the person at {achieved}, below the {required} required to see a record"
    )]
    LevelNotMet {
        required: &'static str,
        achieved: &'static str,
    },
}

/// The level a provider's answer achieved, if it meets `level`: the provider must still be
/// routable at that level now (a suspension while the person was away ends it), and its `acr`
/// must stand for at least that level, bounded by what it is certified for.
pub fn record_level(
    registry: &Registry,
    provider_id: &str,
    level: AssuranceLevel,
    acr: Option<&str>,
    now: OffsetDateTime,
) -> Result<AssuranceLevel, RecordRefusal> {
    let provider = registry
        .provider(provider_id)
        .filter(|p| p.is_routable_at(level, now))
        .ok_or_else(|| RecordRefusal::ProviderNotRoutable(provider_id.to_owned()))?;
    let certified = provider.certified_level(now).unwrap_or(level);
    let achieved = acr
        .and_then(|a| provider.level_of_acr(a))
        .map(|l| l.min(certified));
    match achieved {
        Some(l) if l >= level => Ok(l),
        other => Err(RecordRefusal::LevelNotMet {
            required: level.acr(),
            achieved: other.map_or("no known level", AssuranceLevel::acr),
        }),
    }
}

/// Whether a sign-in made at `signed_in_at` (the provider's `auth_time` of a sign-in asked
/// with `prompt=login`) is still fresh enough at `now` to withdraw a consent.
pub fn fresh_enough(
    signed_in_at: Option<OffsetDateTime>,
    window: Duration,
    now: OffsetDateTime,
) -> bool {
    signed_in_at.is_some_and(|t| {
        let age = now - t;
        age >= -time::Duration::seconds(60) && age.unsigned_abs() <= window
    })
}

/// Why a person withdraws a consent: a short list, so that the record says it in words an
/// auditor can count, with no free text that could hold personal information.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawalReason {
    NoLongerUse,
    ChangedMind,
    TooMuchShared,
    DidNotAgree,
    Other,
}

impl WithdrawalReason {
    pub const ALL: [WithdrawalReason; 5] = [
        Self::NoLongerUse,
        Self::ChangedMind,
        Self::TooMuchShared,
        Self::DidNotAgree,
        Self::Other,
    ];

    /// The code kept in the withdrawal record and sent in the service's event.
    pub fn code(self) -> &'static str {
        match self {
            Self::NoLongerUse => "no_longer_use",
            Self::ChangedMind => "changed_mind",
            Self::TooMuchShared => "too_much_shared",
            Self::DidNotAgree => "did_not_agree",
            Self::Other => "other",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        let (en, fr) = match self {
            Self::NoLongerUse => (
                "I no longer use this service",
                "Je n'utilise plus ce service",
            ),
            Self::ChangedMind => ("I changed my mind", "J'ai changé d'avis"),
            Self::TooMuchShared => (
                "The service receives more than I want to share",
                "Le service reçoit plus que ce que je veux communiquer",
            ),
            Self::DidNotAgree => (
                "I do not remember agreeing to this",
                "Je ne me souviens pas d'avoir accepté",
            ),
            Self::Other => ("Another reason", "Une autre raison"),
        };
        match lang {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::testing::{NOW, example as example_registry};

    #[test]
    fn only_providers_certified_at_the_level_are_offered_in_picker_order() {
        let registry = example_registry();
        let at_2 = record_providers(&registry, AssuranceLevel::Two, NOW);
        assert!(!at_2.is_empty());
        for p in &at_2 {
            let provider = registry.provider(&p.provider_id).unwrap();
            assert!(
                provider.is_routable_at(AssuranceLevel::Two, NOW),
                "{}",
                p.provider_id
            );
            assert!(!p.acr_values.is_empty());
        }
        let mut sorted = at_2.clone();
        sorted.sort_by(|a, b| {
            (a.jurisdiction, &a.provider_id).cmp(&(b.jurisdiction, &b.provider_id))
        });
        assert_eq!(sorted, at_2);
        let at_4 = record_providers(&registry, AssuranceLevel::Four, NOW);
        assert!(at_4.len() <= at_2.len());
        for p in &at_4 {
            assert!(
                registry
                    .provider(&p.provider_id)
                    .unwrap()
                    .is_routable_at(AssuranceLevel::Four, NOW)
            );
        }
    }

    #[test]
    fn a_sign_in_holds_only_at_the_level_from_a_routable_provider() {
        let registry = example_registry();
        let p = &record_providers(&registry, AssuranceLevel::Two, NOW)[0];
        let provider = registry.provider(&p.provider_id).unwrap();
        let good = provider.acr_values_for(AssuranceLevel::Two)[0].clone();
        assert!(
            record_level(
                &registry,
                &p.provider_id,
                AssuranceLevel::Two,
                Some(&good),
                NOW
            )
            .is_ok()
        );
        assert!(matches!(
            record_level(&registry, &p.provider_id, AssuranceLevel::Two, None, NOW),
            Err(RecordRefusal::LevelNotMet { .. })
        ));
        assert!(matches!(
            record_level(
                &registry,
                &p.provider_id,
                AssuranceLevel::Two,
                Some("urn:unknown"),
                NOW
            ),
            Err(RecordRefusal::LevelNotMet { .. })
        ));
        assert_eq!(
            record_level(&registry, "nobody", AssuranceLevel::Two, Some(&good), NOW),
            Err(RecordRefusal::ProviderNotRoutable("nobody".into()))
        );
        // Below the level: an acr that stands for level 1 only, where the provider has one.
        if let Some((weak, _)) = provider
            .acr_map
            .iter()
            .find(|(_, l)| **l < AssuranceLevel::Two)
        {
            assert!(
                record_level(
                    &registry,
                    &p.provider_id,
                    AssuranceLevel::Two,
                    Some(weak),
                    NOW
                )
                .is_err()
            );
        }
    }

    #[test]
    fn freshness_is_a_window_after_the_sign_in() {
        let window = Duration::from_secs(300);
        let ago = |s: i64| Some(NOW - time::Duration::seconds(s));
        assert!(fresh_enough(ago(0), window, NOW));
        assert!(fresh_enough(ago(299), window, NOW));
        assert!(!fresh_enough(ago(301), window, NOW));
        assert!(!fresh_enough(None, window, NOW));
        // A provider clock a little ahead is tolerated, far ahead is not.
        assert!(fresh_enough(ago(-30), window, NOW));
        assert!(!fresh_enough(ago(-3600), window, NOW));
    }

    #[test]
    fn reasons_round_trip_and_speak_both_languages() {
        for r in WithdrawalReason::ALL {
            assert_eq!(WithdrawalReason::parse(r.code()), Some(r));
            assert_ne!(r.label(Lang::En), r.label(Lang::Fr));
        }
        assert_eq!(WithdrawalReason::parse("free text"), None);
    }
}
