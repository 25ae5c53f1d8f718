//! The provider's sessions: one per sign-in, named by the `sid` its ID tokens carry, so that a
//! client can end it (RP-Initiated Logout, [`super::logout`]) and so that the person can end it
//! here and the client hears of it (Back-Channel Logout, [`super::sessions_page`]).
//!
//! A demo provider signs a person in afresh for every authorization request (it keeps no
//! browser cookie), so a session is exactly one sign-in. Sessions live in memory, bounded, and
//! expire [`SESSION_LIFETIME_SECS`] after the sign-in; time is the provider's clock, passed in.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::util::{Full, lock};

/// A session ends by itself this long after its sign-in (a working day).
pub(super) const SESSION_LIFETIME_SECS: i64 = 8 * 3600;

/// One sign-in at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ProviderSession {
    /// The session id, random, stated as `sid` in the ID tokens of this sign-in.
    pub sid: String,
    /// The `sub` the ID tokens of this sign-in state.
    pub sub: String,
    /// The test person signed in.
    pub person_id: String,
    /// The client the person signed in to.
    pub client_id: String,
    /// Seconds since the Unix epoch.
    pub auth_time: i64,
}

/// The live sessions, by `sid`.
#[derive(Debug)]
pub(super) struct Sessions {
    capacity: usize,
    entries: Mutex<HashMap<String, ProviderSession>>,
}

fn live(session: &ProviderSession, now: i64) -> bool {
    session.auth_time + SESSION_LIFETIME_SECS > now
}

impl Sessions {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Keeps `session`, unless the map is full of live sessions (the sign-in is then refused
    /// as "try again later", as a full code map does).
    pub(super) fn start(&self, session: ProviderSession, now: i64) -> Result<(), Full> {
        let mut entries = lock(&self.entries);
        entries.retain(|_, s| live(s, now));
        if entries.len() >= self.capacity {
            return Err(Full);
        }
        entries.insert(session.sid.clone(), session);
        Ok(())
    }

    /// Ends the live session `sid` and returns it (once: a second end finds nothing).
    pub(super) fn end(&self, sid: &str, now: i64) -> Option<ProviderSession> {
        lock(&self.entries)
            .remove(sid)
            .filter(|session| live(session, now))
    }

    /// The live sessions, the most recent first.
    pub(super) fn list(&self, now: i64) -> Vec<ProviderSession> {
        let mut sessions: Vec<_> = lock(&self.entries)
            .values()
            .filter(|s| live(s, now))
            .cloned()
            .collect();
        sessions.sort_by(|a, b| b.auth_time.cmp(&a.auth_time).then(a.sid.cmp(&b.sid)));
        sessions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(sid: &str, auth_time: i64) -> ProviderSession {
        ProviderSession {
            sid: sid.into(),
            sub: "sub".into(),
            person_id: "p".into(),
            client_id: "c".into(),
            auth_time,
        }
    }

    #[test]
    fn a_session_ends_once_and_expires() {
        let sessions = Sessions::new(2);
        sessions.start(session("a", 1000), 1000).unwrap();
        sessions.start(session("b", 2000), 2000).unwrap();
        assert_eq!(sessions.start(session("c", 2000), 2000), Err(Full));
        let listed: Vec<_> = sessions.list(2000).into_iter().map(|s| s.sid).collect();
        assert_eq!(listed, ["b", "a"]);
        assert_eq!(sessions.end("a", 2000).map(|s| s.sid).as_deref(), Some("a"));
        assert_eq!(sessions.end("a", 2000), None);
        let later = 2000 + SESSION_LIFETIME_SECS;
        assert!(sessions.list(later).is_empty());
        assert_eq!(sessions.end("b", later), None);
        sessions.start(session("d", later), later).unwrap();
    }
}
