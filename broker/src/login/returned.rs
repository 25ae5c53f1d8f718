//! `/callback`: the provider sends the person back. The pending login is taken once; the
//! provider's ID token is validated strictly; the trust framework decides what is released.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use trust_framework::{Attribute, Lang, UpstreamAssertion, release};

use crate::app::Broker;
use crate::audit;
use crate::http::browser;
use crate::login::abandoned::{Stage, Watch};
use crate::login::consent::PendingConsent;
use crate::login::ending::{Failure, upstream_failed};
use crate::login::state::{CodeGrant, PendingLogin};
use crate::metrics::{LoginLeg, LoginOutcome};
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::id_token;
use crate::store::Kind;
use crate::upstream::CodeRedemption;

#[derive(Debug, Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn callback(
    State(broker): State<Broker>,
    Query(q): Query<CallbackParams>,
    headers: HeaderMap,
) -> Response {
    let lang = crate::http::lang::negotiate(None, None, &headers);
    match complete(&broker, q, &headers, lang).await {
        Ok(r) => r,
        Err(f) => f.into_response(&broker, format!("/?lang={}", lang.other().code())),
    }
}

async fn complete(
    broker: &Broker,
    q: CallbackParams,
    headers: &HeaderMap,
    lang: Lang,
) -> Result<Response, Failure> {
    let expired = || {
        Failure::page(
            lang,
            OAuthError::invalid_request(
                "this sign-in has expired or was already completed; start again from the service",
            ),
        )
    };
    let txn = q.state.as_deref().ok_or_else(expired)?;
    // One-time: whatever happens next, this state cannot be used again.
    let pending: PendingLogin = broker
        .store
        .take(Kind::Pending, txn)
        .await
        .map_err(|e| Failure::page(lang, OAuthError::from_store(&e)))?
        .ok_or_else(expired)?;
    let lang = pending.lang;
    if !browser::matches(&pending.browser, headers) {
        // The pending login is spent: an injected or stolen callback ends it, and that is
        // worth an auditor's attention.
        tracing::warn!(target: "audit", event = "callback.refused", txn, reason = "another browser");
        return Err(Failure::page(
            lang,
            OAuthError::invalid_request("this sign-in was started in another browser"),
        ));
    }
    let Some(leg) = pending.upstream.clone() else {
        return Err(expired());
    };
    let registry = broker.fresh_registry().await;
    // From here the login at this provider ends in this request or in the consent step; any
    // return that does not say how it ended counts as an error.
    let mut tally = LoginLeg::new(&registry, &leg.provider_id);
    // The provider's leg did not give a usable login: a mix-up, a forged or replayed token or
    // an unreachable provider shows in the audit trail under the login's txn, then the
    // relying party gets the OAuth error.
    let fail = |code: ErrorCode, d: String| {
        let error = OAuthError::new(code, d);
        upstream_failed(txn, &leg.provider_id, &error);
        Failure::to_rp(&pending, error)
    };
    let Some(provider) = registry.provider(&leg.provider_id) else {
        return Err(fail(
            ErrorCode::AccessDenied,
            "the identity provider is no longer registered".into(),
        ));
    };
    // RFC 9207: a response that names another issuer is a mix-up attack or a misrouting.
    if let Some(iss) = &q.iss
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
    if let Some(error) = &q.error {
        let code = if error == "temporarily_unavailable" {
            ErrorCode::TemporarilyUnavailable
        } else {
            ErrorCode::AccessDenied
        };
        let said = q
            .error_description
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        tracing::info!(target: "audit", event = "upstream.error", txn, provider = %provider.id, upstream_error = %error);
        tally.end(LoginOutcome::UpstreamError);
        return Err(Failure::to_rp(
            &pending,
            OAuthError::new(
                code,
                format!("the identity provider answered {error}{said}"),
            ),
        ));
    }
    let code = q.code.as_deref().ok_or_else(|| {
        fail(
            ErrorCode::ServerError,
            "the identity provider returned no code".into(),
        )
    })?;
    let candidate = pending
        .decision
        .candidate(&provider.id)
        .cloned()
        .ok_or_else(|| {
            fail(
                ErrorCode::AccessDenied,
                "the provider was not eligible for this request".into(),
            )
        })?;
    let secret = broker
        .secrets
        .resolve(&provider.client_secret)
        .map_err(|e| {
            tracing::error!(provider = %provider.id, error = %e, "provider credentials unavailable");
            fail(ErrorCode::ServerError, "the broker's credentials for this provider are unavailable".into())
        })?;
    let now = time::OffsetDateTime::now_utc();
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
            upstream_failed(txn, &provider.id, &e);
            Failure::to_rp(&pending, e)
        })?;
    let login = broker
        .upstream
        .finish(provider, &secret, &redemption, now, |claims| {
            wanted.iter().any(|c| !claims.contains_key(c))
        })
        .await
        .map_err(|e| {
            tally.end(LoginOutcome::UpstreamError);
            let error = e.to_oauth();
            upstream_failed(txn, &provider.id, &error);
            Failure::to_rp(&pending, error)
        })?;
    drop(slot);

    // A service that asked for a fresh sign-in gets one the provider vouches for, or none.
    let sent_at = time::OffsetDateTime::from_unix_timestamp(leg.sent_at)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let auth_time = login
        .auth_time
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok());
    if let Err(refusal) =
        trust_framework::policy::check_freshness(pending.max_age, sent_at, auth_time)
    {
        release_refused(txn, &provider.id, &refusal);
        tally.end(LoginOutcome::Refused);
        return Err(Failure::to_rp(&pending, OAuthError::from_refusal(&refusal)));
    }

    let assertion = UpstreamAssertion {
        provider_id: provider.id.clone(),
        subject: login.subject.clone(),
        acr: login.acr.clone(),
        claims: login.claims.clone(),
    };
    // The registry may have changed since /authorize: release re-checks it now.
    let registry = broker.fresh_registry().await;
    let released = release(
        &registry,
        &candidate,
        &assertion,
        time::OffsetDateTime::now_utc(),
    );
    let released = match released {
        Ok(r) => r,
        Err(refusal) => {
            release_refused(txn, &provider.id, &refusal);
            tally.end(LoginOutcome::Refused);
            // Below the required level at this provider: offer the others that could meet it.
            if matches!(refusal, trust_framework::Refusal::LevelNotMet { .. })
                && let Some(page) =
                    offer_others(broker, &registry, &pending, txn, &provider.id).await?
            {
                return Ok(page);
            }
            return Err(Failure::to_rp(&pending, OAuthError::from_refusal(&refusal)));
        }
    };
    let rp = registry
        .relying_party(&pending.client_id)
        .filter(|rp| rp.status.is_active())
        .ok_or_else(|| {
            let refusal = "the relying party is no longer active";
            release_refused(txn, &provider.id, &refusal);
            Failure::to_rp(
                &pending,
                OAuthError::new(ErrorCode::UnauthorizedClient, refusal),
            )
        })?;
    tracing::info!(
        target: "audit",
        event = "release.granted",
        txn,
        client = %rp.client_id,
        provider = %provider.id,
        agreement = released.agreement_id(),
        agreement_version = released.agreement_version(),
        level_required = candidate.required_level.acr(),
        level_achieved = released.level().acr(),
        released = %audit::list(released.attributes().keys().map(|a: &Attribute| a.name())),
        withheld = %audit::list(released.withheld().iter().map(|a| a.name())),
    );

    let grant = CodeGrant {
        client_id: rp.client_id.clone(),
        redirect_uri: pending.redirect_uri.clone(),
        code_challenge: pending.code_challenge.clone(),
        nonce: pending.nonce.clone(),
        txn: txn.to_owned(),
        subject: broker
            .pairwise
            .subject(&rp.sector_identifier, &provider.id, &login.subject),
        acr: released.level().acr().to_owned(),
        auth_time: auth_time.map(time::OffsetDateTime::unix_timestamp),
        claims: id_token::released_claims(&released),
        // The time of the provider's sign-in, or, when it did not say, of the broker's check.
        verified_claims: id_token::verified_claims(
            &released,
            provider,
            txn,
            auth_time.unwrap_or(now),
        ),
    };
    let attributes: Vec<(Attribute, serde_json::Value)> = released
        .attributes()
        .iter()
        .map(|(a, v)| (*a, v.clone()))
        .collect();
    let pending_consent = PendingConsent {
        grant,
        redirect_uri: pending.redirect_uri.clone(),
        state: pending.state.clone(),
        provider_id: provider.id.clone(),
        agreement_id: released.agreement_id().to_owned(),
        agreement_version: released.agreement_version(),
        legal_basis: candidate.legal_basis,
        attributes,
        lang,
        browser: pending.browser.clone(),
    };
    crate::login::decide::ask(broker, &registry, pending_consent, tally).await
}

