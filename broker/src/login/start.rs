//! The first transition: the service's checked request, decided by the trust framework,
//! becomes a login at the picker, or at the provider at once when the choice is already made.

use time::OffsetDateTime;
use trust_framework::{Lang, Registry, RequestContext, decide};

use super::request::AuthorizeRequest;
use super::state::{Choosing, Pending};
use super::{Failure, Login, provider};
use crate::app::Broker;
use crate::audit::{Event, list};
use crate::http::browser::random_token;
use crate::oidc::error::OAuthError;

/// Starts a login in the browser whose binding cookie hashes to `browser`. `remembered` is the
/// provider that browser asked the broker to remember, if any: used only when it names an
/// eligible provider and the service neither hinted another nor asked to choose again.
pub async fn start(
    broker: &Broker,
    registry: &Registry,
    request: AuthorizeRequest,
    lang: Lang,
    browser: String,
    remembered: Option<&str>,
    now: OffsetDateTime,
) -> Result<Login, Failure> {
    let AuthorizeRequest {
        service,
        hint,
        select_account,
    } = request;
    crate::http::limits::client(broker, &service.client_id)
        .await
        .map_err(|r| Failure::to_service(&service.return_to, r.to_oauth("from this service")))?;

    let context = RequestContext {
        client_id: service.client_id.clone(),
        attributes: service.attributes.clone(),
        level: service.level,
        hint: hint.clone(),
    };
    let decision = decide(registry, &context, now).map_err(|refusal| {
        broker.audit(Event::PolicyRefused {
            client: &service.client_id,
            code: refusal.error_code(),
            refusal: &refusal,
        });
        crate::metrics::policy_refused(&refusal);
        Failure::to_service(&service.return_to, OAuthError::from_refusal(&refusal))
    })?;
    let txn = random_token();
    broker.audit(Event::PolicyDecided {
        txn: &txn,
        client: &service.client_id,
        eligible: list(decision.candidates.iter().map(|c| c.provider_id.as_str())),
        level_required: decision.required_level().map(|l| l.acr()),
        attributes_requested: list(service.attributes.iter().map(|a| a.name())),
        attributes_refused: list(
            decision
                .candidates
                .first()
                .into_iter()
                .flat_map(|c| c.refused.iter().map(|a| a.name())),
        ),
    });

    let remembered = (hint.is_none() && !select_account)
        .then_some(remembered)
        .flatten()
        .and_then(|id| decision.candidate(id))
        .cloned();
    let only = match decision.candidates.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    };
    let login = Pending {
        txn,
        request: service,
        lang,
        decision,
        browser,
    };
    if let Some(only) = only {
        return provider::send(broker, registry, login, only, now).await;
    }
    if let Some(chosen) = remembered {
        broker.audit(Event::ProviderRemembered {
            txn: &login.txn,
            provider: &chosen.provider_id,
        });
        return provider::send(broker, registry, login, chosen, now).await;
    }
    let choosing = Choosing {
        login,
        csrf: random_token(),
    };
    choosing.keep(broker).await?;
    Ok(Login::Choosing {
        choosing,
        step_up: false,
    })
}
