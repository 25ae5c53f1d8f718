//! [`CodeGrant`]: the login's last state. The code goes back to the service, which redeems it
//! once at `/token` (`crate::oidc::token`).

use super::abandoned::{Stage, Watch};
use super::ending::store_failed;
use super::state::{AwaitingConsent, CodeGrant};
use super::{Failure, Login};
use crate::app::Broker;
use crate::http::browser::random_token;
use crate::oidc::id_token;
use crate::store::{Kind, StoreError};

/// Issues the code for a release the person agreed to (or was told of): the grant it stands
/// for is kept under it, watched, for the service to redeem within `[limits] code_seconds`.
pub(super) async fn issue(broker: &Broker, awaiting: AwaitingConsent) -> Result<Login, Failure> {
    let AwaitingConsent {
        txn,
        client_id,
        return_to,
        nonce,
        code_challenge,
        granted,
        ..
    } = awaiting;
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
    };
    let code = random_token();
    let watch = Watch::new(
        &grant.txn,
        Stage::CodeRedemption,
        &grant.client_id,
        Some(&granted.provider_id),
    );
    super::abandoned::keep(broker, Kind::Code, &code, &grant, &watch)
        .await
        .map_err(|e| Failure::to_service(&return_to, store_failed(&grant.txn, &e)))?;
    Ok(Login::CodeIssued {
        grant,
        code,
        state: return_to.state,
    })
}

/// The grant a code stands for, taken atomically: a replayed code finds nothing, and the
/// abandoned-login watch on it ends.
pub async fn redeem(broker: &Broker, code: &str) -> Result<Option<CodeGrant>, StoreError> {
    broker.store.take(Kind::Code, code).await
}
