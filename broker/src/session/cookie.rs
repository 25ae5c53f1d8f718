//! The session cookie: `sid.secret`, HttpOnly, SameSite=Lax, `__Host-` and Secure over https
//! (a browser refuses a `__Host-` cookie without Secure, so a plain-http development broker
//! uses the bare name). No Max-Age: the cookie goes when the browser closes, and the session's
//! lifetimes are kept by the store, not by the browser.

use axum::http::{HeaderMap, HeaderValue};

/// The cookie's name over https.
pub const SECURE_NAME: &str = "__Host-pcb_session";
/// Its name on a plain-http development broker.
pub const PLAIN_NAME: &str = "pcb_session";

/// A cookie of the `sid.secret` shape under its two names: with the `__Host-` prefix over
/// https, bare on a plain-http development broker. The session's, and the record's
/// (`crate::record::session`).
#[derive(Debug, Clone, Copy)]
pub struct Names {
    pub secure: &'static str,
    pub plain: &'static str,
}

impl Names {
    fn get(self, secure: bool) -> &'static str {
        if secure { self.secure } else { self.plain }
    }
}

/// The broker session's names.
pub const SESSION: Names = Names {
    secure: SECURE_NAME,
    plain: PLAIN_NAME,
};

/// The two halves of a session cookie: the public `sid`, and the secret whose hash the
/// session keeps.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionCookie {
    pub sid: String,
    pub secret: String,
}

impl std::fmt::Debug for SessionCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCookie")
            .field("sid", &self.sid)
            .finish_non_exhaustive()
    }
}

/// The session cookie the browser sent, if one of the right shape (two 256-bit base64url
/// halves) under the name this broker uses.
pub fn read(headers: &HeaderMap, secure: bool) -> Option<SessionCookie> {
    read_named(SESSION, headers, secure)
}

/// As [`read`], for a cookie of `names`.
pub fn read_named(names: Names, headers: &HeaderMap, secure: bool) -> Option<SessionCookie> {
    let value = crate::http::browser::cookie_named(headers, names.get(secure))?;
    value
        .split_once('.')
        .filter(|(sid, secret)| sid.len() == 43 && secret.len() == 43)
        .filter(|(sid, secret)| {
            [sid, secret].iter().all(|h| {
                h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
        })
        .map(|(sid, secret)| SessionCookie {
            sid: sid.to_owned(),
            secret: secret.to_owned(),
        })
}

/// Whether a kept session answers to the `cookie` that named it: its secret's hash is
/// `stored_secret` (constant-time), it was bound to the browser whose binding cookie is
/// `browser_cookie`, and it has not reached its end (`expires_at`, Unix seconds).
pub fn answers(
    cookie: &SessionCookie,
    stored_secret: &str,
    stored_browser: &str,
    browser_cookie: Option<&str>,
    expires_at: i64,
    now: time::OffsetDateTime,
) -> bool {
    use subtle::ConstantTimeEq;
    let secret_ok: bool = crate::http::browser::hash(&cookie.secret)
        .as_bytes()
        .ct_eq(stored_secret.as_bytes())
        .into();
    secret_ok
        && crate::http::browser::matches_cookie(stored_browser, browser_cookie)
        && expires_at > now.unix_timestamp()
}

/// `Set-Cookie` for a new session.
pub fn set(cookie: &SessionCookie, secure: bool) -> Option<HeaderValue> {
    set_named(SESSION, cookie, secure)
}

/// As [`set`], for a cookie of `names`.
pub fn set_named(names: Names, cookie: &SessionCookie, secure: bool) -> Option<HeaderValue> {
    let attrs = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={}.{}; Path=/; HttpOnly; SameSite=Lax{attrs}",
        names.get(secure),
        cookie.sid,
        cookie.secret
    ))
    .ok()
}

/// `Set-Cookie` that removes the session cookie: sent with every sign-out, whatever the store
/// answered, so that the browser is signed out even when the store could not be told.
pub fn clear(secure: bool) -> HeaderValue {
    clear_named(SESSION, secure)
}

/// As [`clear`], for a cookie of `names`.
pub fn clear_named(names: Names, secure: bool) -> HeaderValue {
    let attrs = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{attrs}",
        names.get(secure)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("pcb_session=; Path=/; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        h
    }

    #[test]
    fn only_a_well_formed_cookie_of_this_brokers_name_is_read() {
        let sid = "a".repeat(43);
        let secret = "b".repeat(43);
        let good = format!("x=1; __Host-pcb_session={sid}.{secret}");
        let read_back = read(&headers(&good), true).unwrap();
        assert_eq!(
            (read_back.sid.as_str(), read_back.secret.as_str()),
            (sid.as_str(), secret.as_str())
        );
        // The plain name is not read by an https broker, nor the reverse.
        assert!(read(&headers(&format!("pcb_session={sid}.{secret}")), true).is_none());
        assert!(read(&headers(&good), false).is_none());
        assert!(read(&headers(&format!("__Host-pcb_session={sid}")), true).is_none());
        assert!(
            read(
                &headers(&format!("__Host-pcb_session={sid}.{}", "c".repeat(42))),
                true
            )
            .is_none()
        );
        assert!(
            read(
                &headers(&format!("__Host-pcb_session={sid}.{}", "%".repeat(43))),
                true
            )
            .is_none()
        );
    }

    #[test]
    fn the_secure_cookie_is_host_only_and_secure() {
        let c = SessionCookie {
            sid: "s".repeat(43),
            secret: "t".repeat(43),
        };
        let v = set(&c, true).unwrap();
        let v = v.to_str().unwrap();
        assert!(v.starts_with("__Host-pcb_session="), "{v}");
        for attr in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
            assert!(v.contains(attr), "{v}");
        }
        assert!(!v.contains("Domain"), "{v}");
        assert!(clear(true).to_str().unwrap().contains("Max-Age=0"));
    }
}
