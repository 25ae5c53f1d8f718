//! Whether a provider's sign-in is recent enough for a service that asked for a fresh one
//! (`max_age`, or `prompt=login`, which is `max_age=0`: OpenID Connect Core 3.1.2.1).
//!
//! The broker cannot authenticate anyone itself: it forwards the demand to the provider and
//! checks the provider's `auth_time` when the person comes back. A provider that kept an old
//! session instead, or that does not say when it authenticated the person, fails the check:
//! the broker must not vouch for a freshness it cannot see.

use std::time::Duration;

use time::OffsetDateTime;

use super::refusal::Refusal;

/// How far the provider's clock may lag the broker's before a fresh sign-in looks stale.
pub const FRESHNESS_SKEW: Duration = Duration::from_secs(60);

/// `sent_at` is when the broker sent the person to the provider: the moment the provider
/// weighed its session against `max_age`. With no `max_age` asked, any `auth_time` (or none)
/// will do.
pub fn check_freshness(
    max_age: Option<u64>,
    sent_at: OffsetDateTime,
    auth_time: Option<OffsetDateTime>,
) -> Result<(), Refusal> {
    let Some(max_age) = max_age else {
        return Ok(());
    };
    let Some(auth_time) = auth_time else {
        return Err(Refusal::AuthenticationTooOld {
            max_age,
            elapsed: None,
        });
    };
    let elapsed = (sent_at - auth_time).whole_seconds();
    let allowed =
        i64::try_from(max_age.saturating_add(FRESHNESS_SKEW.as_secs())).unwrap_or(i64::MAX);
    if elapsed > allowed {
        return Err(Refusal::AuthenticationTooOld {
            max_age,
            elapsed: Some(elapsed),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const SENT: OffsetDateTime = datetime!(2026-11-25 12:00:00 UTC);

    fn at(seconds_before: i64) -> Option<OffsetDateTime> {
        Some(SENT - time::Duration::seconds(seconds_before))
    }

    #[test]
    fn without_max_age_any_sign_in_will_do() {
        assert!(check_freshness(None, SENT, None).is_ok());
        assert!(check_freshness(None, SENT, at(86_400)).is_ok());
    }

    #[test]
    fn prompt_login_needs_a_sign_in_after_the_request_within_the_skew() {
        assert!(check_freshness(Some(0), SENT, at(-30)).is_ok());
        assert!(check_freshness(Some(0), SENT, at(60)).is_ok());
        assert!(matches!(
            check_freshness(Some(0), SENT, at(61)),
            Err(Refusal::AuthenticationTooOld {
                max_age: 0,
                elapsed: Some(61)
            })
        ));
    }

    #[test]
    fn max_age_bounds_the_session_s_age_at_the_request() {
        assert!(check_freshness(Some(300), SENT, at(360)).is_ok());
        let refused = check_freshness(Some(300), SENT, at(3_600)).unwrap_err();
        assert_eq!(refused.error_code(), "unmet_authentication_requirements");
        assert_eq!(refused.kind(), "authentication_too_old");
        assert!(refused.to_string().contains("3600 s"), "{refused}");
    }

    #[test]
    fn a_provider_that_does_not_say_when_fails_closed() {
        let refused = check_freshness(Some(u64::MAX), SENT, None).unwrap_err();
        assert!(matches!(
            refused,
            Refusal::AuthenticationTooOld { elapsed: None, .. }
        ));
        assert!(refused.to_string().contains("no auth_time"), "{refused}");
        // A huge max_age does not overflow into a refusal of an old session.
        assert!(check_freshness(Some(u64::MAX), SENT, at(10_000_000)).is_ok());
    }
}
