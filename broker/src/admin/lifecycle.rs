//! What providers and relying services share: pending until approved by someone other than
//! their registrar, then active, suspended or revoked, always with a reason.

use serde_json::{Value, json};
use trust_framework::RegistryFile;
use trust_framework::registry::{ProviderEntry, RelyingPartyEntry};

use super::auth::{Admin, AdminError, Role};
use crate::app::Broker;
use crate::audit::{EntryKind, Event};

pub trait Entry {
    fn id(&self) -> &str;
    fn status_mut(&mut self) -> (&mut String, &mut Option<String>);
    fn registered_by(&self) -> Option<&str>;
}

impl Entry for ProviderEntry {
    fn id(&self) -> &str {
        &self.id
    }
    fn status_mut(&mut self) -> (&mut String, &mut Option<String>) {
        (&mut self.status, &mut self.status_reason)
    }
    fn registered_by(&self) -> Option<&str> {
        self.registered_by.as_deref()
    }
}

impl Entry for RelyingPartyEntry {
    fn id(&self) -> &str {
        &self.client_id
    }
    fn status_mut(&mut self) -> (&mut String, &mut Option<String>) {
        (&mut self.status, &mut self.status_reason)
    }
    fn registered_by(&self) -> Option<&str> {
        self.registered_by.as_deref()
    }
}

pub fn find<'a, E: Entry>(entries: &'a mut [E], id: &str) -> Result<&'a mut E, AdminError> {
    entries
        .iter_mut()
        .find(|e| e.id() == id)
        .ok_or_else(|| AdminError::NotFound(format!("no entry {id:?}")))
}

/// Activates an entry. Separation of duties: its registrar cannot; a revoked entry must
/// register again.
pub fn approve<E: Entry>(entry: &mut E, admin: &Admin) -> Result<(), AdminError> {
    let id = entry.id().to_owned();
    if entry.registered_by() == Some(admin.name.as_str()) {
        return Err(admin.forbidden(format!(
            "{} registered {id:?} and so cannot approve it (separation of duties)",
            admin.name
        )));
    }
    let (status, reason) = entry.status_mut();
    if status == "revoked" {
        return Err(AdminError::Conflict(format!(
            "{id:?} is revoked; it must register again"
        )));
    }
    *status = "active".into();
    *reason = None;
    Ok(())
}

/// Suspends or revokes, with the reason the registry requires.
pub fn set_status<E: Entry>(entry: &mut E, status: &str, reason: &str) -> Result<(), AdminError> {
    if reason.trim().is_empty() {
        return Err(AdminError::Invalid(format!(
            "a {status} entry needs a reason"
        )));
    }
    let (s, r) = entry.status_mut();
    *s = status.into();
    *r = Some(reason.trim().to_owned());
    Ok(())
}

/// How a kind of entry is found and named, for the shared status changes.
pub struct Kind<E: 'static> {
    pub entries: fn(&mut RegistryFile) -> &mut Vec<E>,
    /// Which entries, for the audit event (`provider.status`, `service.status`).
    pub event: crate::audit::EntryKind,
    /// The identifier's name in responses (`id`, `client_id`).
    pub id_field: &'static str,
}

/// Suspends or revokes an entry (approvers only), saved and audited.
pub async fn change_status<E: Entry + 'static>(
    broker: &Broker,
    admin: &Admin,
    kind: &Kind<E>,
    id: &str,
    status: &'static str,
    reason: &str,
) -> Result<Value, AdminError> {
    admin.require(Role::Approver)?;
    // `provider.suspended`, `service.revoked`: what the history's reader looks for.
    let action = match kind.event {
        EntryKind::Provider => format!("provider.{status}"),
        EntryKind::Service => format!("service.{status}"),
    };
    let change = super::Change {
        action: &action,
        target: match kind.event {
            EntryKind::Provider => super::Target::Provider(id),
            EntryKind::Service => super::Target::Service(id),
        },
        proposed_by: Some(&admin.name),
        approved_by: Some(&admin.name),
        reason: Some(reason),
    };
    super::mutate(broker, change, |file| {
        set_status(find((kind.entries)(file), id)?, status, reason)
    })
    .await?;
    broker.audit(Event::StatusChanged {
        kind: kind.event,
        admin: &admin.name,
        id,
        status,
        reason,
    });
    Ok(json!({ kind.id_field: id, "status": status, "reason": reason }))
}
