//! "This wasn't me" reports from persons' records, newest first, for the operator to follow
//! up: which disclosure (its login's txn, the service, the provider), when it was reported, and
//! the reference the person will quote. No person key: the operator follows a report through
//! the disclosure and the provider, not by linking persons.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;
use serde_json::json;

use super::auth::{Admin, AdminError};
use super::reader;
use crate::app::Broker;

const MAX_LIMIT: i64 = 500;

/// `GET /admin/reports?limit=`: the reports, newest first (any role may read).
pub async fn list(
    State(broker): State<Broker>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<impl IntoResponse, AdminError> {
    reader(&admin)?;
    let mut limit = 100;
    for (k, v) in url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        if k == "limit" {
            limit = v
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    AdminError::Invalid(format!("limit must be from 1 to {MAX_LIMIT}"))
                })?;
        }
    }
    let reports = broker
        .records
        .disclosure_reports(limit)
        .await
        .map_err(|e| AdminError::Unavailable(e.to_string()))?;
    let reports: Vec<_> = reports
        .into_iter()
        .map(|r| {
            json!({
                "reference": r.reference,
                "reported_at": super::rfc3339(r.at),
                "txn": r.txn,
                "client_id": r.client_id,
                "provider_id": r.provider_id,
            })
        })
        .collect();
    Ok(Json(json!({ "reports": reports })))
}
