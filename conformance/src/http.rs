//! An HTTP client that records every exchange as redacted evidence. It acts as a browser:
//! cookies kept, redirects never followed (each hop is looked at). It trusts the web's
//! certificate authorities and, for test deployments, those of a CA bundle; a certificate it
//! refuses is explained in words an operator can act on.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::HeaderMap;
use rustls::CertificateError;

use crate::Error;
use crate::evidence::{Exchange, redact_body, redact_header, redact_url};

/// Certificate authorities trusted besides the built-in web roots: those of a test deployment
/// whose certificates come from a private authority. Verification stays on.
#[derive(Clone)]
pub struct CaBundle {
    path: PathBuf,
    roots: Vec<reqwest::Certificate>,
}

impl fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaBundle")
            .field("path", &self.path)
            .field("certificates", &self.roots.len())
            .finish()
    }
}

impl CaBundle {
    /// Every certificate of the PEM file at `path`; a file without one is an error, so that a
    /// key or a DER file given by mistake is caught before any check runs.
    pub fn from_pem_file(path: &Path) -> Result<Self, Error> {
        let pem = std::fs::read(path).map_err(|source| Error::CaBundleUnreadable {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |reason: String| Error::CaBundleInvalid {
            path: path.to_owned(),
            reason,
        };
        let roots =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| invalid(e.to_string()))?;
        if roots.is_empty() {
            return Err(invalid(
                "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
            ));
        }
        Ok(Self {
            path: path.to_owned(),
            roots,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status)
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    /// Named in certificate errors.
    ca_bundle: Option<PathBuf>,
}

/// Requests time out after this long.
const TIMEOUT: Duration = Duration::from_secs(20);

impl Http {
    /// A fresh browser: its own cookie jar, the web's roots and those of `ca_bundle`.
    pub fn new(ca_bundle: Option<&CaBundle>) -> Result<Self, Error> {
        crate::install_crypto_provider()?;
        let mut builder = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent("pctf-conformance/0.1")
            .tls_built_in_root_certs(true);
        for root in ca_bundle.iter().flat_map(|b| b.roots.iter()) {
            builder = builder.add_root_certificate(root.clone());
        }
        let client = builder.build().map_err(Error::HttpClient)?;
        Ok(Self {
            client,
            ca_bundle: ca_bundle.map(|b| b.path.clone()),
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `request`, appending the redacted exchange to `evidence`. A transport error is
    /// returned as its text (it is also in the evidence).
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        evidence: &mut Vec<Exchange>,
    ) -> Result<Answer, String> {
        let request = request.build().map_err(|e| e.to_string())?;
        let origin = origin(request.url());
        let mut exchange = Exchange {
            method: request.method().to_string(),
            url: redact_url(request.url().as_str()),
            request_headers: headers(request.headers()),
            request_body: request
                .body()
                .and_then(|b| b.as_bytes())
                .map(|b| redact_body(&String::from_utf8_lossy(b))),
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            error: None,
        };
        let result = self.client.execute(request).await;
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                let text = match certificate_problem(&e) {
                    Some(tls) => in_words(tls, &origin, self.ca_bundle.as_deref()),
                    None => error_chain(&e),
                };
                exchange.error = Some(text.clone());
                evidence.push(exchange);
                return Err(text);
            }
        };
        let status = response.status().as_u16();
        let header_map = response.headers().clone();
        exchange.status = Some(status);
        exchange.response_headers = headers(&header_map);
        let body = match response.text().await {
            Ok(body) => body,
            Err(e) => {
                let text = error_chain(&e);
                exchange.error = Some(text.clone());
                evidence.push(exchange);
                return Err(text);
            }
        };
        exchange.response_body = Some(redact_body(&body));
        evidence.push(exchange);
        Ok(Answer {
            status,
            headers: header_map,
            body,
        })
    }

    pub async fn get(&self, url: &str, evidence: &mut Vec<Exchange>) -> Result<Answer, String> {
        self.send(self.client.get(url), evidence).await
    }
}

fn headers(map: &HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes());
            (k.to_string(), redact_header(k.as_str(), &value))
        })
        .collect()
}

/// `host:port` of a URL, as certificate errors name the server.
fn origin(url: &reqwest::Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => url.to_string(),
    }
}

