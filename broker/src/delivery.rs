//! Telling services something over a back channel, without making anyone wait on them: a queue
//! in the state store per kind of message (logout tokens, `crate::session::delivery`; consent
//! events, `crate::secevent`), worked by every replica. Each item is tried at once, then again
//! with a doubling delay; a service that is dead, slow or refuses never holds up the others
//! (each try is bounded, and the tries of one round run side by side). What could not be
//! delivered after the last try is given up, which each kind counts and audits.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::app::Broker;
use crate::records::millis;
use crate::store::{Kind, StoreError};

/// How many times an item is tried in all.
pub const ATTEMPTS: u32 = 8;
/// The delay before the second try; each next one waits twice as long, up to [`MAX_DELAY`].
pub(crate) const FIRST_DELAY: Duration = Duration::from_secs(5);
const MAX_DELAY: Duration = Duration::from_secs(600);
/// One try's bound: a slow service costs this much at most, and only to itself.
const TRY_TIMEOUT: Duration = Duration::from_secs(5);
/// A claimed item is another replica's to try only after this long (the claimer died).
const LEASE: Duration = Duration::from_secs(30);
/// How often the queues are looked at, and how much is taken from each at once.
const EVERY: Duration = Duration::from_millis(500);
const BATCH: usize = 64;

/// Why one try failed: the shared causes, and the ones a kind of item alone has.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum TryError {
    /// The service left the registry, or no longer names the endpoint (`what` it was for).
    #[error("the service is no longer registered for {0}")]
    NotRegistered(&'static str),
    #[error("the token could not be signed: {0}")]
    Sign(String),
    #[error("the service could not be reached: {0}")]
    Unreachable(String),
    #[error("the service answered {0}")]
    Status(u16),
    /// The service said it will never take this item (RFC 8935 section 2.4): its error code
    /// and description.
    #[error("the service refused it: {err}: {description}")]
    Refused { err: String, description: String },
    /// What the item is about is not (yet) in the records: it is held back, not tried.
    #[error("not in the records yet")]
    NotYet,
    /// What the item is about never reached the records: it must never be sent.
    #[error("not in the records")]
    NotRecorded,
    /// The records could not be read to check the above.
    #[error("the records could not be read: {0}")]
    Records(String),
}

impl TryError {
    /// Whether trying again could help.
    fn retryable(&self) -> bool {
        matches!(
            self,
            Self::Unreachable(_) | Self::Status(_) | Self::Records(_)
        )
    }
}

/// One kind of item a queue holds: where it is queued, how it is tried, and how its outcome
/// is counted and audited. The queue itself (claim, lease, retry, settle) is the same for
/// every kind.
pub(crate) trait Item: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The queue of this kind.
    const KIND: Kind;

    /// Tries made so far.
    fn attempts(&mut self) -> &mut u32;

    /// One try, at `now`.
    fn attempt(
        &self,
        broker: &Broker,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), TryError>> + Send;

    /// The service took it, at try number `attempt`.
    fn delivered(&self, broker: &Broker, attempt: u32);

    /// The try failed and will be made again.
    fn retried(&self, error: &TryError);

    /// The item is given up after `attempts` tries, for `error`.
    fn given_up(&self, broker: &Broker, attempts: u32, error: &TryError);
}

/// The delay after the `attempts`-th failed try.
pub fn backoff(attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
    FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY)
}

/// Works the queues while the broker serves.
pub async fn run(broker: Broker) {
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = round::<crate::session::delivery::Delivery>(&broker).await {
            tracing::warn!(error = %e, "the logout delivery queue could not be read");
        }
        if let Err(e) = round::<crate::secevent::Queued>(&broker).await {
            tracing::warn!(error = %e, "the consent event queue could not be read");
        }
    }
}

/// One round of one queue: the items due now, tried side by side. Returns how many were
/// tried.
pub(crate) async fn round<T: Item>(broker: &Broker) -> Result<usize, StoreError> {
    let now = broker.now();
    let lease = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
    let due: Vec<(String, T)> = broker
        .store
        .claim_due(T::KIND, millis(now), lease, BATCH)
        .await?;
    let tried = due.len();
    let mut tries = tokio::task::JoinSet::new();
    for (id, item) in due {
        let broker = broker.clone();
        tries.spawn(async move {
            let outcome = item.attempt(&broker, now).await;
            settle(&broker, &id, item, outcome, now).await
        });
    }
    while let Some(settled) = tries.join_next().await {
        match settled {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(queue = T::KIND.prefix(), error = %e, "a delivery could not be settled; its lease will end")
            }
            Err(e) => {
                tracing::error!(queue = T::KIND.prefix(), error = %e, "a delivery task failed")
            }
        }
    }
    Ok(tried)
}

async fn settle<T: Item>(
    broker: &Broker,
    id: &str,
    mut item: T,
    outcome: Result<(), TryError>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    if let Err(TryError::NotYet) = outcome {
        // Not a try: nothing was sent. Held back as long as a first retry would be, unless it
        // was taken out of the queue meanwhile (its writer cancelled it).
        let due = millis(now).saturating_add(as_millis(FIRST_DELAY));
        return broker.store.reschedule(T::KIND, id, due).await.map(|_| ());
    }
    let attempts = item.attempts();
    *attempts += 1;
    let attempts = *attempts;
    match outcome {
        Ok(()) => {
            broker.store.finish(T::KIND, id).await?;
            item.delivered(broker, attempts);
        }
        Err(e) if e.retryable() && attempts < ATTEMPTS => {
            let due = millis(now).saturating_add(as_millis(backoff(attempts)));
            broker.store.schedule(T::KIND, id, &item, due).await?;
            item.retried(&e);
        }
        Err(e) => {
            broker.store.finish(T::KIND, id).await?;
            item.given_up(broker, attempts, &e);
        }
    }
    Ok(())
}

fn as_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Posts `body` to `uri`, bounded to one try's time: the response, whatever its status, or
/// why there was none.
pub(crate) async fn post(
    broker: &Broker,
    uri: url::Url,
    content_type: &'static str,
    accept: Option<&'static str>,
    body: String,
) -> Result<reqwest::Response, TryError> {
    let mut request = broker
        .upstream
        .http()
        .post(uri)
        .timeout(TRY_TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, content_type);
    if let Some(accept) = accept {
        request = request.header(reqwest::header::ACCEPT, accept);
    }
    request
        .body(body)
        .send()
        .await
        .map_err(|e| TryError::Unreachable(e.to_string()))
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

    #[test]
    fn only_what_another_try_could_change_is_retried() {
        assert!(TryError::Unreachable("refused".into()).retryable());
        assert!(TryError::Status(503).retryable());
        assert!(!TryError::NotRegistered("x").retryable());
        assert!(!TryError::NotRecorded.retryable());
        let refused = TryError::Refused {
            err: "invalid_key".into(),
            description: "unknown key".into(),
        };
        assert!(!refused.retryable());
    }
}
