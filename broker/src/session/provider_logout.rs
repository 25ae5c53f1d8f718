//! `POST /backchannel-logout`: a provider says one of its sessions ended (OpenID Connect
//! Back-Channel Logout 1.0, the broker as the relying party). The token is verified as
//! strictly as an ID token (`crate::upstream::logout_token`), its `jti` is spent once, and
//! every broker session of that provider session (by `sid`, else by `sub`) ends, its services
//! told in turn. Answers 200 when done, 400 with an OAuth error for a token refused, 503 when
//! the store cannot say which sessions to end (the provider may retry).

use axum::extract::{RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{EndCause, ProviderRef, provider_key};
use crate::app::Broker;
use crate::audit::Event;
use crate::oidc::error::OAuthError;
use crate::store::Kind;
use crate::upstream::logout_token;

pub async fn receive(State(broker): State<Broker>, RawForm(body): RawForm) -> Response {
    match handle(&broker, &body).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err((provider, error)) => {
            broker.audit(Event::ProviderLogoutRefused {
                provider: provider.as_deref(),
                reason: &error.description,
            });
            error.into_response()
        }
    }
}

type Refused = (Option<String>, OAuthError);

async fn handle(broker: &Broker, body: &[u8]) -> Result<(), Refused> {
    let refuse = |provider: Option<&str>, why: String| {
        (
            provider.map(str::to_owned),
            OAuthError::invalid_request(why),
        )
    };
    let mut tokens = url::form_urlencoded::parse(body)
        .filter(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned());
    let (Some(token), None) = (tokens.next(), tokens.next()) else {
        return Err(refuse(None, "exactly one logout_token is required".into()));
    };
    let issuer = logout_token::claimed_issuer(&token)
        .ok_or_else(|| refuse(None, "the logout token is not a JWT with an issuer".into()))?;
    let registry = broker.fresh_registry().await;
    let provider = registry
        .providers()
        .iter()
        .find(|p| p.issuer == issuer)
        .ok_or_else(|| {
            refuse(
                None,
                "the logout token's issuer is not a registered provider".into(),
            )
        })?;
    let now = broker.now();
    let said = broker
        .upstream
        .verify_logout_token(provider, &token, now)
        .await
        .map_err(|e| refuse(Some(&provider.id), e.to_string()))?;
    let unavailable =
        |e: crate::store::StoreError| (Some(provider.id.clone()), OAuthError::from_store(&e));
    // Once: a replayed token ends nothing more. Kept as long as a token can be accepted.
    let fresh = broker
        .store
        .put_new(
            Kind::LogoutJti,
            &format!("{} {}", provider.id, said.jti),
            &(),
            Kind::LogoutJti.ttl(),
        )
        .await
        .map_err(unavailable)?;
    if !fresh {
        return Err(refuse(
            Some(&provider.id),
            "the logout token was already used".into(),
        ));
    }
    let by = match (&said.sid, &said.sub) {
        (Some(sid), _) => ProviderRef::Sid(sid),
        (None, Some(sub)) => ProviderRef::Sub(sub),
        (None, None) => return Err(refuse(Some(&provider.id), "no sid or sub".into())),
    };
    let key = provider_key(&provider.id, by);
    let sids = broker
        .store
        .members(Kind::ProviderSessions, &key)
        .await
        .map_err(unavailable)?;
    let mut ended = 0u64;
    for sid in &sids {
        if super::end_sid(broker, sid, EndCause::ProviderLogout, now)
            .await
            .map_err(unavailable)?
            .is_some()
        {
            ended += 1;
        }
    }
    broker
        .store
        .remove(Kind::ProviderSessions, &key)
        .await
        .map_err(unavailable)?;
    broker.audit(Event::ProviderLogout {
        provider: &provider.id,
        sessions: ended,
    });
    Ok(())
}