/// The TLS error behind a transport error, if that is what it was. rustls' error travels
/// inside `io::Error`s (nested, as the connector wraps the TLS stream's), whose `source`
/// skips what they wrap, so each `io::Error` is opened instead.
fn certificate_problem<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(e);
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        current = match error.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => std::error::Error::source(io),
            },
            None => error.source(),
        };
    }
    None
}

/// A name as rustls presents it (`DnsName("idp.example")`, `IpAddress(10.0.0.1)`), as written
/// in the certificate.
fn plain_name(presented: &str) -> &str {
    presented
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map_or(presented, |inner| inner.trim_matches('"'))
}

fn date(time: rustls::pki_types::UnixTime) -> String {
    i64::try_from(time.as_secs())
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{} s after 1970", time.as_secs()))
}

/// Says which certificate failed and why, and what to do about it.
pub(crate) fn in_words(error: &rustls::Error, origin: &str, ca_bundle: Option<&Path>) -> String {
    let cert = format!("the TLS certificate that {origin} presented");
    let trusted = match ca_bundle {
        Some(path) => format!(
            "neither by a certificate authority of the web nor by one in the CA bundle {}; check that the bundle holds the root certificate of the authority that issued it",
            path.display()
        ),
        None => "by no certificate authority this suite trusts (those of the web); if it comes from a private certificate authority (a test deployment), give that authority's root certificate with --ca-bundle FILE (to the broker: [upstream] ca_bundle)".to_owned(),
    };
    let rustls::Error::InvalidCertificate(problem) = error else {
        return format!("the TLS connection to {origin} failed: {error}");
    };
    match problem {
        CertificateError::UnknownIssuer => {
            format!("{cert} is not trusted: it was issued {trusted}")
        }
        CertificateError::Expired => format!("{cert} has expired: the provider must renew it"),
        CertificateError::ExpiredContext { time, not_after } => format!(
            "{cert} expired on {} (it is now {}): the provider must renew it",
            date(*not_after),
            date(*time)
        ),
        CertificateError::NotValidYet => {
            format!(
                "{cert} is not valid yet: check this machine's clock and the certificate's dates"
            )
        }
        CertificateError::NotValidYetContext { time, not_before } => format!(
            "{cert} is valid only from {} (it is now {}): check this machine's clock and the certificate's dates",
            date(*not_before),
            date(*time)
        ),
        CertificateError::NotValidForName => {
            format!("{cert} is not valid for that name: the certificate names other hosts")
        }
        CertificateError::NotValidForNameContext { presented, .. } => format!(
            "{cert} is not valid for that host: it names {}; reach the provider at a name its certificate holds, or have it reissued",
            if presented.is_empty() {
                "no host at all".to_owned()
            } else {
                presented
                    .iter()
                    .map(|n| plain_name(n))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        CertificateError::Revoked => format!("{cert} has been revoked by its authority"),
        CertificateError::BadSignature => {
            format!("{cert} carries a signature that does not verify: it was altered or misissued")
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            format!("{cert} is not meant for a TLS server (its extended key usage)")
        }
        other => format!("{cert} was refused: {other:?}"),
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    redact_url(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_problems_are_told_in_words() {
        assert_eq!(plain_name("DnsName(\"idp.example\")"), "idp.example");
        assert_eq!(plain_name("IpAddress(10.0.0.1)"), "10.0.0.1");
        assert_eq!(plain_name("idp.example"), "idp.example");

        let expired = rustls::Error::InvalidCertificate(CertificateError::ExpiredContext {
            time: rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(1_800_000_000)),
            not_after: rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(
                1_790_000_000,
            )),
        });
        let text = in_words(&expired, "idp.example:443", None);
        assert!(
            text.starts_with(
                "the TLS certificate that idp.example:443 presented expired on 2026-09-21"
            ),
            "{text}"
        );
        let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let text = in_words(&unknown, "idp.example:443", Some(Path::new("ca.pem")));
        assert!(text.contains("the CA bundle ca.pem"), "{text}");
        let other = rustls::Error::NoCertificatesPresented;
        assert!(in_words(&other, "idp.example:443", None).starts_with("the TLS connection to"));
    }
}
