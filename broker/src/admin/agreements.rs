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
use super::{mutate, reader};
use crate::app::Broker;

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
    Json(mut agreement): Json<AgreementEntry>,
) -> Result<impl IntoResponse, AdminError> {
    admin.require(Role::Registrar)?;
    agreement.version = 1;
    agreement.status = "active".into();
    agreement.status_reason = None;
    let id = agreement.id.clone();
    mutate(&broker, |file| {
        if file.agreements.iter().any(|a| a.id == agreement.id) {
            return Err(AdminError::Conflict(format!(
                "agreement {:?} already exists; amend it",
                agreement.id
            )));
        }
        file.agreements.push(agreement);
        Ok(())
    })
    .await?;
    tracing::info!(target: "audit", event = "agreement.created", admin = %admin.name, agreement = %id);
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "version": 1 }))))
}

/// Replaces the agreement's terms with a new version; its id and relying party stay.
pub async fn amend(
    State(broker): State<Broker>,
    admin: Admin,
    Path(id): Path<String>,
    Json(mut terms): Json<AgreementEntry>,
) -> Result<impl IntoResponse, AdminError> {
    admin.require(Role::Registrar)?;
    let mut version = 0;
    mutate(&broker, |file| {
        let current = file
            .agreements
            .iter_mut()
            .find(|a| a.id == id)
            .ok_or_else(|| AdminError::NotFound(format!("no agreement {id:?}")))?;
        if current.status == "terminated" {
            return Err(AdminError::Conflict(format!(
                "agreement {id:?} is terminated"
            )));
        }
        if terms.relying_party != current.relying_party {
            return Err(AdminError::Invalid(
                "an amendment cannot change the relying party; create a new agreement".into(),
            ));
        }
        terms.id = id.clone();
        terms.version = current.version + 1;
        terms.status = "active".into();
        terms.status_reason = None;
        version = terms.version;
        *current = terms;
        Ok(())
    })
    .await?;
    tracing::info!(target: "audit", event = "agreement.amended", admin = %admin.name, agreement = %id, version);
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
    mutate(&broker, |file| {
        let a = file
            .agreements
            .iter_mut()
            .find(|a| a.id == id)
            .ok_or_else(|| AdminError::NotFound(format!("no agreement {id:?}")))?;
        a.status = "terminated".into();
        a.status_reason = Some(r.reason.trim().to_owned());
        Ok(())
    })
    .await?;
    tracing::info!(target: "audit", event = "agreement.terminated", admin = %admin.name, agreement = %id, reason = %r.reason);
    Ok(Json(json!({ "id": id, "status": "terminated" })))
}
