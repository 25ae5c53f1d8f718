//! [`AtProvider`]: the person comes back from the provider. The login's state is taken once;
//! the provider's answer is checked, its code redeemed and its ID token validated strictly
//! (`crate::upstream`); the trust framework decides what is released, and the person goes on
//! to the notice-and-consent page.

use time::OffsetDateTime;
use trust_framework::{Lang, Refusal, Release, UpstreamAssertion, release};

use super::ending::{release_refused, store_failed, upstream_failed};
use super::state::{AtProvider, AwaitingConsent, Choosing, Granted, Pending, SessionLink};
use super::{Access, Failure, Login, kept};
use crate::app::Broker;
use crate::audit::{Event, list};
use crate::http::browser::{self, random_token};
use crate::metrics::{LoginLeg, LoginOutcome};
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::store::Kind;
use crate::upstream::CodeRedemption;

/// The provider's answer at `/callback`, as the browser brought it.
#[derive(Debug, Default)]
pub struct ProviderAnswer {
    pub code: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl AtProvider {
    /// Takes the login waiting at the provider under `txn` (the upstream `state`): one time,
    /// whatever happens next. Another browser's return spends it too, and is audited.
    pub async fn take(
        broker: &Broker,
        txn: &str,
        cookie: Option<&str>,
        lang: Lang,
    ) -> Result<Self, Failure> {
        let at: AtProvider = kept(broker, Kind::AtProvider, txn, lang, Access::Take).await?;
        if !browser::matches_cookie(&at.login.browser, cookie) {
            // An injected or stolen callback: worth an auditor's attention.
            broker.audit(Event::CallbackRefused {
                txn,
                reason: "another browser",
            });
            return Err(Failure::page(
                at.login.lang,
                OAuthError::invalid_request("this sign-in was started in another browser"),
            )
            .with_back(&at.login.request.return_to.redirect_uri));
        }
        Ok(at)
    }

    /// The provider answered: on to the person's decision, or back to the picker without the
    /// provider when it fell short of the level and others remain.
    /// `existing` is the browser's session, if any: renewed by this sign-in when it is the
    /// same person's at the same provider, ended otherwise.
    pub async fn returned(
        self,
        broker: &Broker,
        answer: ProviderAnswer,
        existing: Option<crate::session::Session>,
        now: OffsetDateTime,
    ) -> Result<Returned, Failure> {
        let AtProvider {
            login,
            candidate,
            leg,
        } = self;
        let txn = login.txn.as_str();
        let return_to = &login.request.return_to;
        // The newest registry, for this whole step: a change made after this check stops the
        // release at its commit (`crate::login::code`).
        let registry = broker.fresh_registry().await;
        // From here the login at this provider ends in this request or on the consent page;
        // any return that does not say how it ended counts as an error.
        let mut tally = LoginLeg::new(&registry, &candidate.provider_id);
        // The provider's leg did not give a usable login: a mix-up, a forged or replayed token
        // or an unreachable provider shows in the trail under the login's txn, then the
        // service gets the OAuth error.
        let fail = |code: ErrorCode, d: String| {
            let error = OAuthError::new(code, d);
            upstream_failed(broker, txn, &candidate.provider_id, &error);
            Failure::to_service(return_to, error)
        };
        let Some(provider) = registry.provider(&candidate.provider_id) else {
            return Err(fail(
                ErrorCode::AccessDenied,
                "the identity provider is no longer registered".into(),
            ));
        };
        // RFC 9207: a response that names another issuer is a mix-up attack or a misrouting.
        if let Some(iss) = &answer.iss
            && iss != &provider.issuer
        {
            return Err(fail(
                ErrorCode::ServerError,
                format!(
                    "the authorization response came from {iss:?}, not {:?}",
                    provider.issuer
                ),
            ));
        }
        if let Some(error) = &answer.error {
            let code = if error == "temporarily_unavailable" {
                ErrorCode::TemporarilyUnavailable
            } else {
                ErrorCode::AccessDenied
            };
            let said = answer
                .error_description
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            broker.audit(Event::UpstreamError {
                txn,
                provider: &provider.id,
                upstream_error: error,
            });
            tally.end(LoginOutcome::UpstreamError);
            return Err(Failure::to_service(
                return_to,
                OAuthError::new(
                    code,
                    format!("the identity provider answered {error}{said}"),
                ),
            ));
        }
        let code = answer.code.as_deref().ok_or_else(|| {
            fail(
                ErrorCode::ServerError,
                "the identity provider returned no code".into(),
            )
        })?;
        let secret = broker
            .secrets
            .resolve(&provider.client_secret)
            .map_err(|e| {
                tracing::error!(provider = %provider.id, error = %e, "provider credentials unavailable");
                fail(ErrorCode::ServerError, "the broker's credentials for this provider are unavailable".into())
            })?;
        let wanted: Vec<String> = candidate
            .attributes
            .iter()
            .map(|a| provider.claim_of_attribute(*a).to_owned())
            .collect();
        let callback_url = broker.callback_url();
        let redemption = CodeRedemption {
            redirect_uri: &callback_url,
            code,
            pkce_verifier: &leg.pkce_verifier,
            nonce: &leg.nonce,
        };
        let slot = crate::http::limits::upstream_slot(broker)
            .await
            .map_err(|e| {
                tally.end(LoginOutcome::Error);
                upstream_failed(broker, txn, &provider.id, &e);
                Failure::to_service(return_to, e)
            })?;
        let signed_in = broker
            .upstream
            .finish(provider, &secret, &redemption, now, |claims| {
                wanted.iter().any(|c| !claims.contains_key(c))
            })
            .await
            .map_err(|e| {
                tally.end(LoginOutcome::UpstreamError);
                let error = e.to_oauth();
                upstream_failed(broker, txn, &provider.id, &error);
                Failure::to_service(return_to, error)
            })?;
        drop(slot);

        // A service that asked for a fresh sign-in gets one the provider vouches for, or none.
        let sent_at =
            OffsetDateTime::from_unix_timestamp(leg.sent_at).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let auth_time = signed_in
            .auth_time
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
        if let Err(refusal) =
            trust_framework::policy::check_freshness(login.request.max_age, sent_at, auth_time)
        {
            release_refused(broker, txn, &provider.id, &refusal);
            tally.end(LoginOutcome::Refused);
            return Err(Failure::to_service(
                return_to,
                OAuthError::from_refusal(&refusal),
            ));
        }

        let assertion = UpstreamAssertion {
            provider_id: provider.id.clone(),
            subject: signed_in.subject.clone(),
            acr: signed_in.acr.clone(),
            claims: signed_in.claims.clone(),
        };
        let signed = Signed {
            auth_time: auth_time.map(OffsetDateTime::unix_timestamp),
            verified_at: auth_time.unwrap_or(now).unix_timestamp(),
        };
        let released = match judge(broker, &registry, &login, &candidate, &assertion, now) {
            Ok(released) => released,
            Err(Judged::Refused(refusal)) => {
                tally.end(LoginOutcome::Refused);
                // Below the required level at this provider: offer the others that could meet it.
                if matches!(refusal, Refusal::LevelNotMet { .. })
                    && let Some(others) = offer_others(broker, &login, &provider.id).await?
                {
                    return Ok(Returned::new(others));
                }
                return Err(Failure::to_service(
                    return_to,
                    OAuthError::from_refusal(&refusal),
                ));
            }
            Err(Judged::Failed(failure)) => return Err(failure),
        };
        // The person is signed in: the session starts (or is renewed) before the page, so a
        // person who refuses consent here is still signed in for the next service.
        let sign_in = crate::session::SignIn {
            provider_id: provider.id.clone(),
            subject: signed_in.subject.clone(),
            upstream_sid: signed_in.sid.clone(),
            id_token: signed_in.id_token.clone(),
            acr: signed_in.acr.clone(),
            level: released.level(),
            auth_time: signed.auth_time,
            claims: signed_in.claims,
        };
        let started = crate::session::Session::start(
            broker,
            existing,
            txn,
            sign_in,
            login.browser.clone(),
            login.lang,
            now,
        )
        .await
        .map_err(|e| {
            tally.end(LoginOutcome::Error);
            Failure::page(login.lang, store_failed(broker, txn, &e))
        })?;
        let link = SessionLink {
            sid: started.session.sid.clone(),
            expires_at: started.session.expires_at,
        };
        let awaiting = awaiting(
            broker,
            &registry,
            login,
            &candidate,
            &released,
            &signed_in.subject,
            signed,
            Some(link),
        );
        let login = awaiting.ask(broker, tally, now).await?;
        Ok(Returned {
            login,
            started: started.cookie,
        })
    }
}

/// How a return from the provider goes on: the next state, and the session cookie to set
/// when a session started.
#[derive(Debug)]
pub struct Returned {
    pub login: Login,
    pub started: Option<crate::session::cookie::SessionCookie>,
}

impl Returned {
    fn new(login: Login) -> Self {
        Self {
            login,
            started: None,
        }
    }
}

/// When the person signed in, as the release is dated.
#[derive(Debug, Clone, Copy)]
pub(super) struct Signed {
    /// The provider's `auth_time`, if it said.
    pub auth_time: Option<i64>,
    /// When the identity was verified: the provider's sign-in, or the broker's check.
    pub verified_at: i64,
}

/// Why [`judge`] released nothing.
pub(super) enum Judged {
    /// The trust framework refused (audited as `release.refused`).
    Refused(Refusal),
    /// The service is no longer active, or the like: the failure is ready.
    Failed(Failure),
}

/// What the trust framework releases of `assertion` for this login, by the registry in force,
/// audited (`release.granted` or `release.refused`).
pub(super) fn judge(
    broker: &Broker,
    registry: &trust_framework::Registry,
    login: &Pending,
    candidate: &trust_framework::Candidate,
    assertion: &UpstreamAssertion,
    now: OffsetDateTime,
) -> Result<Release, Judged> {
    let txn = login.txn.as_str();
    // The registry may have changed since /authorize: release checks it again now.
    let released = release(registry, candidate, assertion, now).map_err(|refusal| {
        release_refused(broker, txn, &assertion.provider_id, &refusal);
        Judged::Refused(refusal)
    })?;
    let Some(rp) = registry
        .relying_party(&login.request.client_id)
        .filter(|rp| rp.status.is_active())
    else {
        let refusal = "the relying party is no longer active";
        release_refused(broker, txn, &assertion.provider_id, &refusal);
        return Err(Judged::Failed(Failure::to_service(
            &login.request.return_to,
            OAuthError::new(ErrorCode::UnauthorizedClient, refusal),
        )));
    };
    broker.audit(Event::ReleaseGranted {
        txn,
        client: &rp.client_id,
        provider: &assertion.provider_id,
        agreement: released.agreement_id(),
        agreement_version: released.agreement_version(),
        level_required: candidate.required_level.acr(),
        level_achieved: released.level().acr(),
        released: list(released.attributes().keys().map(|a| a.name())),
        withheld: list(released.withheld().iter().map(|a| a.name())),
    });
    Ok(released)
}

/// The login waiting for the person's decision on `released`, for the provider's
/// `upstream_subject`.
#[allow(clippy::too_many_arguments)]
pub(super) fn awaiting(
    broker: &Broker,
    registry: &trust_framework::Registry,
    login: Pending,
    candidate: &trust_framework::Candidate,
    released: &Release,
    upstream_subject: &str,
    signed: Signed,
    session: Option<SessionLink>,
) -> AwaitingConsent {
    let sector = registry
        .relying_party(&login.request.client_id)
        .map(|rp| rp.sector_identifier.as_str())
        .unwrap_or_default();
    let provider_id = released.provider_id();
    let granted = Granted {
        provider_id: provider_id.to_owned(),
        jurisdiction: released.jurisdiction(),
        agreement_id: released.agreement_id().to_owned(),
        agreement_version: released.agreement_version(),
        legal_basis: candidate.legal_basis,
        level: released.level(),
        subject: broker
            .pairwise
            .subject(sector, provider_id, upstream_subject),
        person_key: broker.pairwise.person_key(provider_id, upstream_subject),
        auth_time: signed.auth_time,
        verified_at: signed.verified_at,
        attributes: released
            .attributes()
            .iter()
            .map(|(a, v)| (*a, v.clone()))
            .collect(),
        withheld: released.withheld().clone(),
    };
    let Pending {
        txn,
        request,
        lang,
        browser,
        ..
    } = login;
    AwaitingConsent {
        txn,
        client_id: request.client_id,
        return_to: request.return_to,
        nonce: request.nonce,
        code_challenge: request.code_challenge,
        lang,
        browser,
        granted,
        session,
        prompt: request.prompt,
    }
}

/// Shows the picker again without the provider that fell short, if any other candidate is left.
/// The retry is a login of its own (a fresh txn, as the refused one is spent); its
/// `step_up.offered` event names the refused txn, so that an auditor can follow the person
/// from one to the other.
async fn offer_others(
    broker: &Broker,
    refused: &Pending,
    failed: &str,
) -> Result<Option<Login>, Failure> {
    let mut login = refused.clone();
    login
        .decision
        .candidates
        .retain(|c| c.provider_id != failed);
    if login.decision.candidates.is_empty() {
        return Ok(None);
    }
    login.txn = random_token();
    let choosing = Choosing {
        login,
        csrf: random_token(),
    };
    choosing.keep(broker).await?;
    broker.audit(Event::StepUpOffered {
        txn: &choosing.login.txn,
        refused_txn: &refused.txn,
        failed_provider: failed,
        offered: list(
            choosing
                .login
                .decision
                .candidates
                .iter()
                .map(|c| c.provider_id.as_str()),
        ),
    });
    Ok(Some(Login::Choosing {
        choosing,
        step_up: true,
    }))
}
