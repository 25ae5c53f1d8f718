//! Whether a person's broker session may stand in for a new sign-in at a provider: the "tell
//! us once" rule. A session is reused only when everything a fresh sign-in would establish
//! still holds for this request: an eligible provider, the level, the freshness the service
//! asked for, the attributes, and the operator's rule that some levels always need a fresh
//! sign-in (as FranceConnect+ requires at eIDAS substantial and high). A session is never
//! consent: what is released is decided again, and consent asked, for each service.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::decide::{Candidate, Decision};
use crate::{AssuranceLevel, Attribute};

/// What a broker session established at its sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFacts<'a> {
    pub provider_id: &'a str,
    /// The level the provider's sign-in achieved.
    pub level: AssuranceLevel,
    /// When the person signed in at the provider.
    pub auth_time: OffsetDateTime,
    /// The attributes the provider attested in that sign-in.
    pub attributes: &'a BTreeSet<Attribute>,
}

/// The operator's rule on reuse (`[sessions]` in the broker's configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReuseRules {
    /// From this required level up, every login signs in afresh at the provider.
    pub fresh_sign_in_from: Option<AssuranceLevel>,
}

/// Why a session was not reused; the login then goes to the provider (or, under
/// `prompt=none`, answers `login_required`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReused {
    #[error("the session's provider is not eligible for this request")]
    ProviderNotEligible,
    #[error("the session's level {achieved} is below the {required} this request needs")]
    LevelTooLow {
        achieved: AssuranceLevel,
        required: AssuranceLevel,
    },
    #[error("the service asked for a fresh sign-in (prompt=login)")]
    FreshSignInAsked,
    #[error("the operator requires a fresh sign-in at level {required}")]
    FreshSignInRequired { required: AssuranceLevel },
    #[error("the sign-in is {elapsed} s old, more than the max_age of {max_age} s")]
    TooOld { max_age: u64, elapsed: i64 },
    #[error("the session's sign-in did not attest every attribute this request needs")]
    AttributesMissing,
}

impl NotReused {
    /// A short name for metrics and the audit trail.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::ProviderNotEligible => "provider_not_eligible",
            Self::LevelTooLow { .. } => "level_too_low",
            Self::FreshSignInAsked => "prompt_login",
            Self::FreshSignInRequired { .. } => "fresh_sign_in_required",
            Self::TooOld { .. } => "max_age",
            Self::AttributesMissing => "attributes_missing",
        }
    }
}

