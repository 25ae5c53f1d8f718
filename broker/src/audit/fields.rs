//! What each audit event says: its fields, as one JSON object that its log line and its
//! record both carry (`Event::record`).

use serde_json::{Map, Value};

use super::event::{ConsentEventOutcome, Event, RateScope};

impl Event<'_> {
    /// The event's fields, `event` first: the one description of what each event says, which
    /// its log line and its record both carry.
    pub fn fields(&self) -> Map<String, Value> {
        let mut f = Fields(Map::new());
        f.put("event", self.name());
        match self {
            Self::RequestPushed { client } => f.put("client", *client),
            Self::PolicyRefused {
                client,
                code,
                refusal,
            } => {
                f.put("client", *client);
                f.put("code", *code);
                f.put("refusal", refusal.to_string());
            }
            Self::PolicyDecided {
                txn,
                client,
                eligible,
                level_required,
                attributes_requested,
                attributes_refused,
            } => {
                f.put("txn", *txn);
                f.put("client", *client);
                f.put("eligible", eligible.to_string());
                f.put("level_required", *level_required);
                f.put("attributes_requested", attributes_requested.to_string());
                f.put("attributes_refused", attributes_refused.to_string());
            }
            Self::ProviderRemembered { txn, provider } => {
                f.put("txn", *txn);
                f.put("provider", *provider);
            }
            Self::ProviderChosen {
                txn,
                provider,
                remembered,
            } => {
                f.put("txn", *txn);
                f.put("provider", *provider);
                f.put("remembered", *remembered);
            }
            Self::UpstreamSent {
                txn,
                provider,
                level_required,
                acr_values,
            } => {
                f.put("txn", *txn);
                f.put("provider", *provider);
                f.put("level_required", *level_required);
                f.put("acr_values", acr_values.to_string());
            }
            Self::UpstreamError {
                txn,
                provider,
                upstream_error,
            } => {
                f.put("txn", *txn);
                f.put("provider", *provider);
                f.put("upstream_error", *upstream_error);
            }
            Self::UpstreamFailed {
                txn,
                provider,
                error,
                reason,
            } => {
                f.put("txn", *txn);
                f.put("provider", *provider);
                f.put("error", *error);
                f.put("reason", *reason);
            }
            Self::CallbackRefused { txn, reason } => {
                f.put("txn", *txn);
                f.put("reason", *reason);
            }
            Self::ReleaseRefused {
                txn,
                provider,
                refusal,
            } => {
                f.put("txn", *txn);
                f.put("provider", *provider);
                f.put("refusal", refusal.to_string());
            }
            Self::ReleaseGranted {
                txn,
                client,
                provider,
                agreement,
                agreement_version,
                level_required,
                level_achieved,
                released,
                withheld,
            } => {
                f.put("txn", *txn);
                f.put("client", *client);
                f.put("provider", *provider);
                f.put("agreement", *agreement);
                f.put("agreement_version", *agreement_version);
                f.put("level_required", *level_required);
                f.put("level_achieved", *level_achieved);
                f.put("released", released.to_string());
                f.put("withheld", withheld.to_string());
            }
            Self::StepUpOffered {
                txn,
                refused_txn,
                failed_provider,
                offered,
            } => {
                f.put("txn", *txn);
                f.put("refused_txn", *refused_txn);
                f.put("failed_provider", *failed_provider);
                f.put("offered", offered.to_string());
            }
            Self::ConsentReused {
                txn,
                client,
                agreement,
                agreement_version,
            } => {
                f.put("txn", *txn);
                f.put("client", *client);
                f.put("agreement", *agreement);
                f.put("agreement_version", *agreement_version);
            }
            Self::ConsentGiven(d) | Self::NoticeAcknowledged(d) => {
                f.put("txn", d.txn);
                f.put("subject", d.subject);
                f.put("client", d.client);
                f.put("agreement", d.agreement);
                f.put("agreement_version", d.agreement_version);
                f.put("attributes", d.attributes.to_string());
                f.put("remembered", d.remembered);
            }
            Self::ConsentRefused {
                txn,
                subject,
                client,
                agreement,
                agreement_version,
                attributes,
            } => {
                f.put("txn", *txn);
                f.put("subject", *subject);
                f.put("client", *client);
                f.put("agreement", *agreement);
                f.put("agreement_version", *agreement_version);
                f.put("attributes", attributes.to_string());
            }
            Self::LoginFailed { txn, error, reason } => {
                f.put("txn", *txn);
                f.put("error", *error);
                f.put("reason", *reason);
            }
            Self::LoginAbandoned {
                txn,
                client,
                provider,
                stage,
            } => {
                f.put("txn", *txn);
                f.put("client", *client);
                f.put("provider", *provider);
                f.put("stage", *stage);
            }
            Self::TokenRefused {
                txn,
                client,
                error,
                reason,
            } => {
                f.put("txn", *txn);
                f.put("client", *client);
                f.put("error", *error);
                f.put("reason", *reason);
            }
            Self::TokenIssued { txn, client, acr } => {
                f.put("txn", *txn);
                f.put("client", *client);
                f.put("acr", *acr);
            }
            Self::RegistrationRefused { code, reason } => {
                f.put("code", *code);
                f.put("reason", *reason);
            }
            Self::ServiceRegisteredDynamic {
                client,
                jurisdiction,
                jti,
            } => {
                f.put("client", *client);
                f.put("jurisdiction", *jurisdiction);
                f.put("jti", *jti);
            }
            Self::AdminRefused {
                admin,
                method,
                path,
                reason,
            } => {
                f.put("admin", *admin);
                f.put("method", *method);
                f.put("path", *path);
                f.put("reason", *reason);
            }
            Self::AdminCall {
                admin,
                method,
                path,
                status,
            } => {
                f.put("admin", *admin);
                f.put("method", *method);
                f.put("path", *path);
                f.put("status", *status);
            }
            Self::ServiceRegistered { admin, client } | Self::ServiceApproved { admin, client } => {
                f.put("admin", *admin);
                f.put("client", *client);
            }
            Self::AgreementCreated { admin, agreement } => {
                f.put("admin", *admin);
                f.put("agreement", *agreement);
            }
            Self::AgreementAmended {
                admin,
                agreement,
                version,
            } => {
                f.put("admin", *admin);
                f.put("agreement", *agreement);
                f.put("version", *version);
            }
            Self::AgreementTerminated {
                admin,
                agreement,
                reason,
            } => {
                f.put("admin", *admin);
                f.put("agreement", *agreement);
                f.put("reason", *reason);
            }
            Self::ProviderRegistered { admin, provider }
            | Self::ProviderApproved { admin, provider } => {
                f.put("admin", *admin);
                f.put("provider", *provider);
            }
            Self::ProviderConformance { provider, result } => {
                f.put("provider", *provider);
                f.put("result", result.to_string());
            }
            Self::StatusChanged {
                admin,
                id,
                status,
                reason,
                ..
            } => {
                f.put("admin", *admin);
                f.put("id", *id);
                f.put("status", *status);
                f.put("reason", *reason);
            }
            Self::KeysRotated {
                admin,
                alg,
                promoted,
                signing_kid,
                next_kid,
            } => {
                f.put("admin", *admin);
                f.put("alg", *alg);
                f.put("promoted", *promoted);
                f.put("signing_kid", *signing_kid);
                f.put("next_kid", *next_kid);
            }
            Self::KeysReloaded => {}
            Self::RegistryLoaded { version } => f.put("version", *version),
            Self::LogCosigned { size, witnesses } => {
                f.put("size", *size);
                f.put("witnesses", *witnesses);
            }
            Self::LogInconsistent { old, new, reason } => {
                f.put("old", *old);
                f.put("new", *new);
                f.put("reason", *reason);
            }
            Self::TokenRevoked { txn, client } => {
                f.put("txn", *txn);
                f.put("client", *client);
            }
            Self::SessionStarted {
                sid,
                txn,
                provider,
                level,
                renewed,
            } => {
                f.put("sid", *sid);
                f.put("txn", *txn);
                f.put("provider", *provider);
                f.put("level", *level);
                f.put("renewed", *renewed);
            }
            Self::SessionReused { sid, txn, client } => {
                f.put("sid", *sid);
                f.put("txn", *txn);
                f.put("client", *client);
            }
            Self::SessionNotReused { sid, txn, reason } => {
                f.put("sid", *sid);
                f.put("txn", *txn);
                f.put("reason", *reason);
            }
            Self::SessionEnded {
                sid,
                cause,
                services,
            } => {
                f.put("sid", *sid);
                f.put("cause", *cause);
                f.put("services", *services);
            }
            Self::LogoutRefused { reason } => f.put("reason", *reason),
            Self::LogoutDelivered {
                sid,
                client,
                attempt,
            } => {
                f.put("sid", *sid);
                f.put("client", *client);
                f.put("attempt", *attempt);
            }
            Self::RecordSignInSent {
                sign_in,
                provider,
                level_required,
                fresh,
            } => {
                f.put("sign_in", *sign_in);
                f.put("provider", *provider);
                f.put("level_required", *level_required);
                f.put("fresh", *fresh);
            }
            Self::RecordSignInRefused {
                sign_in,
                provider,
                reason,
            } => {
                f.put("sign_in", *sign_in);
                f.put("provider", *provider);
                f.put("reason", *reason);
            }
            Self::RecordSignedIn {
                sign_in,
                provider,
                level,
                fresh,
            } => {
                f.put("sign_in", *sign_in);
                f.put("provider", *provider);
                f.put("level", *level);
                f.put("fresh", *fresh);
            }
            Self::ConsentWithdrawn {
                sign_in,
                client,
                agreement,
                agreement_version,
                reason,
                notified,
            } => {
                f.put("sign_in", *sign_in);
                f.put("client", *client);
                f.put("agreement", *agreement);
                f.put("agreement_version", *agreement_version);
                f.put("reason", *reason);
                f.put("notified", *notified);
            }
            Self::DisclosureReported {
                sign_in,
                txn,
                client,
                provider,
                reference,
            } => {
                f.put("sign_in", *sign_in);
                f.put("txn", *txn);
                f.put("client", *client);
                f.put("provider", *provider);
                f.put("reference", *reference);
            }
            Self::LogoutUndelivered {
                sid,
                client,
                attempts,
                reason,
            } => {
                f.put("sid", *sid);
                f.put("client", *client);
                f.put("attempts", *attempts);
                f.put("reason", *reason);
            }
            Self::ProviderLogout { provider, sessions } => {
                f.put("provider", *provider);
                f.put("sessions", *sessions);
            }
            Self::ProviderLogoutRefused { provider, reason } => {
                f.put("provider", *provider);
                f.put("reason", *reason);
            }
            Self::ConsentWithdrawnSet { about, outcome } => {
                f.put("subject", about.subject);
                f.put("client", about.client);
                f.put("agreement", about.agreement);
                f.put("agreement_version", about.agreement_version);
                match *outcome {
                    ConsentEventOutcome::Queued { id, reason } => {
                        f.put("id", id);
                        f.put("reason", reason);
                    }
                    ConsentEventOutcome::Cancelled { id } => f.put("id", id),
                    ConsentEventOutcome::Delivered { attempt } => f.put("attempt", attempt),
                    ConsentEventOutcome::Refused {
                        attempt,
                        err,
                        description,
                    } => {
                        f.put("attempt", attempt);
                        f.put("err", err);
                        f.put("description", description);
                    }
                    ConsentEventOutcome::Undelivered { attempts, reason } => {
                        f.put("attempts", attempts);
                        f.put("reason", reason);
                    }
                    ConsentEventOutcome::NotWanted | ConsentEventOutcome::NotRecorded => {}
                }
            }
            Self::RateLimited {
                scope,
                who,
                limit,
                window_seconds,
            } => {
                let (scope, whom) = match scope {
                    RateScope::Client => ("client", "client"),
                    RateScope::Address => ("address", "address"),
                };
                f.put("scope", scope);
                f.put(whom, who.to_string());
                f.put("limit", *limit);
                f.put("window_seconds", *window_seconds);
            }
        }
        f.0
    }
}

