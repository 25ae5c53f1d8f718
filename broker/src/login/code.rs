//! [`CodeGrant`]: the login's last state. The code goes back to the service, which redeems it
//! once at `/token` (`crate::oidc::token`).
//!
//! No release without its record: the code is kept in the state store first, then the
//! disclosure record (and the consent record, when one was given) is committed, and only then
//! does the code go to the service. A commit that fails or times out takes the code back, so
//! the service never gets one without its record; and since a code reaches nobody before its
//! record is committed, the records hold no disclosure of a login that issued no code. (A
//! crash between the two leaves a code in the store that nobody knows, which expires unused.
//! A commit whose answer is lost, the database dying just after it committed, takes the code
//! back as a failed one: the records then hold a disclosure that did not go out, never the
//! reverse; its `login.failed` event says so when the broker lives to write it.)
//!
//! No release on a registry out of date: just before the commit the release is judged again by
//! the registry in force (the person may have read the consent page for minutes), and the
//! commit goes through only if that registry is still the newest in the records, so a
//! suspension, a termination or an amendment committed by any replica before it stops it.

use time::OffsetDateTime;
use trust_framework::{AssuranceLevel, Basis, Lang, still_stands};

use super::abandoned::{Stage, Watch};
use super::ending::{records_failed, release_refused, store_failed};
use super::state::{AwaitingConsent, CodeGrant, ReturnTo};
use super::{Failure, Login};
use crate::app::Broker;
use crate::http::browser::random_token;
use crate::oidc::error::OAuthError;
use crate::oidc::id_token;
use crate::records::{ConsentBasis, ConsentRow, DisclosureRow, RecordsError, millis};
use crate::session::{Served, Session};
use crate::store::{Kind, StoreError};

/// Issues the code for a release the person agreed to (or was told of, or agreed to before):
/// the grant it stands for is kept under it, watched, for the service to redeem within
/// `[limits] code_seconds`, once the release is committed to the records with `consent`.
pub(super) async fn issue(
    broker: &Broker,
    awaiting: AwaitingConsent,
    basis: ConsentBasis,
    consent: Option<ConsentRow>,
    now: OffsetDateTime,
) -> Result<Login, Failure> {
    let AwaitingConsent {
        txn,
        client_id,
        return_to,
        nonce,
        code_challenge,
        granted,
        lang,
        session,
        ..
    } = awaiting;
    let level = granted.level;
    let disclosure = DisclosureRow {
        at: millis(now),
        txn: txn.clone(),
        client_id: client_id.clone(),
        agreement_id: granted.agreement_id.clone(),
        agreement_version: granted.agreement_version,
        legal_basis: granted.legal_basis,
        consent: basis,
        provider_id: granted.provider_id.clone(),
        level: granted.level.acr().to_owned(),
        released: granted.attribute_names(),
        withheld: granted.withheld.clone(),
        subject: granted.subject.clone(),
        person_key: granted.person_key.clone(),
    };
    let grant = CodeGrant {
        claims: id_token::released_claims(&granted.attributes),
        verified_claims: id_token::verified_claims(&granted, &txn),
        client_id,
        redirect_uri: return_to.redirect_uri.clone(),
        code_challenge,
        nonce,
        subject: granted.subject,
        acr: granted.level.acr().to_owned(),
        auth_time: granted.auth_time,
        txn,
        sid: session.as_ref().map(|s| s.sid.clone()),
    };
    // The session is told of the service before the code exists: a service that holds a code
    // of the session gets its logout token when the session ends.
    if let Some(link) = &session {
        let served = Served {
            client_id: grant.client_id.clone(),
            subject: grant.subject.clone(),
        };
        let lifetime = crate::session::until(link.expires_at, now);
        Session::served(broker, &link.sid, &served, lifetime)
            .await
            .map_err(|e| Failure::to_service(&return_to, store_failed(broker, &grant.txn, &e)))?;
    }
    let code = random_token();
    let watch = Watch::new(
        &grant.txn,
        Stage::CodeRedemption,
        &grant.client_id,
        Some(&granted.provider_id),
    );
    super::abandoned::keep(broker, Kind::Code, &code, &grant, &watch)
        .await
        .map_err(|e| Failure::to_service(&return_to, store_failed(broker, &grant.txn, &e)))?;
    let recorded = record(
        broker,
        &disclosure,
        consent.as_ref(),
        level,
        (&return_to, lang),
        now,
    )
    .await;
    if let Err(failure) = recorded {
        // Taken back before anyone knows it; should the store fail too, the code still reaches
        // nobody and expires.
        if let Err(e) = broker.store.take::<CodeGrant>(Kind::Code, &code).await {
            tracing::warn!(error = %e, "an unrecorded code could not be taken back");
        }
        return Err(failure);
    }
    Ok(Login::CodeIssued {
        grant,
        code,
        state: return_to.state,
    })
}

/// How many times a release is judged again when the registry keeps changing under it.
const JUDGEMENTS: usize = 3;

/// Records the release if it still stands: judged by the registry in force (the person may
/// have read the consent page for minutes, and the registry changed meanwhile), then
/// committed on the condition that this registry is still the newest. When another replica
/// changed it in between, the newest is loaded and the release judged again.
async fn record(
    broker: &Broker,
    disclosure: &DisclosureRow,
    consent: Option<&ConsentRow>,
    level: AssuranceLevel,
    (return_to, lang): (&ReturnTo, Lang),
    now: OffsetDateTime,
) -> Result<(), Failure> {
    let basis = Basis {
        client_id: &disclosure.client_id,
        provider_id: &disclosure.provider_id,
        agreement_id: &disclosure.agreement_id,
        agreement_version: disclosure.agreement_version,
        level,
    };
    let mut outcome = RecordsError::RegistryChanged;
    let mut refreshed = false;
    for _ in 0..JUDGEMENTS {
        let (registry, version) = broker.registry_snapshot();
        if let Err(refusal) = still_stands(&registry, &basis, now) {
            // Before a refusal stands, the newest registry: this replica's may be older than
            // the one the release was granted by (an amendment made on another replica).
            if !refreshed {
                refreshed = true;
                broker.fresh_registry().await;
                if broker.registry_version() != version {
                    continue;
                }
            }
            release_refused(broker, &disclosure.txn, &disclosure.provider_id, &refusal);
            return Err(Failure::to_service(
                return_to,
                OAuthError::from_refusal(&refusal),
            ));
        }
        match broker
            .records
            .commit_release(disclosure, consent, version)
            .await
        {
            Ok(()) => return Ok(()),
            Err(RecordsError::RegistryChanged) => broker.reload_registry().await,
            Err(e) => {
                outcome = e;
                break;
            }
        }
    }
    Err(Failure::page(
        lang,
        records_failed(broker, &disclosure.txn, &outcome),
    ))
}

/// The grant a code stands for, taken atomically: a replayed code finds nothing, and the
/// abandoned-login watch on it ends.
pub async fn redeem(broker: &Broker, code: &str) -> Result<Option<CodeGrant>, StoreError> {
    broker.store.take(Kind::Code, code).await
}
