//! The admin API: providers register and are approved, suspended or revoked, every change
//! validated like the registry file, saved with compare-and-set, and audited.

mod agreements;
pub mod auth;
pub(crate) mod changes;
pub(crate) mod docs;
mod keys;
pub(crate) mod lifecycle;
pub(crate) mod providers;
pub mod registry_store;
mod services;

use axum::Router;
use axum::routing::{get, post};
use trust_framework::{Registry, RegistryFile};

use crate::app::Broker;
use auth::AdminError;

pub fn router() -> Router<Broker> {
    Router::new()
        .route(
            "/admin/providers",
            get(providers::list).post(providers::register),
        )
        .route("/admin/providers/{id}", get(providers::show))
        .route(
            "/admin/providers/{id}/conformance",
            get(providers::conformance_report),
        )
        .route("/admin/providers/{id}/approve", post(providers::approve))
        .route("/admin/providers/{id}/suspend", post(providers::suspend))
        .route("/admin/providers/{id}/revoke", post(providers::revoke))
        .route(
            "/admin/services",
            get(services::list).post(services::register),
        )
        .route("/admin/services/{id}/approve", post(services::approve))
        .route("/admin/services/{id}/suspend", post(services::suspend))
        .route("/admin/services/{id}/revoke", post(services::revoke))
        .route(
            "/admin/agreements",
            get(agreements::list).post(agreements::create),
        )
        .route("/admin/agreements/{id}/amend", post(agreements::amend))
        .route(
            "/admin/agreements/{id}/terminate",
            post(agreements::terminate),
        )
        .route("/admin/keys", get(keys::list))
        .route("/admin/keys/rotate", post(keys::rotate))
        .merge(docs::router())
        .route_layer(axum::middleware::from_fn(auth::audited))
}

/// Any of the three roles may read.
pub fn reader(admin: &auth::Admin) -> Result<(), AdminError> {
    use auth::Role;
    admin
        .require(Role::Auditor)
        .or_else(|_| admin.require(Role::Registrar))
        .or_else(|_| admin.require(Role::Approver))
}

/// Applies `change` to the stored registry: validated like the file, saved only if nobody
/// changed it meanwhile, then swapped in here (other replicas follow within the sync interval).
pub async fn mutate(
    broker: &Broker,
    change: impl FnOnce(&mut RegistryFile) -> Result<(), AdminError>,
) -> Result<Registry, AdminError> {
    let store = broker.registry_store.as_ref().ok_or_else(|| {
        AdminError::Unavailable("this broker has no registry store configured".into())
    })?;
    let (version, mut file) = match store
        .load()
        .await
        .map_err(|e| AdminError::Unavailable(e.to_string()))?
    {
        Some(loaded) => loaded,
        None => (0, broker.registry().source().clone()),
    };
    change(&mut file)?;
    let registry = Registry::from_file(file.clone()).map_err(|e| {
        AdminError::Problems(e.problems().iter().map(ToString::to_string).collect())
    })?;
    let new_version = store.save(version, &file).await.map_err(|e| match e {
        crate::admin::registry_store::RegistryStoreError::Conflict(_) => {
            AdminError::Conflict(e.to_string())
        }
        other => AdminError::Unavailable(other.to_string()),
    })?;
    broker.install_registry(registry.clone(), new_version);
    Ok(registry)
}
