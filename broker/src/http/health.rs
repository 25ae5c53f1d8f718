//! Liveness, readiness and the operator's logo.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::app::Broker;

/// Liveness only: the process answers. Never touches the store.
pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok")
}

/// Readiness: the state store and the records both answer (a broker that can keep no login
/// or commit no release serves no one).
pub async fn readyz(State(broker): State<Broker>) -> impl IntoResponse {
    let (store, records) = tokio::join!(broker.store.0.ping(), broker.records.ping());
    match (store, records) {
        (Ok(()), Ok(())) => (StatusCode::OK, "ready".to_owned()),
        (Err(e), _) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}")),
        (_, Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}")),
    }
}

/// The operator's logo, when `[operator]` names one (`crate::http::operator`).
pub async fn operator_logo(State(broker): State<Broker>) -> axum::response::Response {
    match &broker.operator.logo {
        Some(logo) => (
            [
                (header::CONTENT_TYPE, logo.content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            logo.bytes.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
