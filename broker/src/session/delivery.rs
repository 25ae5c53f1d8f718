//! Delivering logout tokens to services (Back-Channel Logout 1.0 section 2.5), through the
//! broker's delivery queues (`crate::delivery`), so that a session's end never waits on a
//! service. A service that answers anything but 200 (or 204) is tried again.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Served;
use super::logout_token;
use crate::app::Broker;
use crate::audit::Event;
use crate::delivery::{Item, TryError};
use crate::http::browser::random_token;
use crate::records::millis;
use crate::store::{Kind, StoreError};

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

impl Item for Delivery {
    const KIND: Kind = Kind::LogoutDelivery;

    fn attempts(&mut self) -> &mut u32 {
        &mut self.attempts
    }

    async fn attempt(&self, broker: &Broker, now: OffsetDateTime) -> Result<(), TryError> {
        const WHAT: &str = "back-channel logout";
        let registry = broker.registry();
        let rp = registry
            .relying_party(&self.client_id)
            .ok_or(TryError::NotRegistered(WHAT))?;
        let uri = rp
            .backchannel_logout_uri
            .clone()
            .ok_or(TryError::NotRegistered(WHAT))?;
        let claims = logout_token::claims(
            &broker.issuer,
            &self.client_id,
            &self.subject,
            &self.sid,
            now,
        );
        let token = broker
            .keys
            .sign_typed(rp.id_token_alg, logout_token::TYP, claims)
            .map_err(|e| TryError::Sign(e.to_string()))?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("logout_token", &token)
            .finish();
        let response =
            crate::delivery::post(broker, uri, "application/x-www-form-urlencoded", None, body)
                .await?;
        // Section 2.8: 200 (or 204, which some services answer) is success.
        match response.status().as_u16() {
            200 | 204 => Ok(()),
            other => Err(TryError::Status(other)),
        }
    }

    fn delivered(&self, broker: &Broker, attempt: u32) {
        broker.audit(Event::LogoutDelivered {
            sid: &self.sid,
            client: &self.client_id,
            attempt,
        });
        crate::metrics::logout_token(crate::metrics::LogoutToken::Delivered);
    }

    fn retried(&self, error: &TryError) {
        tracing::info!(client = %self.client_id, attempt = self.attempts, error = %error, "logout token not delivered; will retry");
        crate::metrics::logout_token(crate::metrics::LogoutToken::Retried);
    }

    fn given_up(&self, broker: &Broker, attempts: u32, error: &TryError) {
        let reason = error.to_string();
        broker.audit(Event::LogoutUndelivered {
            sid: &self.sid,
            client: &self.client_id,
            attempts,
            reason: &reason,
        });
        crate::metrics::logout_token(crate::metrics::LogoutToken::Undelivered);
    }
}