/// An event's fields, each put once; a field without a value (`None`) is left out, as the
/// log line leaves out a field whose value is absent.
struct Fields(Map<String, Value>);

impl Fields {
    fn put(&mut self, name: &str, value: impl Into<FieldValue>) {
        let value: FieldValue = value.into();
        if let Some(v) = value.0 {
            self.0.insert(name.to_owned(), v);
        }
    }
}

/// A field's value as JSON, or nothing.
struct FieldValue(Option<Value>);

impl From<&str> for FieldValue {
    fn from(v: &str) -> Self {
        Self(Some(Value::from(v)))
    }
}

impl From<String> for FieldValue {
    fn from(v: String) -> Self {
        Self(Some(Value::from(v)))
    }
}

impl From<bool> for FieldValue {
    fn from(v: bool) -> Self {
        Self(Some(Value::from(v)))
    }
}

impl From<u32> for FieldValue {
    fn from(v: u32) -> Self {
        Self(Some(Value::from(v)))
    }
}

impl From<u64> for FieldValue {
    fn from(v: u64) -> Self {
        Self(Some(Value::from(v)))
    }
}

impl<T: Into<FieldValue>> From<Option<T>> for FieldValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self(None), Into::into)
    }
}

impl From<u16> for FieldValue {
    fn from(v: u16) -> Self {
        Self(Some(Value::from(v)))
    }
}
