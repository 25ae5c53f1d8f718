//! What the log serves, fetched: the checkpoint and the hash tiles (public), the records
//! (the admin API, with an auditor's token), and the door for cosignatures.

use serde_json::{Map, Value};
use tokio::task::JoinSet;
use transparency::compare::ExportedRecord;
use transparency::tiles::TilePath;

use super::{LogError, cannot_run, failed};
use crate::http::Http;

/// Tiles fetched at once.
const PARALLEL_TILES: usize = 8;
/// Records asked for per page of the export (the most the admin API gives).
const PAGE: u64 = 10_000;

/// The log of one broker: `<broker>/log/...` for the public side, `<broker>/admin/log/...` for
/// auditors.
#[derive(Debug, Clone)]
pub(crate) struct LogClient {
    http: reqwest::Client,
    broker: String,
}

fn transport(what: &str, e: reqwest::Error) -> LogError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    cannot_run(format!("cannot fetch {what}: {text}"))
}

impl LogClient {
    /// `url` is the broker (`https://broker.example.ca`) or its log's prefix
    /// (`https://broker.example.ca/log`).
    pub(crate) fn new(url: &str) -> Result<Self, LogError> {
        let parsed = url::Url::parse(url).map_err(|e| cannot_run(format!("--log {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(cannot_run(format!("--log {url:?} is not an http(s) URL")));
        }
        let trimmed = url.trim_end_matches('/');
        let broker = trimmed.strip_suffix("/log").unwrap_or(trimmed).to_owned();
        let http = Http::new(None).map_err(|e| cannot_run(e.to_string()))?;
        Ok(Self {
            http: http.client().clone(),
            broker,
        })
    }

    /// The broker's base URL.
    pub(crate) fn broker(&self) -> &str {
        &self.broker
    }

    /// `GET /log/checkpoint`: the signed checkpoint note with its cosignatures, as text.
    pub(crate) async fn checkpoint(&self) -> Result<String, LogError> {
        let url = format!("{}/log/checkpoint", self.broker);
        let r = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| transport(&url, e))?;
        let status = r.status();
        let body = r.text().await.map_err(|e| transport(&url, e))?;
        if status != reqwest::StatusCode::OK {
            return Err(cannot_run(format!(
                "{url} answered {status}: {}",
                body.trim()
            )));
        }
        Ok(body)
    }

    /// Fetches the tiles, a few at a time; a tile the log does not serve fails the check (its
    /// checkpoint covers it).
    pub(crate) async fn tiles(
        &self,
        tiles: &[TilePath],
        size: u64,
    ) -> Result<Vec<(TilePath, Vec<u8>)>, LogError> {
        let mut fetched = Vec::with_capacity(tiles.len());
        for chunk in tiles.chunks(PARALLEL_TILES) {
            let mut set = JoinSet::new();
            for tile in chunk {
                let (http, tile) = (self.http.clone(), *tile);
                let url = format!("{}/log/{tile}", self.broker);
                set.spawn(async move { (tile, fetch_tile(http, url, size).await) });
            }
            while let Some(done) = set.join_next().await {
                let (tile, bytes) = done.map_err(|e| cannot_run(format!("a fetch failed: {e}")))?;
                fetched.push((tile, bytes?));
            }
        }
        Ok(fetched)
    }

    /// The whole export (`GET /admin/log/records`), page by page, in leaf order.
    pub(crate) async fn records(&self, token: &str) -> Result<Vec<ExportedRecord>, LogError> {
        let mut records = Vec::new();
        let mut from = 0u64;
        loop {
            let url = format!("{}/admin/log/records?from={from}&limit={PAGE}", self.broker);
            let r = self
                .http
                .get(&url)
                .bearer_auth(token)
                .send()
                .await
                .map_err(|e| transport(&url, e))?;
            let status = r.status();
            let body = r.text().await.map_err(|e| transport(&url, e))?;
            if status == reqwest::StatusCode::UNAUTHORIZED
                || status == reqwest::StatusCode::FORBIDDEN
            {
                return Err(cannot_run(format!(
                    "the admin API refused the token ({status}): an auditor's token is needed: {}",
                    body.trim()
                )));
            }
            if status != reqwest::StatusCode::OK {
                return Err(cannot_run(format!(
                    "{url} answered {status}: {}",
                    body.trim()
                )));
            }
            let page: Value = serde_json::from_str(&body)
                .map_err(|e| failed(format!("the export at {url} is not JSON: {e}")))?;
            let items = page["records"]
                .as_array()
                .ok_or_else(|| failed(format!("the export at {url} has no records array")))?;
            for item in items {
                records.push(exported(item).ok_or_else(|| {
                    failed(format!(
                        "the export at {url} holds a malformed entry (not {{leaf, record}}): {item}"
                    ))
                })?);
            }
            match page["next"].as_u64() {
                None if page["next"].is_null() => return Ok(records),
                Some(next) if next > from => from = next,
                _ => {
                    return Err(failed(format!(
                        "the export at {url} names {} as the next page, after {from}",
                        page["next"]
                    )));
                }
            }
        }
    }

    /// `POST /log/cosignature`: the cosigned note. The broker's answer when it kept it; a
    /// refusal fails, with the broker's own words.
    pub(crate) async fn submit(&self, cosigned: &str) -> Result<String, LogError> {
        let url = format!("{}/log/cosignature", self.broker);
        let r = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(cosigned.to_owned())
            .send()
            .await
            .map_err(|e| transport(&url, e))?;
        let status = r.status();
        let body = r.text().await.map_err(|e| transport(&url, e))?;
        if status != reqwest::StatusCode::OK {
            return Err(failed(format!(
                "the broker refused the cosignature: {status}: {}",
                body.trim()
            )));
        }
        Ok(body.trim().to_owned())
    }
}

fn exported(item: &Value) -> Option<ExportedRecord> {
    let leaf = item.get("leaf")?.as_u64()?;
    let record: Map<String, Value> = item.get("record")?.as_object()?.clone();
    Some(ExportedRecord { leaf, record })
}

async fn fetch_tile(http: reqwest::Client, url: String, size: u64) -> Result<Vec<u8>, LogError> {
    let r = http
        .get(&url)
        .send()
        .await
        .map_err(|e| transport(&url, e))?;
    let status = r.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        let body = r.text().await.unwrap_or_default();
        return Err(failed(format!(
            "the log does not serve {url}, which its checkpoint of {size} records covers: {}",
            body.trim()
        )));
    }
    if status != reqwest::StatusCode::OK {
        return Err(cannot_run(format!("{url} answered {status}")));
    }
    Ok(r.bytes().await.map_err(|e| transport(&url, e))?.to_vec())
}
