//! The record's files and the page that explains them: the export of what the page shows,
//! and a disclosure's proof of inclusion in the audit log.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::super::view::FilterQuery;
use super::{disclosures, explicit, lang, session_of, unavailable};
use crate::app::Broker;
use crate::http::record_pages;

fn file(content_type: &'static str, filename: &str, body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// `GET /my-record/export.json` and `/my-record/export.csv`: what the page shows, as a file.
pub async fn export(
    State(broker): State<Broker>,
    Path(format): Path<String>,
    Query(q): Query<FilterQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = explicit(q.lang.as_deref()).unwrap_or_default();
    let now = broker.now();
    let session = match session_of(&broker, &headers, lang, now).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let filter = match q.filter() {
        Ok(f) => f,
        Err(words) => return record_pages::problem(lang, StatusCode::BAD_REQUEST, words),
    };
    let registry = broker.registry();
    let Ok((views, _)) = disclosures(&broker, &registry, &session, &filter, lang).await else {
        return unavailable(lang);
    };
    match format.as_str() {
        "export.json" => file(
            "application/json",
            "my-record.json",
            super::super::export::json(&views),
        ),
        "export.csv" => file(
            "text/csv; charset=utf-8",
            "my-record.csv",
            super::super::export::csv(&views, lang),
        ),
        _ => record_pages::problem(
            lang,
            StatusCode::NOT_FOUND,
            (
                "There is no such download. Use the links on your record.",
                "Ce téléchargement n'existe pas. Utilisez les liens de votre dossier.",
            ),
        ),
    }
}

/// `GET /my-record/proof/{reference}`: the disclosure's proof of inclusion, as a file.
pub async fn proof(
    State(broker): State<Broker>,
    Path(reference): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = lang::negotiate(None, None, &headers);
    let now = broker.now();
    let session = match session_of(&broker, &headers, lang, now).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let leaf = match broker.records.disclosure_with_leaf(&reference).await {
        Ok(Some((leaf, d))) if d.person_key == session.person_key => leaf,
        Ok(_) => {
            return record_pages::problem(
                lang,
                StatusCode::NOT_FOUND,
                (
                    "That entry is not in your record.",
                    "Cette inscription ne figure pas dans votre dossier.",
                ),
            );
        }
        Err(_) => return unavailable(lang),
    };
    match super::super::proof::bundle(&broker, leaf).await {
        Ok(bundle) => file(
            "application/json",
            &format!("proof-{leaf}.json"),
            bundle.to_json(),
        ),
        Err(e) => {
            let status = match e {
                super::super::proof::ProofError::NotYet => StatusCode::CONFLICT,
                super::super::proof::ProofError::NoLog => StatusCode::NOT_FOUND,
                super::super::proof::ProofError::Records(_) => StatusCode::SERVICE_UNAVAILABLE,
            };
            record_pages::problem(lang, status, e.advice())
        }
    }
}

/// The explanation page's query.
#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

/// `GET /my-record/proofs`: what a proof shows, and how to check it.
pub async fn proofs(
    State(broker): State<Broker>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = lang::negotiate(q.lang.as_deref(), None, &headers);
    let key = broker
        .log
        .as_ref()
        .and_then(|l| l.vkeys().ok())
        .and_then(|k| k.into_iter().next());
    record_pages::proofs(lang, key.as_deref(), &broker.issuer)
}
