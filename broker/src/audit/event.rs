//! Every event of the audit trail, one variant each, written in one place ([`Event::record`]).
//!
//! The variants name what an auditor reads: the `event` field of each JSON line and the fields
//! beside it. Lists are [`List`]s (space-separated names); a refusal's text is its `Display`.
//! No variant carries an attribute's value, a code, a token or a secret: the trail says who
//! received what kind of information, never the information.

use std::fmt::Display;

use serde_json::Value;
use time::OffsetDateTime;

use super::List;
use crate::records::AuditRow;

/// One audit event. Borrowed fields: an event is built where it happens and written at once.
#[non_exhaustive]
pub enum Event<'a> {
    // --- A login, in the order its events come ---
    /// `/par` accepted a pushed authorization request.
    RequestPushed {
        client: &'a str,
    },
    /// The trust framework found no provider for the request.
    PolicyRefused {
        client: &'a str,
        code: &'static str,
        refusal: &'a (dyn Display + Sync),
    },
    /// The trust framework's decision: the providers the person may use.
    PolicyDecided {
        txn: &'a str,
        client: &'a str,
        eligible: List,
        level_required: Option<&'static str>,
        attributes_requested: List,
        attributes_refused: List,
    },
    /// The browser's remembered choice skipped the picker.
    ProviderRemembered {
        txn: &'a str,
        provider: &'a str,
    },
    /// The person chose a provider on the picker.
    ProviderChosen {
        txn: &'a str,
        provider: &'a str,
        remembered: bool,
    },
    /// The person was sent to the provider.
    UpstreamSent {
        txn: &'a str,
        provider: &'a str,
        level_required: &'static str,
        acr_values: List,
    },
    /// The provider answered the authorization request with an error.
    UpstreamError {
        txn: &'a str,
        provider: &'a str,
        upstream_error: &'a str,
    },
    /// The provider's leg failed: unreachable, a mix-up, a forged or replayed token.
    UpstreamFailed {
        txn: &'a str,
        provider: &'a str,
        error: &'static str,
        reason: &'a str,
    },
    /// A return from the provider in another browser than the one that started the login.
    CallbackRefused {
        txn: &'a str,
        reason: &'static str,
    },
    /// The provider signed the person in, but nothing may be released.
    ReleaseRefused {
        txn: &'a str,
        provider: &'a str,
        refusal: &'a (dyn Display + Sync),
    },
    /// What the trust framework releases to the service (attribute names only).
    ReleaseGranted {
        txn: &'a str,
        client: &'a str,
        provider: &'a str,
        agreement: &'a str,
        agreement_version: u32,
        level_required: &'static str,
        level_achieved: &'static str,
        released: List,
        withheld: List,
    },
    /// The provider fell short of the level; the picker offers the others (a new login).
    StepUpOffered {
        txn: &'a str,
        refused_txn: &'a str,
        failed_provider: &'a str,
        offered: List,
    },
    /// A remembered consent covered this release.
    ConsentReused {
        txn: &'a str,
        client: &'a str,
        agreement: &'a str,
        agreement_version: u32,
    },
    /// The person agreed (`consent` agreements) or went on after the notice (`notice`).
    ConsentGiven(Decided<'a>),
    NoticeAcknowledged(Decided<'a>),
    /// The person refused to share.
    ConsentRefused {
        txn: &'a str,
        subject: &'a str,
        client: &'a str,
        agreement: &'a str,
        agreement_version: u32,
        attributes: List,
    },
    /// The state store failed in the middle of the login, which ends it.
    LoginFailed {
        txn: &'a str,
        error: &'static str,
        reason: &'a str,
    },
    /// A step of the login expired untaken (`crate::login::abandoned`).
    LoginAbandoned {
        txn: &'a str,
        client: &'a str,
        provider: Option<&'a str>,
        stage: &'static str,
    },
    /// The service redeemed its code.
    TokenIssued {
        txn: &'a str,
        client: &'a str,
        acr: &'a str,
    },
    /// A code was spent on a redemption that was refused.
    TokenRefused {
        txn: &'a str,
        client: &'a str,
        error: &'static str,
        reason: &'a str,
    },

    /// A second redemption of a spent code revoked the access token the first one got
    /// (RFC 9700 4.5): the code may have been stolen.
    TokenRevoked {
        txn: &'a str,
        client: &'a str,
    },

    // --- Sessions and logout ---
    /// A person signed in at a provider: the broker's session starts (or is renewed, for a
    /// new sign-in of the same person at the same provider in the same browser).
    SessionStarted {
        sid: &'a str,
        txn: &'a str,
        provider: &'a str,
        level: &'a str,
        renewed: bool,
    },
    /// A login was served from the session, without the provider.
    SessionReused {
        sid: &'a str,
        txn: &'a str,
        client: &'a str,
    },
    /// The browser had a session, which could not stand in for this login.
    SessionNotReused {
        sid: &'a str,
        txn: &'a str,
        reason: &'static str,
    },
    /// A session ended, and logout tokens were queued for the services it served.
    SessionEnded {
        sid: &'a str,
        cause: &'static str,
        services: u64,
    },
    /// A sign-out request was refused (a forged hint, an unregistered return address).
    LogoutRefused {
        reason: &'a str,
    },
    /// A service acknowledged its logout token.
    LogoutDelivered {
        sid: &'a str,
        client: &'a str,
        attempt: u32,
    },
    /// A service's logout token could not be delivered, and will not be tried again.
    LogoutUndelivered {
        sid: &'a str,
        client: &'a str,
        attempts: u32,
        reason: &'a str,
    },
    /// A provider said one of its sessions ended; the broker's sessions of it ended too.
    ProviderLogout {
        provider: &'a str,
        sessions: u64,
    },
    /// A provider's logout token was refused.
    ProviderLogoutRefused {
        provider: Option<&'a str>,
        reason: &'a str,
    },

    // --- The person's record ---
    /// A person was sent to their provider to sign in to their record (`fresh`: with
    /// `prompt=login`, for a withdrawal).
    RecordSignInSent {
        sign_in: &'a str,
        provider: &'a str,
        level_required: &'a str,
        fresh: bool,
    },
    /// A sign-in to a record did not hold.
    RecordSignInRefused {
        sign_in: &'a str,
        provider: &'a str,
        reason: &'a str,
    },
    /// A person signed in to their record: a record session starts.
    RecordSignedIn {
        sign_in: &'a str,
        provider: &'a str,
        level: &'a str,
        fresh: bool,
    },
    /// A person withdrew a remembered consent on their record, after the fresh sign-in
    /// `sign_in`; `notified` when the service is to be told by a security event.
    ConsentWithdrawn {
        sign_in: &'a str,
        client: &'a str,
        agreement: &'a str,
        agreement_version: u32,
        reason: &'a str,
        notified: bool,
    },
    /// A person reported a disclosure of their record as not their doing: the operator
    /// follows it up under `reference`.
    DisclosureReported {
        sign_in: &'a str,
        txn: &'a str,
        client: &'a str,
        provider: &'a str,
        reference: &'a str,
    },

    // --- Consent withdrawn events to services (RFC 8417, RFC 8935) ---
    /// What became of the event telling a service that a person withdrew a consent
    /// (`crate::secevent`).
    ConsentWithdrawnSet {
        about: ConsentEventAbout<'a>,
        outcome: ConsentEventOutcome<'a>,
    },

    // --- Registration of services (RFC 7591) ---
    RegistrationRefused {
        code: &'a str,
        reason: &'a str,
    },
    ServiceRegisteredDynamic {
        client: &'a str,
        jurisdiction: &'a str,
        jti: &'a str,
    },

    // --- Administration ---
    /// An admin call refused: unauthenticated (`admin` is `None`) or not allowed.
    AdminRefused {
        admin: Option<&'a str>,
        method: &'a str,
        path: &'a str,
        reason: &'a str,
    },
    /// An authenticated admin call, with its answer's status once known.
    AdminCall {
        admin: &'a str,
        method: &'a str,
        path: &'a str,
        status: Option<u16>,
    },
    ServiceRegistered {
        admin: &'a str,
        client: &'a str,
    },
    ServiceApproved {
        admin: &'a str,
        client: &'a str,
    },
    AgreementCreated {
        admin: &'a str,
        agreement: &'a str,
    },
    AgreementAmended {
        admin: &'a str,
        agreement: &'a str,
        version: u32,
    },
    AgreementTerminated {
        admin: &'a str,
        agreement: &'a str,
        reason: &'a str,
    },
    ProviderRegistered {
        admin: &'a str,
        provider: &'a str,
    },
    ProviderConformance {
        provider: &'a str,
        result: &'a (dyn Display + Sync),
    },
    ProviderApproved {
        admin: &'a str,
        provider: &'a str,
    },
    /// A provider or a service suspended or revoked.
    StatusChanged {
        kind: EntryKind,
        admin: &'a str,
        id: &'a str,
        status: &'a str,
        reason: &'a str,
    },
    KeysRotated {
        admin: &'a str,
        alg: &'static str,
        promoted: bool,
        signing_kid: &'a str,
        next_kid: &'a str,
    },
    KeysReloaded,
    RegistryLoaded {
        version: u64,
    },
    /// Witnesses' cosignatures of a checkpoint of the log were kept.
    LogCosigned {
        size: u64,
        witnesses: &'a str,
    },
    /// The log refused to sign a tree that does not extend its last checkpoint: the stored
    /// records or nodes were altered.
    LogInconsistent {
        old: u64,
        new: u64,
        reason: &'a str,
    },
    /// A client or a source address went over its rate limit (once per window).
    RateLimited {
        scope: RateScope,
        who: &'a (dyn Display + Sync),
        limit: u64,
        window_seconds: u64,
    },
}

/// A person's decision on the notice-and-consent page.
#[derive(Debug)]
pub struct Decided<'a> {
    pub txn: &'a str,
    pub subject: &'a str,
    pub client: &'a str,
    pub agreement: &'a str,
    pub agreement_version: u32,
    pub attributes: List,
    pub remembered: bool,
}

