//! The person's short session on their record: started by a sign-in at their provider, kept
//! in the state store under a random id for `[record] session_minutes` (15 by default) from
//! that sign-in and never renewed by use, bound to the browser by the binding cookie, named by
//! its own cookie (`__Host-pcb_record`, `id.secret`; the store keeps only the secret's hash).
//! It is separate from the broker's login session: reading one's record signs no one in to any
//! service, and a service's sign-out does not end it.

use axum::http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use trust_framework::{AssuranceLevel, Lang};

use crate::app::Broker;
use crate::http::browser::{self, random_token};
use crate::session::cookie::{self, Names, SessionCookie};
use crate::store::{Kind, StoreError};

/// The record cookie's names.
pub const COOKIE: Names = Names {
    secure: "__Host-pcb_record",
    plain: "pcb_record",
};

/// Who is reading the record, and since when.
#[derive(Clone, Serialize, Deserialize)]
pub struct RecordSession {
    pub id: String,
    /// SHA-256 of the cookie's secret half.
    pub secret: String,
    /// SHA-256 of the browser-binding cookie.
    pub browser: String,
    pub provider_id: String,
    /// The keyed hash of the provider and the person's subject there: the records' key.
    pub person_key: String,
    pub level: AssuranceLevel,
    /// When the provider last authenticated the person afresh for this record (a sign-in asked
    /// with `prompt=login`, its `auth_time`, Unix seconds): a withdrawal needs a recent one.
    pub fresh_at: Option<i64>,
    /// The sign-in that started it (its id in the audit trail).
    pub sign_in: String,
    pub expires_at: i64,
    pub lang: Lang,
}

impl std::fmt::Debug for RecordSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordSession")
            .field("provider_id", &self.provider_id)
            .field("level", &self.level)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl RecordSession {
    /// The record session of the browser that sent `headers`: `None` without a cookie, or
    /// when the session is gone, ended, another secret's or another browser's.
    pub async fn of_browser(
        broker: &Broker,
        headers: &HeaderMap,
        now: OffsetDateTime,
    ) -> Result<Option<Self>, StoreError> {
        let Some(cookie) = cookie::read_named(COOKIE, headers, broker.secure_cookies) else {
            return Ok(None);
        };
        let Some(session) = broker
            .store
            .get::<Self>(Kind::RecordSession, &cookie.sid)
            .await?
        else {
            return Ok(None);
        };
        let binding = browser::cookie(headers);
        if !cookie::answers(
            &cookie,
            &session.secret,
            &session.browser,
            binding.as_deref(),
            session.expires_at,
            now,
        ) {
            return Ok(None);
        }
        Ok(Some(session))
    }

    /// Starts a session for a sign-in; its cookie.
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        broker: &Broker,
        browser_hash: String,
        provider_id: String,
        person_key: String,
        level: AssuranceLevel,
        fresh_at: Option<i64>,
        sign_in: String,
        lang: Lang,
        now: OffsetDateTime,
    ) -> Result<(Self, SessionCookie), StoreError> {
        let lifetime = broker.record.session();
        let cookie = SessionCookie {
            sid: random_token(),
            secret: random_token(),
        };
        let session = Self {
            id: cookie.sid.clone(),
            secret: browser::hash(&cookie.secret),
            browser: browser_hash,
            provider_id,
            person_key,
            level,
            fresh_at,
            sign_in,
            expires_at: now.unix_timestamp()
                + i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2),
            lang,
        };
        broker
            .store
            .put_for(Kind::RecordSession, &session.id, &session, lifetime)
            .await?;
        Ok((session, cookie))
    }

    /// Ends the session (the person's "sign out" of their record).
    pub async fn end(&self, broker: &Broker) -> Result<(), StoreError> {
        broker.store.remove(Kind::RecordSession, &self.id).await
    }

    /// Whether a withdrawal may act now, on this session's sign-in.
    pub fn fresh(&self, broker: &Broker, now: OffsetDateTime) -> bool {
        let at = self
            .fresh_at
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
        trust_framework::policy::fresh_enough(at, broker.record.fresh(), now)
    }
}

/// `Set-Cookie` for a record session.
pub fn set_cookie(cookie: &SessionCookie, secure: bool) -> Option<HeaderValue> {
    cookie::set_named(COOKIE, cookie, secure)
}

/// `Set-Cookie` that removes it.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    cookie::clear_named(COOKIE, secure)
}
