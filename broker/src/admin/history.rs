//! The registry's history: every change, newest first, with who proposed it, who approved it,
//! when, why, and the entry before and after. For auditors (any role may read).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;
use serde_json::json;

use super::auth::{Admin, AdminError};
use super::reader;
use crate::app::Broker;

/// The most changes one answer holds.
const MAX_LIMIT: u32 = 500;

/// `target`: the changes of one entry only (a provider id, a client id or an agreement id);
/// `limit`: how many at most. Read here rather than by the framework, so that a bad value is
/// refused in the admin API's JSON like every other mistake.
fn query(raw: Option<&str>) -> Result<(Option<String>, u32), AdminError> {
    let (mut target, mut limit) = (None, 100);
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match &*k {
            "target" if !v.is_empty() => target = Some(v.into_owned()),
            "limit" => {
                limit = v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        AdminError::Invalid(format!("limit must be from 1 to {MAX_LIMIT}"))
                    })?;
            }
            _ => {}
        }
    }
    Ok((target, limit))
}

pub async fn list(
    State(broker): State<Broker>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<impl IntoResponse, AdminError> {
    reader(&admin)?;
    let (target, limit) = query(raw.as_deref())?;
    let versions = broker
        .records
        .registry_history(target.as_deref(), limit)
        .await
        .map_err(|e| AdminError::Unavailable(e.to_string()))?;
    let changes: Vec<_> = versions
        .into_iter()
        .map(|v| {
            let at = super::rfc3339(v.at);
            json!({
                "version": v.version,
                "action": v.action,
                "target": v.target,
                "proposed_by": v.proposed_by,
                "approved_by": v.approved_by,
                "reason": v.reason,
                "at": at,
                "before": v.before,
                "after": v.after,
            })
        })
        .collect();
    Ok(Json(json!({ "changes": changes })))
}