/// Which withdrawal a consent event tells of: the pairwise subject (as consent records name
/// it), the service, and the agreement; never what was shared.
#[derive(Debug, Clone, Copy)]
pub struct ConsentEventAbout<'a> {
    pub subject: &'a str,
    pub client: &'a str,
    pub agreement: &'a str,
    pub agreement_version: u32,
}

/// The steps of a consent event, each its own audit event.
#[derive(Debug, Clone, Copy)]
pub enum ConsentEventOutcome<'a> {
    /// Queued under `id`, for a withdrawal for `reason`.
    Queued { id: &'a str, reason: &'a str },
    /// The service registered no `security_events_uri`: there is no one to tell.
    NotWanted,
    /// The service acknowledged it, at try `attempt`.
    Delivered { attempt: u32 },
    /// The service refused it (RFC 8935 section 2.4); it is not tried again.
    Refused {
        attempt: u32,
        err: &'a str,
        description: &'a str,
    },
    /// It could not be delivered after `attempts` tries, and is given up.
    Undelivered { attempts: u32, reason: &'a str },
    /// The withdrawal never reached the records: the event was dropped unsent.
    NotRecorded,
    /// The withdrawal's commit failed and its writer took the event back (queue `id`).
    Cancelled { id: &'a str },
}

/// Which registry entries a status change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Provider,
    Service,
}