/// The audit event ending a login whose provider leg succeeded but whose release was refused.
fn release_refused(txn: &str, provider: &str, refusal: &dyn std::fmt::Display) {
    tracing::info!(target: "audit", event = "release.refused", txn, provider, %refusal);
}

/// Shows the picker again without the provider that fell short, if any other candidate is left.
/// The retry is a login of its own (a fresh txn, as the refused one is spent); its
/// `step_up.offered` event names the refused txn, so that an auditor can follow the person
/// from one to the other.
async fn offer_others(
    broker: &Broker,
    registry: &trust_framework::Registry,
    pending: &PendingLogin,
    refused_txn: &str,
    failed: &str,
) -> Result<Option<Response>, Failure> {
    let mut retry = pending.clone();
    retry
        .decision
        .candidates
        .retain(|c| c.provider_id != failed);
    if retry.decision.candidates.is_empty() {
        return Ok(None);
    }
    retry.upstream = None;
    retry.csrf = browser::random_token();
    let txn = browser::random_token();
    let watch = Watch::new(&txn, Stage::ChoosingProvider, &retry.client_id, None);
    crate::login::abandoned::keep(broker, Kind::Pending, &txn, &retry, &watch)
        .await
        .map_err(|e| Failure::page(retry.lang, OAuthError::from_store(&e)))?;
    tracing::info!(target: "audit", event = "step_up.offered", txn = %txn, refused_txn, failed_provider = failed,
        offered = %audit::list(retry.decision.candidates.iter().map(|c| c.provider_id.as_str())));
    Ok(Some(crate::http::pages::picker(
        retry.lang,
        registry,
        &retry.decision,
        &txn,
        &retry.csrf,
        Some(crate::http::pages::step_up_notice(retry.lang)),
    )))
}
