//! The transition from the service's request straight to [`AwaitingConsent`]: the browser's
//! session stands in for a sign-in at the provider ("tell us once"). The trust framework said
//! it may (`trust_framework::reusable`); its release is judged again here by the registry in
//! force, exactly as for a sign-in, and consent is asked per service as always.

use time::OffsetDateTime;
use trust_framework::{Candidate, Registry, UpstreamAssertion};

use super::ending::store_failed;
use super::returned::{Judged, Signed, awaiting, judge};
use super::state::{Pending, SessionLink};
use super::{Failure, Login};
use crate::app::Broker;
use crate::audit::Event;
use crate::metrics::{LoginLeg, LoginOutcome};
use crate::oidc::error::OAuthError;
use crate::session::Session;

pub(super) async fn resume(
    broker: &Broker,
    registry: &Registry,
    login: Pending,
    candidate: Candidate,
    session: Session,
    now: OffsetDateTime,
) -> Result<Login, Failure> {
    let mut tally = LoginLeg::new(registry, &candidate.provider_id);
    // Used: it lives one idle lifetime more.
    if let Err(e) = session.touch(broker, now).await {
        tally.end(LoginOutcome::Error);
        return Err(Failure::page(
            login.lang,
            store_failed(broker, &login.txn, &e),
        ));
    }
    broker.audit(Event::SessionReused {
        sid: &session.sid,
        txn: &login.txn,
        client: &login.request.client_id,
    });
    crate::metrics::session_reused();
    let assertion = UpstreamAssertion {
        provider_id: session.provider_id.clone(),
        subject: session.upstream_subject.clone(),
        acr: session.acr.clone(),
        claims: session.claims.clone(),
    };
    let signed = Signed {
        auth_time: session.auth_time_from_provider.then_some(session.auth_time),
        verified_at: session.auth_time,
    };
    let released = match judge(broker, registry, &login, &candidate, &assertion, now) {
        Ok(released) => released,
        Err(Judged::Refused(refusal)) => {
            tally.end(LoginOutcome::Refused);
            return Err(Failure::to_service(
                &login.request.return_to,
                OAuthError::from_refusal(&refusal),
            ));
        }
        Err(Judged::Failed(failure)) => return Err(failure),
    };
    let link = SessionLink {
        sid: session.sid.clone(),
        expires_at: session.expires_at,
    };
    let awaiting = awaiting(
        broker,
        registry,
        login,
        &candidate,
        &released,
        &session.upstream_subject,
        signed,
        Some(link),
    );
    awaiting.ask(broker, tally, now).await
}
