//! Delivering logout tokens to services (Back-Channel Logout 1.0 section 2.5): a queue in the
//! state store, worked by every replica, so that a session's end never waits on a service.
//! Each delivery is tried at once, then again with a doubling delay; a service that is dead,
//! slow or answers anything but 200 never holds up the others (each try is bounded, and the
//! tries of one round run side by side). What could not be delivered after the last try is
//! counted and audited.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Served;
use super::logout_token;
use crate::app::Broker;
use crate::audit::Event;
use crate::http::browser::random_token;
use crate::records::millis;
use crate::store::{Kind, StoreError};

/// How many times a token is tried in all.
pub const ATTEMPTS: u32 = 8;
/// The delay before the second try; each next one waits twice as long, up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_secs(5);
const MAX_DELAY: Duration = Duration::from_secs(600);
/// One try's bound: a slow service costs this much at most, and only to itself.
const TRY_TIMEOUT: Duration = Duration::from_secs(5);
/// A claimed item is another replica's to try only after this long (the claimer died).
const LEASE: Duration = Duration::from_secs(30);
/// How often the queue is looked at, and how much is taken at once.
const EVERY: Duration = Duration::from_millis(500);
const BATCH: usize = 64;

/// A logout token owed to a service. The token is signed at each try (a fresh `iat` and
/// `jti`), so a late retry is not refused as stale.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    pub sid: String,
    pub client_id: String,
    pub subject: String,
    /// Tries made so far.
    pub attempts: u32,
}

/// Queues a logout token for each service of `served` that registered a
/// `backchannel_logout_uri`, due now. Returns how many were queued.
pub async fn enqueue(
    broker: &Broker,
    sid: &str,
    served: &[Served],
    now: OffsetDateTime,
) -> Result<usize, StoreError> {
    let registry = broker.registry();
    let mut queued = 0;
    for s in served {
        let told = registry
            .relying_party(&s.client_id)
            .is_some_and(|rp| rp.backchannel_logout_uri.is_some());
        if !told {
            continue;
        }
        let delivery = Delivery {
            sid: sid.to_owned(),
            client_id: s.client_id.clone(),
            subject: s.subject.clone(),
            attempts: 0,
        };
        broker
            .store
            .schedule(
                Kind::LogoutDelivery,
                &random_token(),
                &delivery,
                millis(now),
            )
            .await?;
        crate::metrics::logout_token(crate::metrics::LogoutToken::Queued);
        queued += 1;
    }
    Ok(queued)
}

/// The delay after the `attempts`-th failed try.
pub fn backoff(attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
    FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY)
}

/// Works the queue while the broker serves.
pub async fn run(broker: Broker) {
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = round(&broker).await {
            tracing::warn!(error = %e, "the logout delivery queue could not be read");
        }
    }
}

/// One round: the items due now, tried side by side. Returns how many were tried.
pub async fn round(broker: &Broker) -> Result<usize, StoreError> {
    let now = broker.now();
    let lease = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
    let due: Vec<(String, Delivery)> = broker
        .store
        .claim_due(Kind::LogoutDelivery, millis(now), lease, BATCH)
        .await?;
    let tried = due.len();
    let mut tries = tokio::task::JoinSet::new();
    for (id, d) in due {
        let broker = broker.clone();
        tries.spawn(async move {
            let outcome = attempt(&broker, &d, now).await;
            settle(&broker, &id, d, outcome, now).await
        });
    }
    while let Some(settled) = tries.join_next().await {
        match settled {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "a logout delivery could not be settled; its lease will end")
            }
            Err(e) => tracing::error!(error = %e, "a logout delivery task failed"),
        }
    }
    Ok(tried)
}

/// Why one try failed.
#[derive(Debug, thiserror::Error)]
enum TryError {
    #[error("the service is no longer registered for back-channel logout")]
    NotRegistered,
    #[error("the token could not be signed: {0}")]
    Sign(String),
    #[error("the service could not be reached: {0}")]
    Unreachable(String),
    #[error("the service answered {0}")]
    Status(u16),
}

impl TryError {
    /// Whether trying again could help.
    fn retryable(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::Status(_))
    }
}

async fn attempt(broker: &Broker, d: &Delivery, now: OffsetDateTime) -> Result<(), TryError> {
    let registry = broker.registry();
    let rp = registry
        .relying_party(&d.client_id)
        .ok_or(TryError::NotRegistered)?;
    let uri = rp
        .backchannel_logout_uri
        .clone()
        .ok_or(TryError::NotRegistered)?;
    let claims = logout_token::claims(&broker.issuer, &d.client_id, &d.subject, &d.sid, now);
    let token = broker
        .keys
        .sign_typed(rp.id_token_alg, logout_token::TYP, claims)
        .map_err(|e| TryError::Sign(e.to_string()))?;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", &token)
        .finish();
    let response = broker
        .upstream
        .http()
        .post(uri)
        .timeout(TRY_TIMEOUT)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await
        .map_err(|e| TryError::Unreachable(e.to_string()))?;
    // Section 2.8: 200 (or 204, which some services answer) is success.
    match response.status().as_u16() {
        200 | 204 => Ok(()),
        other => Err(TryError::Status(other)),
    }
}

async fn settle(
    broker: &Broker,
    id: &str,
    mut d: Delivery,
    outcome: Result<(), TryError>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    d.attempts += 1;
    match outcome {
        Ok(()) => {
            broker.store.finish(Kind::LogoutDelivery, id).await?;
            broker.audit(Event::LogoutDelivered {
                sid: &d.sid,
                client: &d.client_id,
                attempt: d.attempts,
            });
            crate::metrics::logout_token(crate::metrics::LogoutToken::Delivered);
        }
        Err(e) if e.retryable() && d.attempts < ATTEMPTS => {
            tracing::info!(client = %d.client_id, attempt = d.attempts, error = %e, "logout token not delivered; will retry");
            let due = millis(now)
                .saturating_add(i64::try_from(backoff(d.attempts).as_millis()).unwrap_or(i64::MAX));
            broker
                .store
                .schedule(Kind::LogoutDelivery, id, &d, due)
                .await?;
            crate::metrics::logout_token(crate::metrics::LogoutToken::Retried);
        }
        Err(e) => {
            broker.store.finish(Kind::LogoutDelivery, id).await?;
            let reason = e.to_string();
            broker.audit(Event::LogoutUndelivered {
                sid: &d.sid,
                client: &d.client_id,
                attempts: d.attempts,
                reason: &reason,
            });
            crate::metrics::logout_token(crate::metrics::LogoutToken::Undelivered);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_are_bounded() {
        assert_eq!(backoff(1), Duration::from_secs(5));
        assert_eq!(backoff(2), Duration::from_secs(10));
        assert_eq!(backoff(4), Duration::from_secs(40));
        assert_eq!(backoff(30), MAX_DELAY);
        let total: Duration = (1..ATTEMPTS).map(backoff).sum();
        assert!(total < Duration::from_secs(3600), "{total:?}");
    }
}
