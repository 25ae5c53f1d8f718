//! Relying services: registered by a registrar (pending), approved by someone else, suspended
//! or revoked with a reason.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use trust_framework::registry::RelyingPartyEntry;

use super::auth::{Admin, AdminError, Role};
use super::providers::Reason;
use super::{Change, Target, changes, lifecycle, mutate, reader};
use crate::app::Broker;
use crate::audit::{EntryKind, Event};

fn summary(entry: &RelyingPartyEntry) -> Value {
    json!({
        "client_id": entry.client_id,
        "jurisdiction": entry.jurisdiction,
        "redirect_uris": entry.redirect_uris,
        "token_endpoint_auth_method": entry.token_endpoint_auth_method,
        "sector_identifier": entry.sector_identifier,
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
        json!({ "services": registry.source().relying_parties.iter().map(summary).collect::<Vec<_>>() }),
    ))
}

pub async fn register(
    State(broker): State<Broker>,
    admin: Admin,
    Json(service): Json<RelyingPartyEntry>,
) -> Result<impl IntoResponse, AdminError> {
    admin.require(Role::Registrar)?;
    let id = service.client_id.clone();
    let change = Change {
        action: "service.registered",
        target: Target::Service(&id),
        proposed_by: Some(&admin.name),
        approved_by: None,
        reason: None,
    };
    mutate(&broker, change, |file| {
        changes::register_service(file, service, &admin.name)
    })
    .await?;
    broker.audit(Event::ServiceRegistered {
        admin: &admin.name,
        client: &id,
    });
    Ok((
        StatusCode::CREATED,
        Json(json!({ "client_id": id, "status": "pending" })),
    ))
}

pub async fn approve(
    State(broker): State<Broker>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AdminError> {
    admin.require(Role::Approver)?;
    let change = Change {
        action: "service.approved",
        target: Target::Service(&id),
        proposed_by: None,
        approved_by: Some(&admin.name),
        reason: None,
    };
    mutate(&broker, change, |file| {
        lifecycle::approve(lifecycle::find(&mut file.relying_parties, &id)?, &admin)
    })
    .await?;
    broker.audit(Event::ServiceApproved {
        admin: &admin.name,
        client: &id,
    });
    Ok(Json(json!({ "client_id": id, "status": "active" })))
}

const KIND: lifecycle::Kind<RelyingPartyEntry> = lifecycle::Kind {
    entries: |file| &mut file.relying_parties,
    event: EntryKind::Service,
    id_field: "client_id",
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
