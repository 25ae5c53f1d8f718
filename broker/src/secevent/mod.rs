//! Telling a service that a person withdrew a consent it relied on: a Security Event Token
//! (RFC 8417, [`token`]) pushed to the service's `security_events_uri` (RFC 8935), through the
//! broker's delivery queues (`crate::delivery`), tried again like logout tokens.
//!
//! An event must be sent only for a withdrawal that is in the records, and the records and the
//! queue are two stores that cannot commit together. So the writer of the withdrawal queues
//! the event due a little later ([`queue`]), commits the withdrawal, then makes the event due
//! now ([`release_now`]) or, if the commit failed, takes it back ([`cancel`]). Should the
//! writer die or the cancel fail in between, every try first looks for the withdrawal in the
//! records: while the event is young it waits for a commit still in flight; past
//! [`RECORD_WAIT`] it is dropped unsent, and audited as such.

pub mod token;

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use trust_framework::Attribute;

use crate::app::Broker;
use crate::audit::{ConsentEventAbout, ConsentEventOutcome, Event};
use crate::delivery::{Item, TryError};
use crate::http::browser::random_token;
use crate::metrics::ConsentEvent;
use crate::records::{ConsentDecision, ConsentKey, millis};
use crate::store::{Kind, StoreError};

/// How long an event waits for its withdrawal to show in the records, from when it was
/// queued: longer than any commit takes, far shorter than the retries of a delivery.
pub const RECORD_WAIT: Duration = Duration::from_secs(60);
/// The RFC 8935 answers that mean the service has the SET: 202 is the RFC's; 200 and 204 are
/// taken too, since a service that answered them has processed it and a retry would only
/// tell it again.
const ACCEPTED: [u16; 3] = [202, 200, 204];
/// How much of a refusal's body is read (RFC 8935 section 2.4: a small JSON object).
const MAX_ERROR_BODY: usize = 4096;
/// How much of a service's description of a refusal goes into the audit trail.
const MAX_DESCRIPTION: usize = 200;

/// A person withdrew, on their record, a remembered consent to share with a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentWithdrawn {
    pub client_id: String,
    /// The person's pairwise subject at the service.
    pub subject: String,
    pub agreement_id: String,
    pub agreement_version: u32,
    /// What the consent had let the service receive (names only).
    pub attributes: BTreeSet<Attribute>,
    /// When the withdrawal was recorded: its consent record's `at`, Unix milliseconds.
    pub withdrawn_at_ms: i64,
    /// The withdrawal's reason code.
    pub reason: String,
}

impl ConsentWithdrawn {
    fn about(&self) -> ConsentEventAbout<'_> {
        ConsentEventAbout {
            subject: &self.subject,
            client: &self.client_id,
            agreement: &self.agreement_id,
            agreement_version: self.agreement_version,
        }
    }

    fn key(&self) -> ConsentKey<'_> {
        ConsentKey {
            subject: &self.subject,
            client_id: &self.client_id,
            agreement_id: &self.agreement_id,
            agreement_version: self.agreement_version,
        }
    }
}

/// A queued event. The SET is signed at each try (a fresh `iat` and `jti`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Queued {
    event: ConsentWithdrawn,
    /// When it was queued (Unix milliseconds): the start of its wait for the records.
    since_ms: i64,
    /// Tries made so far.
    attempts: u32,
}

/// Queues the event for its service, due at `due` (a little after the withdrawal's commit is
/// expected). Returns the queue id, for [`release_now`] or [`cancel`]; `None` when the service
/// registered no `security_events_uri` (there is no one to tell, which is audited).
pub async fn queue(
    broker: &Broker,
    event: &ConsentWithdrawn,
    due: OffsetDateTime,
) -> Result<Option<String>, StoreError> {
    let wanted = broker
        .registry()
        .relying_party(&event.client_id)
        .is_some_and(|rp| rp.security_events_uri.is_some());
    if !wanted {
        audit(broker, event, ConsentEventOutcome::NotWanted);
        return Ok(None);
    }
    let id = random_token();
    let queued = Queued {
        event: event.clone(),
        since_ms: millis(broker.now()),
        attempts: 0,
    };
    broker
        .store
        .schedule(Kind::ConsentEvent, &id, &queued, millis(due))
        .await?;
    audit(
        broker,
        event,
        ConsentEventOutcome::Queued {
            id: &id,
            reason: &event.reason,
        },
    );
    crate::metrics::consent_event(ConsentEvent::Queued);
    Ok(Some(id))
}

/// Makes the queued event `id` due at `now`, once its withdrawal is committed. An event
/// already delivered or given up stays so (it is never queued again); `event` is the one
/// queued, for the log.
pub async fn release_now(
    broker: &Broker,
    id: &str,
    event: &ConsentWithdrawn,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let moved = broker
        .store
        .reschedule(Kind::ConsentEvent, id, millis(now))
        .await?;
    if !moved {
        tracing::debug!(client = %event.client_id, "a consent event was settled before its release");
    }
    Ok(())
}

