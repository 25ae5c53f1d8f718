//! Provider lifecycle: register (pending, with a conformance report), approve, suspend, revoke.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use trust_framework::registry::ProviderEntry;

use super::auth::{Admin, AdminError, Role};
use super::{Change, Target, changes, lifecycle, mutate, reader};
use crate::app::Broker;
use crate::audit::{EntryKind, Event};

#[derive(Debug, Deserialize)]
pub struct Reason {
    pub reason: String,
}

fn summary(entry: &ProviderEntry) -> Value {
    json!({
        "id": entry.id,
        "jurisdiction": entry.jurisdiction,
        "issuer": entry.issuer,
        "status": entry.status,
        "status_reason": entry.status_reason,
        "registered_by": entry.registered_by,
    })
}

pub async fn list(
    State(broker): State<Broker>,
    admin: Admin,
) -> Result<impl IntoResponse, AdminError> {
    reader(&admin)?;
    let registry = broker.fresh_registry().await;
    Ok(Json(
        json!({ "providers": registry.source().providers.iter().map(summary).collect::<Vec<_>>() }),
    ))
}

pub async fn show(
    State(broker): State<Broker>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AdminError> {
    reader(&admin)?;
    let registry = broker.fresh_registry().await;
    let found = registry
        .source()
        .providers
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| AdminError::NotFound(format!("no provider {id:?}")))?;
    Ok(Json(
        json!({ "provider": found, "summary": summary(found) }),
    ))
}

pub async fn conformance_report(
    State(broker): State<Broker>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AdminError> {
    reader(&admin)?;
    if broker.fresh_registry().await.provider(&id).is_none() {
        return Err(AdminError::NotFound(format!("no provider {id:?}")));
    }
    let report = broker
        .records
        .report(&id)
        .await
        .map_err(|e| AdminError::Unavailable(e.to_string()))?
        .ok_or_else(|| AdminError::NotFound(format!("no conformance report for {id:?}")))?;
    let value: Value =
        serde_json::from_str(&report).map_err(|e| AdminError::Unavailable(e.to_string()))?;
    Ok(Json(value))
}

/// Registers a provider as `pending`, then runs the conformance suite (static checks from its
/// discovery document and keys) and stores the report.
pub async fn register(
    State(broker): State<Broker>,
    admin: Admin,
    Json(provider): Json<ProviderEntry>,
) -> Result<impl IntoResponse, AdminError> {
    admin.require(Role::Registrar)?;
    let id = provider.id.clone();
    let change = Change {
        action: "provider.registered",
        target: Target::Provider(&id),
        proposed_by: Some(&admin.name),
        approved_by: None,
        reason: None,
    };
    let registry = mutate(&broker, change, |file| {
        changes::register_provider(file, provider, &admin.name)
    })
    .await?;
    broker.audit(Event::ProviderRegistered {
        admin: &admin.name,
        provider: &id,
    });
    let passed = run_conformance(&broker, &registry, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "status": "pending", "conformance": passed })),
    ))
}

async fn run_conformance(
    broker: &Broker,
    registry: &trust_framework::Registry,
    id: &str,
) -> Result<Value, AdminError> {
    let provider = registry
        .provider(id)
        .ok_or_else(|| AdminError::NotFound(id.to_owned()))?;
    let mut target = conformance::provider::ProviderTarget::new(provider.issuer.clone());
    target.allow_loopback_http = registry.is_development();
    target.registry_entry = Some(provider.clone());
    // The suite trusts what the broker trusts: `[upstream] ca_bundle` too.
    if let Some(bundle) = broker.upstream.ca_bundle() {
        target.ca_bundle = Some(
            conformance::CaBundle::from_pem_file(bundle)
                .map_err(|e| AdminError::Unavailable(format!("[upstream] ca_bundle: {e}")))?,
        );
    }
    let now = broker.now();
    let (passed, json, result) = match conformance::provider::check_provider(&target, now).await {
        Ok(report) => {
            let failed: Vec<&str> = report.failed_ids();
            let result = json!({ "passed": report.passed(), "failed": failed });
            let full: Value = conformance::report::json(&report)
                .ok()
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or(Value::Null);
            let stored = json!({ "passed": report.passed(), "failed": failed, "report": full });
            (report.passed(), stored.to_string(), result)
        }
        Err(e) => {
            let result = json!({ "passed": false, "error": e.to_string() });
            (false, result.to_string(), result)
        }
    };
    broker
        .records
        .save_report(id, passed, &json, now)
        .await
        .map_err(|e| AdminError::Unavailable(e.to_string()))?;
    broker.audit(Event::ProviderConformance {
        provider: id,
        result: &result,
    });
    Ok(result)
}

/// Activates a pending or suspended provider. Separation of duties: the registrar cannot
/// approve, and a provider whose conformance report failed cannot be approved.
pub async fn approve(
    State(broker): State<Broker>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AdminError> {
    admin.require(Role::Approver)?;
    let report = broker
        .records
        .report(&id)
        .await
        .map_err(|e| AdminError::Unavailable(e.to_string()))?;
    let passed = report
        .as_deref()
        .and_then(|r| serde_json::from_str::<Value>(r).ok())
        .is_some_and(|v| v["passed"] == true);
    let change = Change {
        action: "provider.approved",
        target: Target::Provider(&id),
        proposed_by: None,
        approved_by: Some(&admin.name),
        reason: None,
    };
    mutate(&broker, change, |file| {
        lifecycle::approve(lifecycle::find(&mut file.providers, &id)?, &admin)?;
        if !passed {
            return Err(AdminError::Conflict(format!(
                "{id:?} has no passing conformance report"
            )));
        }
        Ok(())
    })
    .await?;
    broker.audit(Event::ProviderApproved {
        admin: &admin.name,
        provider: &id,
    });
    Ok(Json(json!({ "id": id, "status": "active" })))
}

const KIND: lifecycle::Kind<ProviderEntry> = lifecycle::Kind {
    entries: |file| &mut file.providers,
    event: EntryKind::Provider,
    id_field: "id",
};

pub async fn suspend(
    State(broker): State<Broker>,
    admin: Admin,
    Path(id): Path<String>,
    Json(r): Json<Reason>,
) -> Result<impl IntoResponse, AdminError> {
    Ok(Json(
        lifecycle::change_status(&broker, &admin, &KIND, &id, "suspended", &r.reason).await?,
    ))
}

pub async fn revoke(
    State(broker): State<Broker>,
    admin: Admin,
    Path(id): Path<String>,
    Json(r): Json<Reason>,
) -> Result<impl IntoResponse, AdminError> {
    Ok(Json(
        lifecycle::change_status(&broker, &admin, &KIND, &id, "revoked", &r.reason).await?,
    ))
}
