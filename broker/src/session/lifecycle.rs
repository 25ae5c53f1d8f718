//! A session's life in the store: found by its cookie, started or renewed by a sign-in, told
//! of each service it serves, and ended (with logout tokens queued for those services).

use time::OffsetDateTime;

use super::cookie::SessionCookie;
use super::{ProviderRef, Served, Session, provider_key};
use crate::app::Broker;
use crate::audit::Event;
use crate::http::browser::{self, random_token};
use crate::store::{Kind, StoreError};

/// Why a session ended: the audit trail's and the metrics' `cause`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndCause {
    /// The person signed out at a service (RP-Initiated Logout).
    Logout,
    /// The provider said its session ended (its back-channel logout).
    ProviderLogout,
    /// The person signed in again in the same browser as someone else, or elsewhere.
    Replaced,
}

impl EndCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::ProviderLogout => "provider_logout",
            Self::Replaced => "replaced",
        }
    }
}

/// A session just started or renewed: the cookie to set (none when renewed: the browser has
/// it already).
#[derive(Debug)]
pub struct Started {
    pub session: Session,
    pub cookie: Option<SessionCookie>,
}

/// A session that ended: what the person's sign-out goes on with.
#[derive(Debug)]
pub struct Ended {
    pub session: Session,
    /// The services it served that will get a logout token.
    pub notified: usize,
}

