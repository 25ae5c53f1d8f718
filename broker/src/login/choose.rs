//! [`Choosing`]: the picker is shown, and the person's choice sends them to a provider.

use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use trust_framework::Lang;

use super::abandoned::{Stage, Watch};
use super::ending::store_failed;
use super::state::Choosing;
use super::{Access, Failure, Login, kept, provider};
use crate::app::Broker;
use crate::audit::Event;
use crate::http::browser;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::store::Kind;

/// The person's choice on the picker.
#[derive(Debug)]
pub struct Choice<'a> {
    pub provider: &'a str,
    /// The form's anti-CSRF token.
    pub csrf: &'a str,
    /// "Remember my choice on this device" (the browser keeps it, the broker does not).
    pub remember: bool,
}

impl Choosing {
    /// Keeps the login at the picker, under its txn, watched until the person chooses.
    pub(super) async fn keep(&self, broker: &Broker) -> Result<(), Failure> {
        let watch = Watch::new(
            &self.login.txn,
            Stage::ChoosingProvider,
            &self.login.request.client_id,
            None,
        );
        super::abandoned::keep(broker, Kind::Choosing, &self.login.txn, self, &watch)
            .await
            .map_err(|e| Failure::page(self.login.lang, store_failed(broker, &self.login.txn, &e)))
    }

    /// The login at the picker, for the browser that started it only (the picker may be shown
    /// again, for the language switch: it is read, not taken).
    pub async fn load(
        broker: &Broker,
        txn: &str,
        cookie: Option<&str>,
        lang: Lang,
    ) -> Result<Self, Failure> {
        let choosing: Choosing = kept(broker, Kind::Choosing, txn, lang, Access::Read).await?;
        if !browser::matches_cookie(&choosing.login.browser, cookie) {
            return Err(Failure::expired(lang));
        }
        Ok(choosing)
    }

    /// The person chose: the picker's state is taken (a second post of the same form finds
    /// nothing) and the person is sent to the provider. `lang` is the picker's language, kept
    /// for the rest of the login: the person may have switched on the picker.
    pub async fn choose(
        mut self,
        broker: &Broker,
        choice: &Choice<'_>,
        lang: Lang,
        now: OffsetDateTime,
    ) -> Result<Login, Failure> {
        if !bool::from(self.csrf.as_bytes().ct_eq(choice.csrf.as_bytes())) {
            return Err(Failure::page(
                lang,
                OAuthError::invalid_request(
                    "the form was not issued by this broker (CSRF check failed)",
                ),
            ));
        }
        let Some(candidate) = self.login.decision.candidate(choice.provider).cloned() else {
            return Err(Failure::to_service(
                &self.login.request.return_to,
                OAuthError::new(
                    ErrorCode::AccessDenied,
                    "the chosen provider was not offered for this request",
                ),
            ));
        };
        let taken: Option<Choosing> = broker
            .store
            .take(Kind::Choosing, &self.login.txn)
            .await
            .map_err(|e| Failure::page(lang, store_failed(broker, &self.login.txn, &e)))?;
        if taken.is_none() {
            return Err(Failure::expired(lang));
        }
        self.login.lang = lang;
        self.login.request.return_to.lang = lang;
        let registry = broker.fresh_registry().await;
        broker.audit(Event::ProviderChosen {
            txn: &self.login.txn,
            provider: &candidate.provider_id,
            remembered: choice.remember,
        });
        provider::send(broker, &registry, self.login, candidate, now).await
    }
}
