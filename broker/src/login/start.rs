//! The first transition: the service's checked request, decided by the trust framework,
//! becomes a login at the picker, or at the provider at once when the choice is already made.

use time::OffsetDateTime;
use trust_framework::{Candidate, Lang, NotReused, Registry, RequestContext, SessionFacts, decide};

use super::request::AuthorizeRequest;
use super::state::{Choosing, Pending};
use super::{Failure, Login, provider};
use crate::app::Broker;
use crate::audit::{Event, list};
use crate::http::browser::random_token;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::session::Session;

/// Starts a login in the browser whose binding cookie hashes to `browser`. `remembered` is the
/// provider that browser asked the broker to remember, if any: used only when it names an
/// eligible provider and the service neither hinted another nor asked to choose again.
/// `session` is the browser's session, if any: it stands in for the sign-in when the trust
/// framework says it may (`super::reuse`).
#[allow(clippy::too_many_arguments)]
pub async fn start(
    broker: &Broker,
    registry: &Registry,
    request: AuthorizeRequest,
    lang: Lang,
    browser: String,
    remembered: Option<&str>,
    session: Option<Session>,
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
    let prompt = service.prompt;
    let login = Pending {
        txn,
        request: service,
        lang,
        decision,
        browser,
    };
    if let Some(session) = session {
        match reusable_for(registry, &session, &login, broker.sessions.rules(), now) {
            Ok(candidate) => {
                let candidate = candidate.clone();
                return super::reuse::resume(broker, registry, login, candidate, session, now)
                    .await;
            }
            Err(why) => {
                broker.audit(Event::SessionNotReused {
                    sid: &session.sid,
                    txn: &login.txn,
                    reason: why.reason(),
                });
                crate::metrics::session_not_reused(why.reason());
            }
        }
    }
    if prompt.none {
        return Err(without_interaction(
            broker,
            (&login.txn, &login.request.return_to),
            ErrorCode::LoginRequired,
            "the person must sign in: there is no session that meets this request",
        ));
    }
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

/// The candidate the browser's session stands in for, as the trust framework judges it.
fn reusable_for<'d>(
    registry: &Registry,
    session: &Session,
    login: &'d Pending,
    rules: trust_framework::ReuseRules,
    now: OffsetDateTime,
) -> Result<&'d Candidate, NotReused> {
    let provider = registry
        .provider(&session.provider_id)
        .ok_or(NotReused::ProviderNotEligible)?;
    let attested = session.attested(provider);
    let facts = SessionFacts {
        provider_id: &session.provider_id,
        level: session.level,
        auth_time: session.auth_time(),
        attributes: &attested,
    };
    let request = &login.request;
    trust_framework::reusable(
        &facts,
        &login.decision,
        request.max_age,
        request.prompt.login,
        rules,
        now,
    )
}

/// `prompt=none` and a page would be needed: the login ends without one, with `code`, and its
/// trail says so.
pub(super) fn without_interaction(
    broker: &Broker,
    (txn, return_to): (&str, &super::ReturnTo),
    code: ErrorCode,
    description: &str,
) -> Failure {
    let error = OAuthError::new(code, description);
    broker.audit(Event::LoginFailed {
        txn,
        error: code.as_str(),
        reason: &error.description,
    });
    Failure::to_service(return_to, error)
}
