//! A minimal per-login cookie jar, handled by hand so that one pooled `reqwest::Client` can serve
//! every login (reqwest only takes a jar when a client is built, and a client per login also
//! means a TLS configuration and a fresh connection pool per login).
//!
//! Like a browser, cookies are scoped to the host and not the port (RFC 6265 section 8.5): the
//! broker on 127.0.0.1:8400 and a provider on 127.0.0.1:8411 see each other's cookies. Paths,
//! `Secure` and expiry are ignored (every login is short, every cookie seen here is `Path=/`);
//! `Max-Age=0` removes a cookie.

use reqwest::header::{HeaderMap, HeaderValue, SET_COOKIE};
use url::Url;

#[derive(Debug, Default)]
pub struct CookieJar {
    /// (host, name, value), in order of arrival.
    cookies: Vec<(String, String, String)>,
}

impl CookieJar {
    /// The `Cookie` header to send to `url`, if any cookie applies.
    pub fn header_for(&self, url: &Url) -> Option<HeaderValue> {
        let host = url.host_str()?;
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .filter(|(h, _, _)| h == host)
            .map(|(_, name, value)| format!("{name}={value}"))
            .collect();
        if pairs.is_empty() {
            return None;
        }
        HeaderValue::from_str(&pairs.join("; ")).ok()
    }

    /// Keeps the cookies a response from `url` sets.
    pub fn store(&mut self, url: &Url, headers: &HeaderMap) {
        let Some(host) = url.host_str() else {
            return;
        };
        for value in headers.get_all(SET_COOKIE) {
            let Ok(text) = value.to_str() else {
                continue;
            };
            let mut parts = text.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
                continue;
            };
            let removed = parts.any(|attr| {
                attr.trim()
                    .split_once('=')
                    .is_some_and(|(k, v)| k.eq_ignore_ascii_case("max-age") && v.trim() == "0")
            });
            self.cookies.retain(|(h, n, _)| !(h == host && n == name));
            if !removed {
                self.cookies
                    .push((host.to_owned(), name.to_owned(), value.to_owned()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_replaces_and_removes_by_host_not_port() {
        let mut jar = CookieJar::default();
        let broker = Url::parse("http://127.0.0.1:8400/authorize").unwrap();
        let provider = Url::parse("http://127.0.0.1:8411/authorize").unwrap();
        let other = Url::parse("http://localhost:8400/").unwrap();
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            HeaderValue::from_static("a=1; Path=/; HttpOnly"),
        );
        h.append(SET_COOKIE, HeaderValue::from_static("b=2"));
        jar.store(&broker, &h);
        assert_eq!(jar.header_for(&provider).unwrap(), "a=1; b=2");
        assert!(jar.header_for(&other).is_none());
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_static("a=3"));
        h.append(SET_COOKIE, HeaderValue::from_static("b=; Max-Age=0"));
        jar.store(&broker, &h);
        assert_eq!(jar.header_for(&broker).unwrap(), "a=3");
    }
}
