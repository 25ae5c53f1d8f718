//! Relying parties' public keys: registered inline, or fetched from their `jwks_uri` and
//! cached, fetched again when a signature does not verify (the client rotated its keys) at
//! most once a minute, so a stream of bad assertions cannot make the broker hammer a client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use trust_framework::ClientKeys;

use super::assertion::{self, AssertionError};
use crate::upstream::bounded::{BoundedError, read_body};

/// How long a fetched JWKS is used without asking again.
const FRESH: Duration = Duration::from_secs(300);
/// The least time between two fetches of one `jwks_uri`.
const REFETCH_GAP: Duration = Duration::from_secs(60);
/// A JWKS larger than this is refused.
const MAX_JWKS: usize = 64 * 1024;

#[derive(Debug, Clone)]
struct Fetched {
    at: Instant,
    jwks: Arc<Value>,
}

#[derive(Debug, Clone)]
pub struct ClientKeyCache {
    http: reqwest::Client,
    fetched: Arc<Mutex<HashMap<String, Fetched>>>,
}

impl ClientKeyCache {
    /// `http` is the upstream client's (`UpstreamClient::http`): a `jwks_uri` is fetched with
    /// the same timeouts, no redirects, and the same roots, a test deployment's CA bundle
    /// included.
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            fetched: Arc::default(),
        }
    }

    /// Verifies the assertion's signature with the client's registered keys.
    pub async fn verify(
        &self,
        client_id: &str,
        keys: &ClientKeys,
        assertion: &str,
    ) -> Result<Map<String, Value>, AssertionError> {
        let uri = match keys {
            ClientKeys::Jwks(jwks) => return assertion::verify_signature(assertion, jwks),
            ClientKeys::JwksUri(uri) => uri.as_str(),
        };
        let cached = self.cached(uri);
        if let Some(f) = &cached
            && f.at.elapsed() < FRESH
        {
            match assertion::verify_signature(assertion, &f.jwks) {
                Err(AssertionError::Signature) if f.at.elapsed() >= REFETCH_GAP => {}
                other => return other,
            }
        }
        let jwks = self.fetch(uri).await.map_err(|e| {
            tracing::warn!(client = %client_id, jwks_uri = %uri, error = %e, "client JWKS fetch failed");
            AssertionError::Keys(e)
        })?;
        assertion::verify_signature(assertion, &jwks)
    }

    fn cached(&self, uri: &str) -> Option<Fetched> {
        self.fetched.lock().ok()?.get(uri).cloned()
    }

    async fn fetch(&self, uri: &str) -> Result<Arc<Value>, String> {
        let response = self
            .http
            .get(uri)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("{uri}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{uri} answered {}", response.status()));
        }
        let body = read_body(response, MAX_JWKS).await.map_err(|e| match e {
            BoundedError::TooLarge(_) => format!("{uri}: the JWKS is larger than {MAX_JWKS} bytes"),
            BoundedError::Transport(e) => format!("{uri}: {e}"),
        })?;
        let jwks: Value =
            serde_json::from_slice(&body).map_err(|_| format!("{uri}: not a JSON JWKS"))?;
        if !jwks.get("keys").is_some_and(Value::is_array) {
            return Err(format!("{uri}: the document has no \"keys\" array"));
        }
        let jwks = Arc::new(jwks);
        if let Ok(mut map) = self.fetched.lock() {
            map.insert(
                uri.to_owned(),
                Fetched {
                    at: Instant::now(),
                    jwks: jwks.clone(),
                },
            );
        }
        Ok(jwks)
    }
}
