//! The admin API: providers register and are approved, suspended or revoked, every change
//! validated like the registry file, saved with compare-and-set, and audited.

mod agreements;
pub mod auth;
pub(crate) mod changes;
pub(crate) mod docs;
mod history;
mod keys;
pub(crate) mod lifecycle;
mod log;
pub(crate) mod providers;
mod reports;
mod services;

use axum::Router;
use axum::routing::{get, post};
use trust_framework::{Registry, RegistryFile};

use crate::app::Broker;
use crate::records::{Records, RecordsError, RegistryChange};
use auth::AdminError;

pub fn router(broker: Broker) -> Router<Broker> {
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
        .route("/admin/history", get(history::list))
        .route("/admin/reports", get(reports::list))
        .route("/admin/log", get(log::status))
        .route("/admin/log/records", get(log::records))
        .route("/admin/log/proof/inclusion", get(log::inclusion))
        .route("/admin/log/proof/consistency", get(log::consistency))
        .route("/admin/keys", get(keys::list))
        .route("/admin/keys/rotate", post(keys::rotate))
        .merge(docs::router())
        .route_layer(axum::middleware::from_fn_with_state(broker, auth::audited))
}

/// A time the records keep (Unix milliseconds) as RFC 3339, for answers.
pub(crate) fn rfc3339(at: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
}

/// Any of the three roles may read.
pub fn reader(admin: &auth::Admin) -> Result<(), AdminError> {
    use auth::Role;
    admin
        .require(Role::Auditor)
        .or_else(|_| admin.require(Role::Registrar))
        .or_else(|_| admin.require(Role::Approver))
}

/// What an admin call changes, for the registry's history.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// `provider.registered`, `provider.approved`, `provider.suspended`, …
    pub action: &'a str,
    pub target: Target<'a>,
    /// Who asked for the change; `None` for the entry's registrar (an approval).
    pub proposed_by: Option<&'a str>,
    /// The second person, where the change needs one.
    pub approved_by: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// The entry a change is about.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Provider(&'a str),
    Service(&'a str),
    Agreement(&'a str),
}

impl Target<'_> {
    fn id(self) -> &'static str {
        match self {
            Target::Provider(_) => "provider",
            Target::Service(_) => "service",
            Target::Agreement(_) => "agreement",
        }
    }

    fn name(&self) -> &str {
        match self {
            Target::Provider(id) | Target::Service(id) | Target::Agreement(id) => id,
        }
    }

    /// The entry as it stands in `file`, as JSON.
    fn entry(&self, file: &RegistryFile) -> Option<serde_json::Value> {
        let found = match self {
            Target::Provider(id) => file
                .providers
                .iter()
                .find(|p| p.id == *id)
                .map(serde_json::to_value),
            Target::Service(id) => file
                .relying_parties
                .iter()
                .find(|r| r.client_id == *id)
                .map(serde_json::to_value),
            Target::Agreement(id) => file
                .agreements
                .iter()
                .find(|a| a.id == *id)
                .map(serde_json::to_value),
        };
        found.and_then(Result::ok)
    }
}

/// Applies `apply` to the registry in the records: validated like the file, saved as a new
/// version with `change` (who, why, the entry before and after) only if nobody saved another
/// meanwhile, then swapped in here; other replicas see it on their next request.
pub async fn mutate(
    broker: &Broker,
    change: Change<'_>,
    apply: impl FnOnce(&mut RegistryFile) -> Result<(), AdminError>,
) -> Result<Registry, AdminError> {
    let unavailable = |e: RecordsError| AdminError::Unavailable(e.to_string());
    let (version, mut file) = match broker.records.registry().await.map_err(unavailable)? {
        Some(loaded) => loaded,
        None => (0, broker.registry().source().clone()),
    };
    let before = change.target.entry(&file);
    apply(&mut file)?;
    let registry = Registry::from_file(file.clone()).map_err(|e| {
        AdminError::Problems(e.problems().iter().map(ToString::to_string).collect())
    })?;
    let after = change.target.entry(&file);
    let registrar = before
        .as_ref()
        .and_then(|b| b.get("registered_by"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    let record = RegistryChange {
        action: change.action,
        target: Some(change.target.name()),
        proposed_by: change.proposed_by.or(registrar.as_deref()),
        approved_by: change.approved_by,
        reason: change.reason,
        before,
        after,
    };
    let new_version = broker
        .records
        .append_registry(version, &file, &record, broker.now())
        .await
        .map_err(|e| match e {
            RecordsError::Conflict(_) => AdminError::Conflict(e.to_string()),
            other => unavailable(other),
        })?;
    broker.install_registry(registry.clone(), new_version);
    tracing::info!(
        version = new_version,
        entry = change.target.id(),
        "registry changed"
    );
    Ok(registry)
}

/// The registry could not be put in force at start.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Records(#[from] RecordsError),
    #[error("the registry in the records (version {0}) no longer validates: {1}")]
    Invalid(u64, trust_framework::RegistryError),
}

/// The registry in force at start, and its version: the records' newest, or, the first time,
/// `from_file` (read from `source`), saved as version 1. Once the records hold the registry,
/// changes go through the admin API; the file is only read the first time.
pub async fn bootstrap(
    records: &Records,
    from_file: Registry,
    source: &str,
    now: time::OffsetDateTime,
) -> Result<(u64, Registry), BootstrapError> {
    match records.registry().await? {
        Some((version, file)) => {
            if &file != from_file.source() {
                tracing::warn!(
                    version,
                    file = source,
                    "the registry file differs from the registry in force in the records, which \
                     is used: change it through the admin API"
                );
            }
            let registry =
                Registry::from_file(file).map_err(|e| BootstrapError::Invalid(version, e))?;
            Ok((version, registry))
        }
        None => {
            let reason = format!("loaded from {source}");
            let change = RegistryChange {
                action: "registry.loaded",
                reason: Some(&reason),
                ..RegistryChange::default()
            };
            match records
                .append_registry(0, from_file.source(), &change, now)
                .await
            {
                Ok(version) => Ok((version, from_file)),
                // Another replica loaded it first: take what it saved.
                Err(RecordsError::Conflict(_)) => {
                    Box::pin(bootstrap(records, from_file, source, now)).await
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}