/// Whose rate limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateScope {
    Client,
    Address,
}

/// By name only: the fields are for the trail, and only there.
impl std::fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("event", &self.name())
            .finish_non_exhaustive()
    }
}

impl Event<'_> {
    /// The `event` field: what an auditor's query filters on.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RequestPushed { .. } => "request.pushed",
            Self::PolicyRefused { .. } => "policy.refused",
            Self::PolicyDecided { .. } => "policy.decided",
            Self::ProviderRemembered { .. } => "provider.remembered",
            Self::ProviderChosen { .. } => "provider.chosen",
            Self::UpstreamSent { .. } => "upstream.sent",
            Self::UpstreamError { .. } => "upstream.error",
            Self::UpstreamFailed { .. } => "upstream.failed",
            Self::CallbackRefused { .. } => "callback.refused",
            Self::ReleaseRefused { .. } => "release.refused",
            Self::ReleaseGranted { .. } => "release.granted",
            Self::StepUpOffered { .. } => "step_up.offered",
            Self::ConsentReused { .. } => "consent.reused",
            Self::ConsentGiven(_) => "consent.given",
            Self::NoticeAcknowledged(_) => "notice.acknowledged",
            Self::ConsentRefused { .. } => "consent.refused",
            Self::LoginFailed { .. } => "login.failed",
            Self::LoginAbandoned { .. } => "login.abandoned",
            Self::TokenIssued { .. } => "token.issued",
            Self::TokenRefused { .. } => "token.refused",
            Self::TokenRevoked { .. } => "token.revoked",
            Self::SessionStarted { .. } => "session.started",
            Self::SessionReused { .. } => "session.reused",
            Self::SessionNotReused { .. } => "session.not_reused",
            Self::SessionEnded { .. } => "session.ended",
            Self::LogoutRefused { .. } => "logout.refused",
            Self::LogoutDelivered { .. } => "logout.delivered",
            Self::LogoutUndelivered { .. } => "logout.undelivered",
            Self::ProviderLogout { .. } => "provider.logout",
            Self::ProviderLogoutRefused { .. } => "provider.logout.refused",
            Self::RecordSignInSent { .. } => "record.sign_in.sent",
            Self::RecordSignInRefused { .. } => "record.sign_in.refused",
            Self::RecordSignedIn { .. } => "record.signed_in",
            Self::ConsentWithdrawn { .. } => "consent.withdrawn",
            Self::DisclosureReported { .. } => "disclosure.reported",
            Self::ConsentWithdrawnSet { outcome, .. } => match outcome {
                ConsentEventOutcome::Queued { .. } => "consent_event.queued",
                ConsentEventOutcome::NotWanted => "consent_event.not_wanted",
                ConsentEventOutcome::Delivered { .. } => "consent_event.delivered",
                ConsentEventOutcome::Refused { .. } => "consent_event.refused",
                ConsentEventOutcome::Undelivered { .. } => "consent_event.undelivered",
                ConsentEventOutcome::NotRecorded => "consent_event.not_recorded",
                ConsentEventOutcome::Cancelled { .. } => "consent_event.cancelled",
            },
            Self::RegistrationRefused { .. } => "registration.refused",
            Self::ServiceRegisteredDynamic { .. } => "service.registered.dynamic",
            Self::AdminRefused { .. } => "admin.refused",
            Self::AdminCall { .. } => "admin.call",
            Self::ServiceRegistered { .. } => "service.registered",
            Self::ServiceApproved { .. } => "service.approved",
            Self::AgreementCreated { .. } => "agreement.created",
            Self::AgreementAmended { .. } => "agreement.amended",
            Self::AgreementTerminated { .. } => "agreement.terminated",
            Self::ProviderRegistered { .. } => "provider.registered",
            Self::ProviderConformance { .. } => "provider.conformance",
            Self::ProviderApproved { .. } => "provider.approved",
            Self::StatusChanged {
                kind: EntryKind::Provider,
                ..
            } => "provider.status",
            Self::StatusChanged {
                kind: EntryKind::Service,
                ..
            } => "service.status",
            Self::KeysRotated { .. } => "keys.rotated",
            Self::KeysReloaded => "keys.reloaded",
            Self::RegistryLoaded { .. } => "registry.loaded",
            Self::LogCosigned { .. } => "log.cosigned",
            Self::LogInconsistent { .. } => "log.inconsistent",
            Self::RateLimited { .. } => "rate.limited",
        }
    }

    /// Whether the event tells of something that went wrong or was refused (`warn`), or of
    /// the normal course (`info`).
    fn warns(&self) -> bool {
        matches!(
            self,
            Self::UpstreamFailed { .. }
                | Self::CallbackRefused { .. }
                | Self::LoginFailed { .. }
                | Self::TokenRefused { .. }
                | Self::TokenRevoked { .. }
                | Self::LogoutRefused { .. }
                | Self::LogoutUndelivered { .. }
                | Self::RecordSignInRefused { .. }
                | Self::DisclosureReported { .. }
                | Self::ProviderLogoutRefused { .. }
                | Self::ConsentWithdrawnSet {
                    outcome: ConsentEventOutcome::Refused { .. }
                        | ConsentEventOutcome::Undelivered { .. }
                        | ConsentEventOutcome::NotRecorded,
                    ..
                }
                | Self::AdminRefused { .. }
                | Self::RateLimited { .. }
                | Self::LogInconsistent { .. }
        )
    }

    /// Writes the event's log line (target `audit`, at `warn` for what went wrong or was
    /// refused, `info` otherwise) and returns its record, dated `at`, for the records.
    pub(crate) fn record(&self, at: OffsetDateTime) -> AuditRow {
        let fields = Value::Object(self.fields()).to_string();
        let level = if self.warns() {
            tracing::warn!(target: "audit", audit_fields = fields.as_str());
            "WARN"
        } else {
            tracing::info!(target: "audit", audit_fields = fields.as_str());
            "INFO"
        };
        AuditRow {
            at: crate::records::millis(at),
            level,
            event: self.name(),
            fields,
        }
    }
}
