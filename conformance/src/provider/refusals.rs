//! Live checks of what a provider must refuse or enforce: an unregistered redirect URI, a code
//! replayed, a wrong or missing PKCE verifier, and a fresh sign-in when one is demanded.

use serde_json::Value;
use time::OffsetDateTime;

use super::{Metadata, ProviderTarget};
use crate::TestClient;
use crate::catalogue::*;
use crate::check::{Outcome, Report};
use crate::flow::{self, AuthRequest, ClientAuth, Consent, End, random_token};
use crate::http::{Answer, Http};

use super::live::{SKEW_SECONDS, id_token_of, main_flow_walk};

pub(super) async fn negative_redirect_uri(
    report: &mut Report,
    http: &Http,
    metadata: &Metadata,
    target: &ProviderTarget,
    client: &TestClient,
) {
    let mut evidence = Vec::new();
    let mut request = AuthRequest::new(client, &target.scope, target.login_hint.as_deref());
    request.redirect_uri = format!("{}-unregistered", client.redirect_uri);
    let walk = main_flow_walk(
        http,
        metadata,
        target,
        &request,
        Consent::Approve,
        &mut evidence,
    )
    .await;
    let outcome = match &walk.end {
        End::Back { .. } => Outcome::fail(
            format!(
                "redirected to the unregistered URI {:?} ({})",
                request.redirect_uri,
                walk.describe()
            ),
            format!(
                "redirigé vers l'adresse non enregistrée {:?} ({})",
                request.redirect_uri,
                walk.describe()
            ),
        ),
        End::Stopped {
            status: Some(_), ..
        } => Outcome::Pass,
        End::Stopped {
            status: None,
            reason,
        } => Outcome::warning(
            format!("no clear refusal: {reason}"),
            format!("aucun refus clair : {reason}"),
        ),
    };
    report.record(&OP_NEG_REDIRECT_URI, outcome, evidence);
    let _ = http;
}

pub(super) fn refused(answer: &Result<Answer, String>) -> Outcome {
    match answer {
        Ok(a) if (400..500).contains(&a.status) => Outcome::Pass,
        Ok(a) if a.status == 200 => Outcome::fail(
            "the token endpoint answered 200: tokens were issued",
            "le point de jeton a répondu 200 : des jetons ont été délivrés",
        ),
        Ok(a) => Outcome::warning(
            format!("HTTP {} instead of a 400 error", a.status),
            format!("HTTP {} au lieu d'une erreur 400", a.status),
        ),
        Err(e) => Outcome::warning(format!("no answer: {e}"), format!("aucune réponse : {e}")),
    }
}

pub(super) async fn code_replay(
    report: &mut Report,
    http: &Http,
    metadata: &Metadata,
    client: &TestClient,
    code: Option<&str>,
    redeemed: bool,
    request: &AuthRequest,
) {
    let (Some(code), true) = (code, redeemed) else {
        report.record(
            &OP_NEG_CODE_REPLAY,
            Outcome::skipped(
                "the main flow gave no redeemed code",
                "le flux principal n'a donné aucun code échangé",
            ),
            Vec::new(),
        );
        return;
    };
    let mut evidence = Vec::new();
    let token_endpoint = metadata.str("token_endpoint").unwrap_or_default();
    let auth = ClientAuth::from_metadata(metadata.doc.get("token_endpoint_auth_methods_supported"));
    let answer = flow::redeem(
        http,
        token_endpoint,
        client,
        auth,
        code,
        request.verifier.as_deref(),
        &mut evidence,
    )
    .await;
    report.record(&OP_NEG_CODE_REPLAY, refused(&answer), evidence);
}

