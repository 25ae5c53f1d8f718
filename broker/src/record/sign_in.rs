//! The sign-in to the record: the broker, as its own relying service, sends the person to
//! their provider (authorization code, PKCE S256, state, nonce, the operator's level as acr
//! values, `prompt=login` when a withdrawal needs a fresh sign-in), and takes their answer at
//! the shared `/callback`: the code redeemed and the ID token validated as strictly as for any
//! login (`crate::upstream`), the level judged again (`trust_framework::policy::record_level`),
//! and only then a record session. Nothing of the person's claims is kept but the keyed hash
//! of their subject.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use trust_framework::upstream::AuthorizationRequest;
use trust_framework::{Lang, Registry};

use super::RecordSession;
use super::withdraw::Withdrawal;
use crate::app::Broker;
use crate::audit::Event;
use crate::http::browser::{self, random_token};
use crate::login::returned::ProviderAnswer;
use crate::session::cookie::SessionCookie;
use crate::store::{Kind, StoreError};
use crate::upstream::CodeRedemption;

/// The upstream `state` of a record sign-in starts with this, so that the shared `/callback`
/// knows it from a service's login (whose states are bare random tokens).
pub const STATE_PREFIX: &str = "rec.";

/// A sign-in at the provider, waiting for the person to come back.
#[derive(Clone, Serialize, Deserialize)]
pub struct SignIn {
    /// Its id in the audit trail; the upstream state is [`STATE_PREFIX`] and this.
    pub id: String,
    pub provider_id: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub sent_at: i64,
    /// SHA-256 of the browser-binding cookie: the return must come from the same browser.
    pub browser: String,
    pub lang: Lang,
    /// A fresh sign-in was asked (`prompt=login`, `max_age=0`).
    pub fresh: bool,
    /// The withdrawal waiting for this fresh sign-in, if any.
    pub then: Option<Withdrawal>,
}

/// Why a sign-in to the record did not give a session.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("that identity provider cannot be used to see a record")]
    NotOffered,
    #[error("the sign-in expired or was already used")]
    Expired,
    #[error("the sign-in was started in another browser")]
    AnotherBrowser,
    #[error("the identity provider did not sign the person in: {0}")]
    Provider(String),
    #[error("the identity provider's answer could not be accepted: {0}")]
    Refused(String),
    #[error("the state store is unavailable: {0}")]
    Store(#[from] StoreError),
}

impl SignInError {
    /// What the person is told, in English and in French.
    pub fn advice(&self) -> (&'static str, &'static str) {
        match self {
            Self::NotOffered => (
                "That identity provider cannot be used to see your record. Choose another one.",
                "Ce fournisseur d'identité ne peut pas servir à consulter votre dossier. Choisissez-en un autre.",
            ),
            Self::Expired => (
                "This sign-in has expired or was already used. Start again from your record.",
                "Cette connexion a expiré ou a déjà servi. Recommencez à partir de votre dossier.",
            ),
            Self::AnotherBrowser => (
                "This sign-in was started in another browser. Start again in this one.",
                "Cette connexion a commencé dans un autre navigateur. Recommencez dans celui-ci.",
            ),
            Self::Provider(_) => (
                "Your identity provider did not confirm your identity, so your record cannot be shown. You can try again.",
                "Votre fournisseur d'identité n'a pas confirmé votre identité; votre dossier ne peut donc pas être affiché. Vous pouvez réessayer.",
            ),
            Self::Refused(_) => (
                "Your identity could not be confirmed at the level needed to see your record. Try again, or choose another identity provider.",
                "Votre identité n'a pas pu être confirmée au niveau requis pour consulter votre dossier. Réessayez ou choisissez un autre fournisseur d'identité.",
            ),
            Self::Store(_) => (
                "Your record cannot be reached right now. Nothing was changed. Try again in a few minutes.",
                "Votre dossier est inaccessible pour le moment. Rien n'a été modifié. Réessayez dans quelques minutes.",
            ),
        }
    }
}

/// Sends the person to `provider_id` to sign in for their record; the provider's URL.
pub async fn send(
    broker: &Broker,
    registry: &Registry,
    provider_id: &str,
    browser_hash: String,
    lang: Lang,
    then: Option<Withdrawal>,
    now: OffsetDateTime,
) -> Result<url::Url, SignInError> {
    let level = broker.record.level();
    let offered = trust_framework::policy::record_providers(registry, level, now);
    let chosen = offered
        .iter()
        .find(|p| p.provider_id == provider_id)
        .ok_or(SignInError::NotOffered)?;
    let provider = registry
        .provider(&chosen.provider_id)
        .ok_or(SignInError::NotOffered)?;
    let fresh = then.is_some();
    let sign_in = SignIn {
        id: random_token(),
        provider_id: provider.id.clone(),
        nonce: random_token(),
        pkce_verifier: random_token(),
        sent_at: now.unix_timestamp(),
        browser: browser_hash,
        lang,
        fresh,
        then,
    };
    let request = AuthorizationRequest {
        redirect_uri: broker.callback_url(),
        state: format!("{STATE_PREFIX}{}", sign_in.id),
        nonce: sign_in.nonce.clone(),
        pkce_verifier: sign_in.pkce_verifier.clone(),
        // Who the person is, nothing more: the record needs no attribute.
        scopes: vec!["openid".to_owned()],
        acr_values: chosen.acr_values.clone(),
        claims: None,
        login_hint: None,
        ui_locales: vec![format!("{}-CA", lang.code()), lang.code().to_owned()],
        max_age: fresh.then_some(0),
    };
    let url = broker
        .upstream
        .authorization_url(provider, &request)
        .await
        .map_err(|e| SignInError::Provider(e.to_string()))?;
    broker
        .store
        .put(Kind::RecordSignIn, &sign_in.id, &sign_in)
        .await?;
    broker.audit(Event::RecordSignInSent {
        sign_in: &sign_in.id,
        provider: &provider.id,
        level_required: level.acr(),
        fresh,
    });
    Ok(url)
}