/// The candidate of `decision` that the session stands in for, or why it cannot. `max_age` is
/// the service's (seconds since the sign-in); `fresh_asked` is `prompt=login`.
pub fn reusable<'d>(
    session: &SessionFacts<'_>,
    decision: &'d Decision,
    max_age: Option<u64>,
    fresh_asked: bool,
    rules: ReuseRules,
    now: OffsetDateTime,
) -> Result<&'d Candidate, NotReused> {
    if fresh_asked {
        return Err(NotReused::FreshSignInAsked);
    }
    let candidate = decision
        .candidate(session.provider_id)
        .ok_or(NotReused::ProviderNotEligible)?;
    let required = candidate.required_level;
    if rules
        .fresh_sign_in_from
        .is_some_and(|from| required >= from)
    {
        return Err(NotReused::FreshSignInRequired { required });
    }
    if session.level < required {
        return Err(NotReused::LevelTooLow {
            achieved: session.level,
            required,
        });
    }
    if let Some(max_age) = max_age {
        let elapsed = (now - session.auth_time).whole_seconds();
        if elapsed < 0 || u64::try_from(elapsed).is_ok_and(|e| e > max_age) {
            return Err(NotReused::TooOld { max_age, elapsed });
        }
    }
    if !candidate.attributes.is_subset(session.attributes) {
        return Err(NotReused::AttributesMissing);
    }
    Ok(candidate)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::{Jurisdiction, LegalBasis};

    const NOW: OffsetDateTime = datetime!(2026-12-06 12:00:00 UTC);

    fn candidate(provider: &str, level: AssuranceLevel, attributes: &[Attribute]) -> Candidate {
        Candidate {
            provider_id: provider.into(),
            jurisdiction: Jurisdiction::Federal,
            agreement_id: "isa".into(),
            agreement_version: 1,
            legal_basis: LegalBasis::Consent,
            required_level: level,
            acr_values: vec![],
            attributes: attributes.iter().copied().collect(),
            refused: BTreeSet::new(),
        }
    }

    fn decision(candidates: Vec<Candidate>) -> Decision {
        Decision {
            client_id: "rp".into(),
            candidates,
        }
    }

    const OPEN: ReuseRules = ReuseRules {
        fresh_sign_in_from: None,
    };

    fn facts(level: AssuranceLevel, attributes: &BTreeSet<Attribute>) -> SessionFacts<'_> {
        SessionFacts {
            provider_id: "ab",
            level,
            auth_time: NOW - time::Duration::minutes(5),
            attributes,
        }
    }

    #[test]
    fn a_session_that_meets_everything_is_reused() {
        let attested = BTreeSet::from([Attribute::GivenName, Attribute::Birthdate]);
        let d = decision(vec![
            candidate("bc", AssuranceLevel::Two, &[]),
            candidate("ab", AssuranceLevel::Two, &[Attribute::GivenName]),
        ]);
        let s = facts(AssuranceLevel::Three, &attested);
        let chosen = reusable(&s, &d, Some(600), false, OPEN, NOW).unwrap();
        assert_eq!(chosen.provider_id, "ab");
    }

    #[test]
    fn every_unmet_condition_says_why() {
        let attested = BTreeSet::from([Attribute::GivenName]);
        let s = facts(AssuranceLevel::Two, &attested);
        let two = decision(vec![candidate(
            "ab",
            AssuranceLevel::Two,
            &[Attribute::GivenName],
        )]);
        assert_eq!(
            reusable(&s, &two, None, true, OPEN, NOW),
            Err(NotReused::FreshSignInAsked)
        );
        let other = decision(vec![candidate("bc", AssuranceLevel::Two, &[])]);
        assert_eq!(
            reusable(&s, &other, None, false, OPEN, NOW),
            Err(NotReused::ProviderNotEligible)
        );
        // A level-2 session is not reused for a level-3 service.
        let three = decision(vec![candidate("ab", AssuranceLevel::Three, &[])]);
        assert_eq!(
            reusable(&s, &three, None, false, OPEN, NOW),
            Err(NotReused::LevelTooLow {
                achieved: AssuranceLevel::Two,
                required: AssuranceLevel::Three
            })
        );
        assert_eq!(
            reusable(&s, &two, Some(60), false, OPEN, NOW),
            Err(NotReused::TooOld {
                max_age: 60,
                elapsed: 300
            })
        );
        assert!(reusable(&s, &two, Some(300), false, OPEN, NOW).is_ok());
        let more = decision(vec![candidate(
            "ab",
            AssuranceLevel::Two,
            &[Attribute::GivenName, Attribute::Address],
        )]);
        assert_eq!(
            reusable(&s, &more, None, false, OPEN, NOW),
            Err(NotReused::AttributesMissing)
        );
    }

    #[test]
    fn the_operator_may_require_a_fresh_sign_in_from_a_level() {
        let attested = BTreeSet::new();
        let s = facts(AssuranceLevel::Four, &attested);
        let rules = ReuseRules {
            fresh_sign_in_from: Some(AssuranceLevel::Three),
        };
        let two = decision(vec![candidate("ab", AssuranceLevel::Two, &[])]);
        assert!(reusable(&s, &two, None, false, rules, NOW).is_ok());
        let three = decision(vec![candidate("ab", AssuranceLevel::Three, &[])]);
        assert_eq!(
            reusable(&s, &three, None, false, rules, NOW),
            Err(NotReused::FreshSignInRequired {
                required: AssuranceLevel::Three
            })
        );
    }

    #[test]
    fn a_sign_in_dated_in_the_future_is_not_fresh_enough() {
        let attested = BTreeSet::new();
        let mut s = facts(AssuranceLevel::Two, &attested);
        s.auth_time = NOW + time::Duration::minutes(1);
        let two = decision(vec![candidate("ab", AssuranceLevel::Two, &[])]);
        assert!(matches!(
            reusable(&s, &two, Some(600), false, OPEN, NOW),
            Err(NotReused::TooOld { .. })
        ));
    }
}