/// A second login that asks for a fresh sign-in: the broker forwards a service's `prompt=login`
/// as this, and refuses a login whose `auth_time` does not show it was honoured.
pub(super) async fn fresh_sign_in(
    report: &mut Report,
    http: &Http,
    metadata: &Metadata,
    target: &ProviderTarget,
    client: &TestClient,
) {
    let mut evidence = Vec::new();
    let mut request = AuthRequest::new(client, &target.scope, target.login_hint.as_deref());
    request.extra.push(("prompt".into(), "login".into()));
    request.extra.push(("max_age".into(), "0".into()));
    let asked = OffsetDateTime::now_utc().unix_timestamp();
    let walk = main_flow_walk(
        http,
        metadata,
        target,
        &request,
        Consent::Approve,
        &mut evidence,
    )
    .await;
    let Some(code) = walk.code() else {
        let outcome = Outcome::fail(
            format!("no code for prompt=login: the login {}", walk.describe()),
            format!(
                "aucun code pour prompt=login : la connexion a abouti ainsi : {}",
                walk.describe()
            ),
        );
        report.record(&OP_FLOW_MAX_AGE, outcome, evidence);
        return;
    };
    let outcome = match id_token_of(
        http,
        metadata,
        client,
        code,
        request.verifier.as_deref(),
        &mut evidence,
    )
    .await
    {
        Err(e) => Outcome::fail(
            format!("the code was not redeemed: {e}"),
            format!("le code n'a pas été échangé : {e}"),
        ),
        Ok((_, jwt)) => match jwt.claims.get("auth_time").and_then(Value::as_i64) {
            None => Outcome::fail(
                "the ID token has no auth_time, which max_age makes required",
                "le jeton d'identité n'a pas d'auth_time, que max_age rend obligatoire",
            ),
            Some(t) if t < asked - SKEW_SECONDS => Outcome::fail(
                format!(
                    "auth_time is {} s before the request: the person was not signed in again",
                    asked - t
                ),
                format!(
                    "auth_time précède la demande de {} s : la personne n'a pas été reconnectée",
                    asked - t
                ),
            ),
            Some(_) => Outcome::Pass,
        },
    };
    report.record(&OP_FLOW_MAX_AGE, outcome, evidence);
}

pub(super) async fn wrong_verifier(
    report: &mut Report,
    metadata: &Metadata,
    target: &ProviderTarget,
    client: &TestClient,
) {
    let mut evidence = Vec::new();
    let Ok(http) = Http::new() else { return };
    let request = AuthRequest::new(client, &target.scope, target.login_hint.as_deref());
    let walk = main_flow_walk(
        &http,
        metadata,
        target,
        &request,
        Consent::Approve,
        &mut evidence,
    )
    .await;
    let Some(code) = walk.code() else {
        report.record(
            &OP_NEG_PKCE_VERIFIER,
            Outcome::skipped(
                format!("no code to redeem: the login {}", walk.describe()),
                format!(
                    "aucun code à échanger : la connexion a abouti ainsi : {}",
                    walk.describe()
                ),
            ),
            evidence,
        );
        return;
    };
    let token_endpoint = metadata.str("token_endpoint").unwrap_or_default();
    let auth = ClientAuth::from_metadata(metadata.doc.get("token_endpoint_auth_methods_supported"));
    let wrong = random_token();
    let answer = flow::redeem(
        &http,
        token_endpoint,
        client,
        auth,
        code,
        Some(&wrong),
        &mut evidence,
    )
    .await;
    report.record(&OP_NEG_PKCE_VERIFIER, refused(&answer), evidence);
}

pub(super) async fn missing_challenge(
    report: &mut Report,
    metadata: &Metadata,
    target: &ProviderTarget,
    client: &TestClient,
) {
    let mut evidence = Vec::new();
    let Ok(http) = Http::new() else { return };
    let mut request = AuthRequest::new(client, &target.scope, target.login_hint.as_deref());
    request.verifier = None;
    let walk = main_flow_walk(
        &http,
        metadata,
        target,
        &request,
        Consent::Approve,
        &mut evidence,
    )
    .await;
    let outcome = match &walk.end {
        End::Back { params } if params.contains_key("code") => Outcome::fail(
            "a code was issued without a PKCE challenge",
            "un code a été délivré sans défi PKCE",
        ),
        End::Back { .. } => Outcome::Pass,
        End::Stopped {
            status: Some(s), ..
        } if *s >= 400 => Outcome::Pass,
        End::Stopped { .. } => Outcome::warning(
            format!("no clear refusal: the login {}", walk.describe()),
            format!(
                "aucun refus clair : la connexion a abouti ainsi : {}",
                walk.describe()
            ),
        ),
    };
    report.record(&OP_NEG_PKCE_REQUIRED, outcome, evidence);
}