impl Session {
    /// The session of this browser's cookie: `None` when there is no cookie, no session under
    /// it, or it belongs to another secret, another browser or is past its absolute end.
    pub async fn find(
        broker: &Broker,
        cookie: Option<&SessionCookie>,
        browser_cookie: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError> {
        let Some(cookie) = cookie else {
            return Ok(None);
        };
        let Some(session) = broker
            .store
            .get::<Session>(Kind::Session, &cookie.sid)
            .await?
        else {
            return Ok(None);
        };
        if !super::cookie::answers(
            cookie,
            &session.secret,
            &session.browser,
            browser_cookie,
            session.expires_at,
            now,
        ) {
            return Ok(None);
        }
        Ok(Some(session))
    }

    /// The session of the browser that sent `headers` (its session cookie and its binding
    /// cookie), as [`Session::find`] judges it.
    pub async fn of_browser(
        broker: &Broker,
        headers: &axum::http::HeaderMap,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError> {
        let cookie = super::cookie::read(headers, broker.secure_cookies);
        let binding = browser::cookie(headers);
        Self::find(broker, cookie.as_ref(), binding.as_deref(), now).await
    }

    /// Keeps the session one idle lifetime more (within its absolute end): it was used.
    pub async fn touch(&self, broker: &Broker, now: OffsetDateTime) -> Result<(), StoreError> {
        let ttl = self.ttl(&broker.sessions, now);
        broker
            .store
            .put_for(Kind::Session, &self.sid, self, ttl)
            .await
    }

    /// Starts the session of a sign-in at a provider, or renews `existing` when it is the
    /// same person at the same provider in this browser (its services and sid stay; level and
    /// sign-in time are the new sign-in's). A different person or provider ends `existing`
    /// first, and its services are told.
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        broker: &Broker,
        existing: Option<Session>,
        txn: &str,
        signed_in: SignIn,
        browser_hash: String,
        lang: trust_framework::Lang,
        now: OffsetDateTime,
    ) -> Result<Started, StoreError> {
        let renewing = existing.as_ref().is_some_and(|s| {
            s.provider_id == signed_in.provider_id && s.upstream_subject == signed_in.subject
        });
        let (sid, secret, cookie, started_at, expires_at) = match existing {
            Some(old) if renewing => (old.sid, old.secret, None, old.started_at, old.expires_at),
            other => {
                if let Some(old) = other {
                    super::lifecycle::end(broker, old, super::EndCause::Replaced, now).await?;
                }
                let cookie = SessionCookie {
                    sid: random_token(),
                    secret: random_token(),
                };
                let absolute =
                    i64::try_from(broker.sessions.absolute().as_secs()).unwrap_or(i64::MAX);
                (
                    cookie.sid.clone(),
                    browser::hash(&cookie.secret),
                    Some(cookie),
                    now.unix_timestamp(),
                    now.unix_timestamp().saturating_add(absolute),
                )
            }
        };
        let session = Session {
            sid,
            secret,
            browser: browser_hash,
            provider_id: signed_in.provider_id,
            upstream_subject: signed_in.subject,
            upstream_sid: signed_in.upstream_sid,
            upstream_id_token: signed_in.id_token,
            acr: signed_in.acr,
            level: signed_in.level,
            auth_time: signed_in.auth_time.unwrap_or(now.unix_timestamp()),
            auth_time_from_provider: signed_in.auth_time.is_some(),
            started_at,
            expires_at,
            claims: signed_in.claims,
            lang,
        };
        session.touch(broker, now).await?;
        // The provider's back-channel logout finds the session by the provider's sid, or by
        // its subject when its tokens carry no sid.
        let lifetime = session.lifetime_left(now);
        let mut refs = vec![ProviderRef::Sub(&session.upstream_subject)];
        if let Some(upstream_sid) = &session.upstream_sid {
            refs.push(ProviderRef::Sid(upstream_sid));
        }
        for by in refs {
            let key = provider_key(&session.provider_id, by);
            broker
                .store
                .add_member(Kind::ProviderSessions, &key, &session.sid, lifetime)
                .await?;
        }
        broker.audit(Event::SessionStarted {
            sid: &session.sid,
            txn,
            provider: &session.provider_id,
            level: session.level.acr(),
            renewed: renewing,
        });
        crate::metrics::session_started(renewing);
        Ok(Started { session, cookie })
    }

    /// Notes that the session served `served`, before the service gets its code: a service
    /// that holds a code of the session will be told when it ends.
    pub async fn served(
        broker: &Broker,
        sid: &str,
        served: &Served,
        lifetime: std::time::Duration,
    ) -> Result<(), StoreError> {
        let member =
            serde_json::to_string(served).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        broker
            .store
            .add_member(Kind::SessionServices, sid, &member, lifetime)
            .await
    }
}

/// What a sign-in at a provider established, for [`Session::start`].
#[derive(Debug)]
pub struct SignIn {
    pub provider_id: String,
    pub subject: String,
    pub upstream_sid: Option<String>,
    pub id_token: String,
    pub acr: Option<String>,
    pub level: trust_framework::AssuranceLevel,
    pub auth_time: Option<i64>,
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// Ends `session`: taken from the store (so that it ends once, whoever else ends it at the
/// same moment), then a logout token is queued for each service it served. Returns `None`
/// when it had ended already.
pub async fn end(
    broker: &Broker,
    session: Session,
    cause: EndCause,
    now: OffsetDateTime,
) -> Result<Option<Ended>, StoreError> {
    end_sid(broker, &session.sid, cause, now).await
}

/// As [`end`], by the session's id.
pub async fn end_sid(
    broker: &Broker,
    sid: &str,
    cause: EndCause,
    now: OffsetDateTime,
) -> Result<Option<Ended>, StoreError> {
    let Some(session) = broker.store.take::<Session>(Kind::Session, sid).await? else {
        return Ok(None);
    };
    let members = broker.store.members(Kind::SessionServices, sid).await?;
    let served: Vec<Served> = members
        .iter()
        .filter_map(|m| serde_json::from_str(m).ok())
        .collect();
    let notified = super::delivery::enqueue(broker, &session.sid, &served, now).await?;
    broker.store.remove(Kind::SessionServices, sid).await?;
    broker.audit(Event::SessionEnded {
        sid,
        cause: cause.as_str(),
        services: u64::try_from(notified).unwrap_or(u64::MAX),
    });
    crate::metrics::session_ended(cause);
    Ok(Some(Ended { session, notified }))
}
