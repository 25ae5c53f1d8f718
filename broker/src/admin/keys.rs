//! The broker's signing keys: which sign, which are published, and rotation on demand.
//! Rotation is an approver's act: it changes what every relying party verifies against.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;

use super::auth::{Admin, AdminError, Role};
use super::reader;
use crate::app::Broker;
use crate::audit::Event;

pub async fn list(
    State(broker): State<Broker>,
    admin: Admin,
) -> Result<impl IntoResponse, AdminError> {
    reader(&admin)?;
    let keys = broker.keys.current();
    let signing: Vec<_> = keys
        .kids()
        .into_iter()
        .map(|(alg, kid, next)| json!({ "alg": alg, "signing_kid": kid, "next_kid": next }))
        .collect();
    Ok(Json(
        json!({ "keys": signing, "jwks": keys.jwks_at(broker.now().unix_timestamp()) }),
    ))
}

pub async fn rotate(
    State(broker): State<Broker>,
    admin: Admin,
) -> Result<impl IntoResponse, AdminError> {
    admin.require(Role::Approver)?;
    let report = broker
        .keys
        .rotate(broker.now().unix_timestamp())
        .map_err(|e| {
            tracing::error!(error = %e, "key rotation failed");
            AdminError::Unavailable(format!("key rotation failed: {e}"))
        })?;
    for r in &report {
        broker.audit(Event::KeysRotated {
            admin: &admin.name,
            alg: r.alg,
            promoted: r.promoted,
            signing_kid: &r.signing_kid,
            next_kid: &r.next_kid,
        });
    }
    Ok(Json(json!({ "rotated": report })))
}
