//! Small helpers shared by the provider and the relying service.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A random, URL-safe token of 256 bits.
pub(crate) fn random_token() -> String {
    let bytes: [u8; 32] = random_bytes();
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn b64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Random bytes from aws-lc-rs' generator. AWS-LC aborts the process itself when the
/// operating system's entropy cannot be read, so the error branch is not expected to be
/// reached; a process that reached it could make no safe token, and stops.
#[allow(clippy::panic)]
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        panic!("the system random number generator failed");
    }
    bytes
}

pub(crate) fn sha256(data: &[u8]) -> aws_lc_rs::digest::Digest {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
}

/// The PKCE S256 challenge of a verifier (RFC 7636 4.2).
pub(crate) fn pkce_s256(verifier: &str) -> String {
    b64url(sha256(verifier.as_bytes()))
}

/// Seconds since the Unix epoch. The demo reads the clock at its edges (handlers) only.
pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Locks a mutex, recovering the data if another thread panicked while holding it: the maps
/// guarded here stay consistent after any single insert or remove.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why a form or query string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParamsError {
    /// RFC 6749 3.1 and 3.2: parameters must not be included more than once.
    #[error("the parameter {0} is repeated")]
    Repeated(String),
}

/// Parses `application/x-www-form-urlencoded` text (a query string or a form body), refusing
/// repeated parameters and dropping empty values (RFC 6749 3.1: as if omitted).
pub(crate) fn parse_params(text: &str) -> Result<HashMap<String, String>, ParamsError> {
    let mut params = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(text.as_bytes()) {
        if value.is_empty() {
            continue;
        }
        if params
            .insert(name.to_string(), value.into_owned())
            .is_some()
        {
            return Err(ParamsError::Repeated(name.into_owned()));
        }
    }
    Ok(params)
}

/// An in-memory map whose entries expire, with an atomic take for one-time values (codes,
/// pending requests): a value is handed out once, whatever the caller does next.
#[derive(Debug)]
pub(crate) struct TtlMap<V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

/// The map is full of live entries: the caller answers "try again later".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many pending entries")]
pub(crate) struct Full;

impl<V: Clone> TtlMap<V> {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Stores `value` under a fresh random key and returns the key.
    pub(crate) fn insert(&self, value: V) -> Result<String, Full> {
        let now = Instant::now();
        let mut entries = lock(&self.entries);
        entries.retain(|_, (expires, _)| *expires > now);
        if entries.len() >= self.capacity {
            return Err(Full);
        }
        let key = random_token();
        entries.insert(key.clone(), (now + self.ttl, value));
        Ok(key)
    }

    /// Removes and returns the live value under `key`.
    pub(crate) fn take(&self, key: &str) -> Option<V> {
        let (expires, value) = lock(&self.entries).remove(key)?;
        (expires > Instant::now()).then_some(value)
    }

    /// Returns a copy of the live value under `key`, leaving it in place.
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        let entries = lock(&self.entries);
        let (expires, value) = entries.get(key)?;
        (*expires > Instant::now()).then(|| value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_dropped() {
        assert_eq!(
            parse_params("a=1&a=2"),
            Err(ParamsError::Repeated("a".into()))
        );
        let params = parse_params("a=1&b=&c=x%20y").unwrap();
        assert_eq!(params.get("a").map(String::as_str), Some("1"));
        assert!(!params.contains_key("b"));
        assert_eq!(params.get("c").map(String::as_str), Some("x y"));
    }

    #[test]
    fn ttl_map_takes_once_and_expires() {
        let map = TtlMap::new(Duration::from_secs(60), 2);
        let key = map.insert(7).unwrap();
        assert_eq!(map.get(&key), Some(7));
        assert_eq!(map.take(&key), Some(7));
        assert_eq!(map.take(&key), None);
        map.insert(1).unwrap();
        map.insert(2).unwrap();
        assert_eq!(map.insert(3), Err(Full));
        let expired = TtlMap::new(Duration::ZERO, 2);
        let key = expired.insert(1).unwrap();
        assert_eq!(expired.take(&key), None);
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
