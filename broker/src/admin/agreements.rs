//! Information sharing agreements: created, amended (each amendment is a new version, so
//! consents given under the old one are asked again), and terminated (release stops at once).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;
use trust_framework::registry::AgreementEntry;

use super::auth::{Admin, AdminError, Role};
use super::providers::Reason;
use super::{Change, Target, changes, mutate, reader};
use crate::app::Broker;
use crate::audit::Event;

pub async fn list(
    State(broker): State<Broker>,
    admin: Admin,
) -> Result<impl IntoResponse, AdminError> {
    reader(&admin)?;
    Ok(Json(
        json!({ "agreements": broker.fresh_registry().await.source().agreements }),
    ))
}

pub async fn create(
    State(broker): State<Broker>,
    admin: Admin,
    Json(agreement): Json<AgreementEntry>,
) -> Result<impl IntoResponse, AdminError> {
    admin.require(Role::Registrar)?;
    let id = agreement.id.clone();
    let change = Change {
        action: "agreement.created",
        target: Target::Agreement(&id),
        proposed_by: Some(&admin.name),
        approved_by: None,
        reason: None,
    };
    mutate(&broker, change, |file| {
        changes::create_agreement(file, agreement)
    })
    .await?;
    broker.audit(Event::AgreementCreated {
        admin: &admin.name,
        agreement: &id,
    });
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "version": 1 }))))
}

/// Replaces the agreement's terms with a new version; its id and relying party stay.
pub async fn amend(
    State(broker): State<Broker>,
    admin: Admin,
    Path(id): Path<String>,
    Json(terms): Json<AgreementEntry>,
) -> Result<impl IntoResponse, AdminError> {
    admin.require(Role::Registrar)?;
    let mut version = 0;
    let change = Change {
        action: "agreement.amended",
        target: Target::Agreement(&id),
        proposed_by: Some(&admin.name),
        approved_by: None,
        reason: None,
    };
    mutate(&broker, change, |file| {
        version = changes::amend_agreement(file, &id, terms)?;
        Ok(())
    })
    .await?;
    broker.audit(Event::AgreementAmended {
        admin: &admin.name,
        agreement: &id,
        version,
    });
    Ok(Json(json!({ "id": id, "version": version })))
}

pub async fn terminate(
    State(broker): State<Broker>,
    admin: Admin,
    Path(id): Path<String>,
    Json(r): Json<Reason>,
) -> Result<impl IntoResponse, AdminError> {
    admin.require(Role::Approver)?;
    if r.reason.trim().is_empty() {
        return Err(AdminError::Invalid("a termination needs a reason".into()));
    }
    let change = Change {
        action: "agreement.terminated",
        target: Target::Agreement(&id),
        proposed_by: Some(&admin.name),
        approved_by: Some(&admin.name),
        reason: Some(&r.reason),
    };
    mutate(&broker, change, |file| {
        changes::terminate_agreement(file, &id, &r.reason)
    })
    .await?;
    broker.audit(Event::AgreementTerminated {
        admin: &admin.name,
        agreement: &id,
        reason: &r.reason,
    });
    Ok(Json(json!({ "id": id, "status": "terminated" })))
}
