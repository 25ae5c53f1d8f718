//! An HTTP client that records every exchange as redacted evidence. It acts as a browser:
//! cookies kept, redirects never followed (each hop is looked at).

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::Error;
use crate::evidence::{Exchange, redact_body, redact_header, redact_url};

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
}

/// Requests time out after this long.
const TIMEOUT: Duration = Duration::from_secs(20);

impl Http {
    /// A fresh browser: its own cookie jar.
    pub fn new() -> Result<Self, Error> {
        crate::install_crypto_provider()?;
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent("pctf-conformance/0.1")
            .build()
            .map_err(Error::HttpClient)?;
        Ok(Self { client })
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
                let text = error_chain(&e);
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
