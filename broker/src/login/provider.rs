//! The transition to [`AtProvider`]: the person is sent to the chosen provider, with the
//! request the broker makes of it (the attributes and the level the candidate allows, the
//! service's hints and freshness; never the service's identity).

use time::OffsetDateTime;
use trust_framework::{Candidate, Registry};

use super::abandoned::{Stage, Watch};
use super::ending::{store_failed, upstream_failed};
use super::state::{AtProvider, Pending, UpstreamLeg};
use super::{Failure, Login};
use crate::app::Broker;
use crate::audit::{Event, list};
use crate::http::browser::random_token;
use crate::metrics::{self, LoginOutcome};
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::store::Kind;
use crate::upstream::AuthorizationRequest;

/// Sends the person to `candidate`'s provider. A failure ends the login, audited where it
/// happens (`upstream.failed`, or `login.failed` for the store).
pub(super) async fn send(
    broker: &Broker,
    registry: &Registry,
    login: Pending,
    candidate: Candidate,
    now: OffsetDateTime,
) -> Result<Login, Failure> {
    let to_service = |login: &Pending, error: OAuthError| {
        upstream_failed(broker, &login.txn, &candidate.provider_id, &error);
        Failure::to_service(&login.request.return_to, error)
    };
    let Some(provider) = registry.provider(&candidate.provider_id) else {
        return Err(to_service(
            &login,
            OAuthError::new(
                ErrorCode::AccessDenied,
                "the provider is no longer registered",
            ),
        ));
    };
    let leg = UpstreamLeg {
        nonce: random_token(),
        pkce_verifier: random_token(),
        sent_at: now.unix_timestamp(),
    };
    let request = AuthorizationRequest {
        redirect_uri: broker.callback_url(),
        state: login.txn.clone(),
        nonce: leg.nonce.clone(),
        pkce_verifier: leg.pkce_verifier.clone(),
        scopes: provider.upstream_scopes(&candidate.attributes),
        acr_values: candidate.acr_values.clone(),
        claims: provider.upstream_claims(&candidate.attributes),
        login_hint: login.request.login_hint.clone(),
        ui_locales: upstream_locales(login.lang),
        max_age: login.request.max_age,
    };
    let slot = match crate::http::limits::upstream_slot(broker).await {
        Ok(slot) => slot,
        Err(e) => {
            metrics::login(provider, LoginOutcome::Error);
            return Err(to_service(&login, e));
        }
    };
    let url = match broker.upstream.authorization_url(provider, &request).await {
        Ok(url) => url,
        Err(e) => {
            metrics::login(provider, LoginOutcome::UpstreamError);
            return Err(to_service(&login, e.to_oauth()));
        }
    };
    drop(slot);
    let at = AtProvider {
        login,
        candidate,
        leg,
    };
    let watch = Watch::new(
        &at.login.txn,
        Stage::AtProvider,
        &at.login.request.client_id,
        Some(&provider.id),
    );
    if let Err(e) =
        super::abandoned::keep(broker, Kind::AtProvider, &at.login.txn, &at, &watch).await
    {
        metrics::login(provider, LoginOutcome::Error);
        return Err(Failure::page(
            at.login.lang,
            store_failed(broker, &at.login.txn, &e),
        ));
    }
    broker.audit(Event::UpstreamSent {
        txn: &at.login.txn,
        provider: &provider.id,
        level_required: at.candidate.required_level.acr(),
        acr_values: list(&at.candidate.acr_values),
    });
    Ok(Login::AtProvider {
        at: Box::new(at),
        url,
    })
}

/// The person's language as the provider is asked to speak it: the one chosen on the broker's
/// pages (which may differ from the service's `ui_locales`), in its Canadian form first.
fn upstream_locales(lang: trust_framework::Lang) -> Vec<String> {
    vec![format!("{}-CA", lang.code()), lang.code().to_owned()]
}
