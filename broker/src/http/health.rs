//! Liveness, readiness and the stylesheet.

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

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        crate::http::pages::STYLESHEET,
    )
}
