//! The changes the admin API makes to the registry, as functions of the registry file alone:
//! the handlers apply them inside `super::mutate` (which validates the result and saves it),
//! and the `admin_payload` fuzz target applies the very same functions to its inputs.

use trust_framework::RegistryFile;
use trust_framework::registry::{AgreementEntry, ProviderEntry, RelyingPartyEntry};

use super::auth::AdminError;

/// Adds a provider as `pending`, registered by `registrar`. A revoked provider registers again
/// under the same id, from scratch.
pub fn register_provider(
    file: &mut RegistryFile,
    mut provider: ProviderEntry,
    registrar: &str,
) -> Result<(), AdminError> {
    provider.status = "pending".into();
    provider.status_reason = None;
    provider.registered_by = Some(registrar.to_owned());
    match file.providers.iter_mut().find(|p| p.id == provider.id) {
        Some(existing) if existing.status == "revoked" => *existing = provider,
        Some(_) => {
            return Err(AdminError::Conflict(format!(
                "provider {:?} is already registered",
                provider.id
            )));
        }
        None => file.providers.push(provider),
    }
    Ok(())
}

/// Adds a relying service as `pending`, registered by `registrar`.
pub fn register_service(
    file: &mut RegistryFile,
    mut service: RelyingPartyEntry,
    registrar: &str,
) -> Result<(), AdminError> {
    service.status = "pending".into();
    service.status_reason = None;
    service.registered_by = Some(registrar.to_owned());
    add_service(file, service)
}

/// Adds a relying service as it is (a dynamic registration sets its own status and origin).
pub fn add_service(file: &mut RegistryFile, service: RelyingPartyEntry) -> Result<(), AdminError> {
    if file
        .relying_parties
        .iter()
        .any(|r| r.client_id == service.client_id)
    {
        return Err(AdminError::Conflict(format!(
            "client {:?} is already registered",
            service.client_id
        )));
    }
    file.relying_parties.push(service);
    Ok(())
}

/// Adds an agreement, in force at once, as version 1.
pub fn create_agreement(
    file: &mut RegistryFile,
    mut agreement: AgreementEntry,
) -> Result<(), AdminError> {
    agreement.version = 1;
    agreement.status = "active".into();
    agreement.status_reason = None;
    if file.agreements.iter().any(|a| a.id == agreement.id) {
        return Err(AdminError::Conflict(format!(
            "agreement {:?} already exists; amend it",
            agreement.id
        )));
    }
    file.agreements.push(agreement);
    Ok(())
}

/// Replaces agreement `id`'s terms with a new version (its id and relying party stay), and
/// returns that version: consents given under the old one are asked again.
pub fn amend_agreement(
    file: &mut RegistryFile,
    id: &str,
    mut terms: AgreementEntry,
) -> Result<u32, AdminError> {
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
    terms.id = id.to_owned();
    terms.version = current.version + 1;
    terms.status = "active".into();
    terms.status_reason = None;
    let version = terms.version;
    *current = terms;
    Ok(version)
}

/// Terminates agreement `id`, with the reason the registry requires: release stops at once.
pub fn terminate_agreement(
    file: &mut RegistryFile,
    id: &str,
    reason: &str,
) -> Result<(), AdminError> {
    if reason.trim().is_empty() {
        return Err(AdminError::Invalid("a termination needs a reason".into()));
    }
    let a = file
        .agreements
        .iter_mut()
        .find(|a| a.id == id)
        .ok_or_else(|| AdminError::NotFound(format!("no agreement {id:?}")))?;
    a.status = "terminated".into();
    a.status_reason = Some(reason.trim().to_owned());
    Ok(())
}
