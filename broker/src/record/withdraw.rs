//! Withdrawing a remembered consent from the record (PCTF CORV.02 to CORV.05): only after a
//! fresh sign-in at the person's provider (`[record] fresh_minutes`), for a consent of the
//! person's own; the withdrawal record names the date, the reason from a short list, and who
//! (the fresh sign-in); the service that received information under it is told by a signed
//! event (`crate::secevent`), and the next login to it asks again.
//!
//! All or nothing: the event is queued (due a little later) before the record is written, and
//! dropped if the record could not be; the event's sender checks the record again before each
//! try. A store or records failure withdraws nothing, and the person is told to try again.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use trust_framework::WithdrawalReason;

use super::RecordSession;
use crate::app::Broker;
use crate::audit::Event;
use crate::records::{ConsentKey, RecordsError, millis};
use crate::store::StoreError;

/// How long the queued event waits for its record to be written before it is due.
const HOLD: Duration = Duration::from_secs(10);

/// A withdrawal the person asked for: which consent, why, and whose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    /// The person who asked (their record session's key).
    pub person_key: String,
    pub client_id: String,
    pub agreement_id: String,
    pub agreement_version: u32,
    /// A [`WithdrawalReason`] code.
    pub reason: String,
}

impl Withdrawal {
    /// From the form's consent key (`client agreement version`) and reason code.
    pub fn from_form(person_key: &str, consent: &str, reason: &str) -> Option<Self> {
        let mut parts = consent.split(' ');
        let (client_id, agreement_id, version) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let reason = WithdrawalReason::parse(reason)?;
        Some(Self {
            person_key: person_key.to_owned(),
            client_id: client_id.to_owned(),
            agreement_id: agreement_id.to_owned(),
            agreement_version: version.parse().ok()?,
            reason: reason.code().to_owned(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WithdrawError {
    #[error("the sign-in was another person's")]
    AnotherPerson,
    #[error("no remembered consent of this person matches")]
    NotInForce,
    #[error("the state store is unavailable: {0}")]
    Store(#[from] StoreError),
    #[error("the records are unavailable: {0}")]
    Records(#[from] RecordsError),
}

impl WithdrawError {
    pub fn advice(&self) -> (&'static str, &'static str) {
        match self {
            Self::AnotherPerson => (
                "You signed in as someone else than the person whose record was open, so nothing was withdrawn.",
                "La connexion a été faite au nom d'une autre personne que celle du dossier ouvert; rien n'a donc été retiré.",
            ),
            Self::NotInForce => (
                "This consent is no longer remembered: it was already withdrawn or has ended. Nothing more to do.",
                "Ce consentement n'est plus mémorisé\u{a0}: il a déjà été retiré ou a pris fin. Vous n'avez rien d'autre à faire.",
            ),
            Self::Store(_) | Self::Records(_) => (
                "Your consent could not be withdrawn right now. Nothing was changed. Try again in a few minutes.",
                "Votre consentement n'a pas pu être retiré pour le moment. Rien n'a été modifié. Réessayez dans quelques minutes.",
            ),
        }
    }
}

/// A withdrawal done.
#[derive(Debug, Clone)]
pub struct Withdrawn {
    /// Whether the service is to be told (it registered where to receive events).
    pub notified: bool,
}

/// Withdraws the consent `w` names, for the person of `session`, whose sign-in is fresh.
pub async fn withdraw(
    broker: &Broker,
    session: &RecordSession,
    w: &Withdrawal,
    now: OffsetDateTime,
) -> Result<Withdrawn, WithdrawError> {
    if w.person_key != session.person_key {
        return Err(WithdrawError::AnotherPerson);
    }
    let in_force = broker
        .records
        .consents_in_force(&session.person_key, now)
        .await?
        .into_iter()
        .find(|c| {
            c.client_id == w.client_id
                && c.agreement_id == w.agreement_id
                && c.agreement_version == w.agreement_version
        })
        .ok_or(WithdrawError::NotInForce)?;
    let event = crate::secevent::ConsentWithdrawn {
        client_id: in_force.client_id.clone(),
        subject: in_force.subject.clone(),
        agreement_id: in_force.agreement_id.clone(),
        agreement_version: in_force.agreement_version,
        attributes: in_force.attributes.clone(),
        withdrawn_at_ms: millis(now),
        reason: w.reason.clone(),
    };
    let queued = crate::secevent::queue(broker, &event, now + HOLD).await?;
    let key = ConsentKey {
        subject: &in_force.subject,
        client_id: &in_force.client_id,
        agreement_id: &in_force.agreement_id,
        agreement_version: in_force.agreement_version,
    };
    let written = broker
        .records
        .withdraw_consent_after(key, now, Some(&w.reason), Some(&session.sign_in))
        .await;
    let written = match written {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(WithdrawError::NotInForce),
        Err(e) => Err(WithdrawError::Records(e)),
    };
    if let Err(e) = written {
        if let Some(id) = &queued
            && let Err(store) = crate::secevent::cancel(broker, id, &event).await
        {
            // The sender checks the record before each try: an event whose withdrawal was not
            // written is never sent.
            tracing::warn!(error = %store, "a withdrawal's event could not be dropped");
        }
        return Err(e);
    }
    if let Some(id) = &queued
        && let Err(e) = crate::secevent::release_now(broker, id, &event, now).await
    {
        // It stays due a few seconds later.
        tracing::warn!(error = %e, "a withdrawal's event could not be made due now");
    }
    broker.audit(Event::ConsentWithdrawn {
        sign_in: &session.sign_in,
        client: &in_force.client_id,
        agreement: &in_force.agreement_id,
        agreement_version: in_force.agreement_version,
        reason: &w.reason,
        notified: queued.is_some(),
    });
    crate::metrics::consent_withdrawn();
    Ok(Withdrawn {
        notified: queued.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_names_a_consent_and_a_listed_reason() {
        let w = Withdrawal::from_form("pk", "rp agreement-1 3", "changed_mind").unwrap();
        assert_eq!(
            (
                w.client_id.as_str(),
                w.agreement_id.as_str(),
                w.agreement_version
            ),
            ("rp", "agreement-1", 3)
        );
        assert!(Withdrawal::from_form("pk", "rp agreement-1 3", "because").is_none());
        assert!(Withdrawal::from_form("pk", "rp agreement-1", "other").is_none());
        assert!(Withdrawal::from_form("pk", "rp a 3 x", "other").is_none());
        assert!(Withdrawal::from_form("pk", "rp a three", "other").is_none());
    }
}
