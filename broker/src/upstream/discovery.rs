//! A provider's discovery document (OpenID Connect Discovery 1.0 section 4) and its JWK Set,
//! fetched through the bounded reader.
//!
//! Only the members the broker reads are typed; a document that lacks one of the required ones
//! or whose `issuer` is not the registered issuer, byte for byte (Discovery 4.3), is refused.
//! Both fetches answer `200` with JSON or nothing: another status, another content type, a
//! body that is not the expected JSON is the provider's metadata fault (`Metadata`); a body
//! over the bound is `Oversized`; a transport failure (including the client's timeout) is
//! `Unreachable`. Redirects are not followed (the client's policy): a provider must answer at
//! the URL it published.

use reqwest::header;
use serde::Deserialize;

use super::UpstreamError;
use super::bounded::{self, BoundedError};
use super::error::chain;
use super::signature::ProviderKeys;

/// Where the discovery document of `issuer` is (Discovery 4.1): the issuer, a slash unless it
/// ends with one, then `.well-known/openid-configuration`.
pub fn document_url(issuer: &str) -> Result<url::Url, UpstreamError> {
    let sep = if issuer.ends_with('/') { "" } else { "/" };
    url::Url::parse(&format!("{issuer}{sep}.well-known/openid-configuration"))
        .map_err(|e| UpstreamError::Metadata(format!("the issuer {issuer:?} is not a URL: {e}")))
}

/// What the broker reads of a discovery document.
#[derive(Debug, Clone, Deserialize)]
pub struct Document {
    pub issuer: String,
    pub authorization_endpoint: url::Url,
    /// Required by the broker (it redeems codes), though Discovery allows a provider without.
    pub token_endpoint: Option<url::Url>,
    pub userinfo_endpoint: Option<url::Url>,
    pub jwks_uri: url::Url,
    /// RP-Initiated Logout 1.0: where the broker sends the person to sign out at the
    /// provider too. Optional: without it, signing out ends the broker's session only.
    #[serde(default)]
    pub end_session_endpoint: Option<url::Url>,
}

/// Fetches and checks the discovery document of `issuer`.
pub async fn fetch_document(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<Document, UpstreamError> {
    let url = document_url(issuer)?;
    let body = fetch_json(http, &url, &["application/json"]).await?;
    let document: Document = serde_json::from_slice(&body).map_err(|e| {
        UpstreamError::Metadata(format!(
            "the discovery document at {url} is not usable: {e}"
        ))
    })?;
    if document.issuer != issuer {
        return Err(UpstreamError::Metadata(format!(
            "unexpected issuer URI `{}` (expected `{issuer}`)",
            document.issuer
        )));
    }
    Ok(document)
}

/// Fetches the JWK Set at `url` (`application/json` or `application/jwk-set+json`).
pub async fn fetch_keys(
    http: &reqwest::Client,
    url: &url::Url,
) -> Result<ProviderKeys, UpstreamError> {
    let body = fetch_json(http, url, &["application/json", "application/jwk-set+json"]).await?;
    ProviderKeys::from_json(&body)
        .map_err(|e| UpstreamError::Metadata(format!("the key set at {url} is not usable: {e}")))
}

/// GET `url`, expecting `200` and, when the answer names its content type, one of `types`.
async fn fetch_json(
    http: &reqwest::Client,
    url: &url::Url,
    types: &[&str],
) -> Result<Vec<u8>, UpstreamError> {
    let response = http
        .get(url.clone())
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| UpstreamError::Unreachable(format!("{url}: {}", chain(&e))))?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        return Err(UpstreamError::Metadata(format!(
            "HTTP status code {status} at {url}"
        )));
    }
    if let Some(given) = response.headers().get(header::CONTENT_TYPE) {
        // RFC 9110 8.3.1: the type is case-insensitive and may carry parameters.
        let essence = given
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !types.contains(&essence.as_str()) {
            return Err(UpstreamError::Metadata(format!(
                "unexpected content type {given:?} at {url} (expected {})",
                types.join(" or ")
            )));
        }
    }
    bounded::read_body(response, bounded::MAX_UPSTREAM_BODY)
        .await
        .map_err(|e| match e {
            BoundedError::TooLarge(_) => UpstreamError::Oversized(format!("{url}: {e}")),
            BoundedError::Transport(e) => {
                UpstreamError::Unreachable(format!("{url}: {}", chain(&e)))
            }
        })
}

#[cfg(test)]
mod tests;