/// Takes back the queued event `id`, whose withdrawal could not be committed: it is never
/// sent. `event` is the one queued, for the audit trail.
pub async fn cancel(broker: &Broker, id: &str, event: &ConsentWithdrawn) -> Result<(), StoreError> {
    broker.store.finish(Kind::ConsentEvent, id).await?;
    audit(broker, event, ConsentEventOutcome::Cancelled { id });
    crate::metrics::consent_event(ConsentEvent::Cancelled);
    Ok(())
}

fn audit(broker: &Broker, event: &ConsentWithdrawn, outcome: ConsentEventOutcome<'_>) {
    broker.audit(Event::ConsentWithdrawnSet {
        about: event.about(),
        outcome,
    });
}

impl Queued {
    /// Whether the withdrawal is in the records: [`TryError::NotYet`] while a commit may still
    /// be in flight, [`TryError::NotRecorded`] after.
    async fn recorded(&self, broker: &Broker, now: OffsetDateTime) -> Result<(), TryError> {
        let history = broker
            .records
            .consent_history(self.event.key())
            .await
            .map_err(|e| TryError::Records(e.to_string()))?;
        let found = history.iter().any(|row| {
            row.decision == ConsentDecision::Withdrawn && row.at == self.event.withdrawn_at_ms
        });
        if found {
            Ok(())
        } else if millis(now).saturating_sub(self.since_ms)
            < i64::try_from(RECORD_WAIT.as_millis()).unwrap_or(i64::MAX)
        {
            Err(TryError::NotYet)
        } else {
            Err(TryError::NotRecorded)
        }
    }
}

impl Item for Queued {
    const KIND: Kind = Kind::ConsentEvent;

    fn attempts(&mut self) -> &mut u32 {
        &mut self.attempts
    }

    async fn attempt(&self, broker: &Broker, now: OffsetDateTime) -> Result<(), TryError> {
        const WHAT: &str = "security events";
        self.recorded(broker, now).await?;
        let registry = broker.registry();
        let rp = registry
            .relying_party(&self.event.client_id)
            .ok_or(TryError::NotRegistered(WHAT))?;
        let uri = rp
            .security_events_uri
            .clone()
            .ok_or(TryError::NotRegistered(WHAT))?;
        let claims = token::claims(&broker.issuer, &self.event, now);
        let set = broker
            .keys
            .sign_typed(rp.id_token_alg, token::TYP, claims)
            .map_err(|e| TryError::Sign(e.to_string()))?;
        let response = crate::delivery::post(
            broker,
            uri,
            "application/secevent+jwt",
            Some("application/json"),
            set,
        )
        .await?;
        match response.status().as_u16() {
            status if ACCEPTED.contains(&status) => Ok(()),
            400 => Err(refusal(response).await),
            other => Err(TryError::Status(other)),
        }
    }

    fn delivered(&self, broker: &Broker, attempt: u32) {
        audit(
            broker,
            &self.event,
            ConsentEventOutcome::Delivered { attempt },
        );
        crate::metrics::consent_event(ConsentEvent::Delivered);
    }

    fn retried(&self, error: &TryError) {
        tracing::info!(client = %self.event.client_id, attempt = self.attempts, error = %error, "consent event not delivered; will retry");
        crate::metrics::consent_event(ConsentEvent::Retried);
    }

    fn given_up(&self, broker: &Broker, attempts: u32, error: &TryError) {
        match error {
            TryError::Refused { err, description } => {
                audit(
                    broker,
                    &self.event,
                    ConsentEventOutcome::Refused {
                        attempt: attempts,
                        err,
                        description,
                    },
                );
                crate::metrics::consent_event(ConsentEvent::Refused);
            }
            TryError::NotRecorded => {
                audit(broker, &self.event, ConsentEventOutcome::NotRecorded);
                crate::metrics::consent_event(ConsentEvent::NotRecorded);
            }
            other => {
                let reason = other.to_string();
                audit(
                    broker,
                    &self.event,
                    ConsentEventOutcome::Undelivered {
                        attempts,
                        reason: &reason,
                    },
                );
                crate::metrics::consent_event(ConsentEvent::Undelivered);
            }
        }
    }
}

/// The service's refusal (RFC 8935 section 2.4): `{"err": ..., "description": ...}`, read
/// from at most [`MAX_ERROR_BODY`] bytes. A 400 without it is a refusal all the same, whose
/// code is unknown.
async fn refusal(mut response: reqwest::Response) -> TryError {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(MAX_ERROR_BODY);
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(serde_json::Value::as_str)
            .map(|s| s.chars().take(MAX_DESCRIPTION).collect::<String>())
    };
    TryError::Refused {
        err: field("err").unwrap_or_else(|| "unknown".to_owned()),
        description: field("description").unwrap_or_default(),
    }
}