/// A sign-in that held: the session, its cookie, and the withdrawal it was for.
#[derive(Debug)]
pub struct SignedIn {
    pub session: RecordSession,
    pub cookie: SessionCookie,
    pub then: Option<Withdrawal>,
}

/// The person came back to `/callback` with `state` (without its prefix).
pub async fn returned(
    broker: &Broker,
    id: &str,
    answer: ProviderAnswer,
    binding_cookie: Option<&str>,
    now: OffsetDateTime,
) -> Result<(Lang, Result<SignedIn, SignInError>), SignInError> {
    let sign_in: SignIn = broker
        .store
        .take(Kind::RecordSignIn, id)
        .await?
        .ok_or(SignInError::Expired)?;
    let lang = sign_in.lang;
    Ok((
        lang,
        finish(broker, sign_in, answer, binding_cookie, now).await,
    ))
}

async fn finish(
    broker: &Broker,
    sign_in: SignIn,
    answer: ProviderAnswer,
    binding_cookie: Option<&str>,
    now: OffsetDateTime,
) -> Result<SignedIn, SignInError> {
    let refused = |reason: &str| {
        broker.audit(Event::RecordSignInRefused {
            sign_in: &sign_in.id,
            provider: &sign_in.provider_id,
            reason,
        });
    };
    if !browser::matches_cookie(&sign_in.browser, binding_cookie) {
        refused("another browser");
        return Err(SignInError::AnotherBrowser);
    }
    let registry = broker.fresh_registry().await;
    let Some(provider) = registry.provider(&sign_in.provider_id) else {
        refused("provider no longer registered");
        return Err(SignInError::NotOffered);
    };
    if let Some(iss) = &answer.iss
        && iss != &provider.issuer
    {
        refused("another issuer");
        return Err(SignInError::Refused(format!(
            "the answer came from {iss:?}"
        )));
    }
    if let Some(error) = &answer.error {
        refused("provider error");
        return Err(SignInError::Provider(error.clone()));
    }
    let Some(code) = answer.code.as_deref() else {
        refused("no code");
        return Err(SignInError::Refused("no code".into()));
    };
    let secret = broker
        .secrets
        .resolve(&provider.client_secret)
        .map_err(|e| SignInError::Provider(e.to_string()))?;
    let callback = broker.callback_url();
    let redemption = CodeRedemption {
        redirect_uri: &callback,
        code,
        pkce_verifier: &sign_in.pkce_verifier,
        nonce: &sign_in.nonce,
    };
    let verified = broker
        .upstream
        .finish(provider, &secret, &redemption, now, |_| false)
        .await
        .map_err(|e| {
            let e = e.to_oauth();
            refused(&e.description);
            SignInError::Refused(e.description)
        })?;
    let level = trust_framework::policy::record_level(
        &registry,
        &provider.id,
        broker.record.level(),
        verified.acr.as_deref(),
        now,
    )
    .map_err(|e| {
        refused(&e.to_string());
        SignInError::Refused(e.to_string())
    })?;
    // A fresh sign-in is one the provider says it made after the person was sent there.
    let fresh_at = if sign_in.fresh {
        let sent = OffsetDateTime::from_unix_timestamp(sign_in.sent_at)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let auth_time = verified
            .auth_time
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
        trust_framework::policy::check_freshness(Some(0), sent, auth_time).map_err(|r| {
            refused(r.kind());
            SignInError::Refused(r.kind().to_owned())
        })?;
        verified.auth_time
    } else {
        None
    };
    let person_key = broker.pairwise.person_key(&provider.id, &verified.subject);
    let (session, cookie) = RecordSession::start(
        broker,
        sign_in.browser.clone(),
        provider.id.clone(),
        person_key,
        level,
        fresh_at,
        sign_in.id.clone(),
        sign_in.lang,
        now,
    )
    .await?;
    broker.audit(Event::RecordSignedIn {
        sign_in: &sign_in.id,
        provider: &provider.id,
        level: level.acr(),
        fresh: fresh_at.is_some(),
    });
    crate::metrics::record_sign_in(fresh_at.is_some());
    Ok(SignedIn {
        session,
        cookie,
        then: sign_in.then,
    })
}
