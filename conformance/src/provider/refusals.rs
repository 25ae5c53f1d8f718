//! Live checks of what a provider must refuse or enforce: an unregistered redirect URI, an
//! unknown or missing client, a code replayed, redeemed with a wrong or missing PKCE
//! verifier, by a client that does not authenticate, or for another redirect URI; a request
//! without PKCE; and a fresh sign-in when one is demanded. Each runs its own login in a fresh
//! browser, so that one refusal cannot spoil the next.

use serde_json::Value;
use time::OffsetDateTime;

use super::id_token::SKEW_SECONDS;
use super::live::{Live, Tokens, id_token_of, main_flow_walk};
use super::tokens::Refused;
use crate::catalogue::*;
use crate::check::{CheckDef, Outcome, Report};
use crate::evidence::Exchange;
use crate::flow::{AuthRequest, Consent, End, Redemption, random_token};
use crate::http::Answer;

pub(super) async fn negative_redirect_uri(report: &mut Report, live: &Live<'_>) {
    let mut evidence = Vec::new();
    let mut request = live.request();
    request.upstream.redirect_uri = format!("{}-unregistered", live.client.redirect_uri);
    let outcome = match live.walk(&request, &mut evidence).await {
        Err(e) => Outcome::skipped(
            format!("no HTTP client: {e}"),
            format!("aucun client HTTP : {e}"),
        ),
        Ok(walk) => match &walk.end {
            End::Back { .. } => Outcome::fail(
                format!(
                    "redirected to the unregistered URI {:?} ({})",
                    request.redirect_uri(),
                    walk.describe()
                ),
                format!(
                    "redirigé vers l'adresse non enregistrée {:?} ({})",
                    request.redirect_uri(),
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
        },
    };
    report.record(&OP_NEG_REDIRECT_URI, outcome, evidence);
}

/// RFC 6749 4.1.2.1: without a known client there is no registered redirect URI to trust, so a
/// request from an unknown client, or from none, is refused without redirecting, even to a
/// redirect URI that another client registered (the suite's own). Both are asked, each in a
/// fresh browser.
pub(super) async fn unknown_client(report: &mut Report, live: &Live<'_>) {
    let mut evidence = Vec::new();
    let mut outcome = Outcome::Pass;
    let unknown = format!("conformance-unknown-{}", random_token());
    for (what_en, what_fr, client_id) in [
        ("an unknown client_id", "un client_id inconnu", unknown),
        ("no client_id", "aucun client_id", String::new()),
    ] {
        let mut request = live.request();
        request.client_id = client_id;
        let this = match live.walk(&request, &mut evidence).await {
            Err(e) => Outcome::skipped(
                format!("no HTTP client: {e}"),
                format!("aucun client HTTP : {e}"),
            ),
            Ok(walk) => match &walk.end {
                End::Back { .. } => Outcome::fail(
                    format!(
                        "a request with {what_en} was redirected to {:?} ({})",
                        request.redirect_uri(),
                        walk.describe()
                    ),
                    format!(
                        "une demande avec {what_fr} a été redirigée vers {:?} ({})",
                        request.redirect_uri(),
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
                    format!("{what_en}: no clear refusal: {reason}"),
                    format!("{what_fr} : aucun refus clair : {reason}"),
                ),
            },
        };
        outcome = worse(outcome, this);
    }
    report.record(&OP_NEG_UNKNOWN_CLIENT, outcome, evidence);
}

/// Whether the token endpoint refused; its refusal is kept for `OP-TOKEN-ERROR`.
fn refused(
    answer: &Result<Answer, String>,
    what: &'static str,
    codes: &'static [&'static str],
    evidence: &[Exchange],
    kept: &mut Vec<Refused>,
) -> Outcome {
    match answer {
        Ok(a) if (400..500).contains(&a.status) => {
            kept.push(Refused {
                what,
                codes,
                answer: a.clone(),
                evidence: evidence.to_vec(),
            });
            Outcome::Pass
        }
        Ok(a) if a.status == 200 => Outcome::fail(
            format!("{what}: the token endpoint answered 200: tokens were issued"),
            format!("{what} : le point de jeton a répondu 200 : des jetons ont été délivrés"),
        ),
        Ok(a) => Outcome::warning(
            format!("{what}: HTTP {} instead of a 400 error", a.status),
            format!("{what} : HTTP {} au lieu d'une erreur 400", a.status),
        ),
        Err(e) => Outcome::warning(
            format!("{what}: no answer: {e}"),
            format!("{what} : aucune réponse : {e}"),
        ),
    }
}

/// A login of its own, to the code; `Err` is the skip to record when none came.
async fn code_of(
    live: &Live<'_>,
    request: &AuthRequest,
    evidence: &mut Vec<Exchange>,
) -> Result<String, Outcome> {
    let walk = live.walk(request, evidence).await.map_err(|e| {
        Outcome::skipped(
            format!("no HTTP client: {e}"),
            format!("aucun client HTTP : {e}"),
        )
    })?;
    walk.code().map(str::to_owned).ok_or_else(|| {
        Outcome::skipped(
            format!("no code to redeem: the login {}", walk.describe()),
            format!(
                "aucun code à échanger : la connexion a abouti ainsi : {}",
                walk.describe()
            ),
        )
    })
}

pub(super) async fn code_replay(
    report: &mut Report,
    live: &Live<'_>,
    code: Option<&str>,
    redeemed: bool,
    request: &AuthRequest,
    kept: &mut Vec<Refused>,
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
    let redemption = Redemption {
        code,
        verifier: request.verifier(),
        redirect_uri: request.redirect_uri(),
    };
    let answer = live.redeem(live.client, redemption, &mut evidence).await;
    let outcome = refused(
        &answer,
        "a code redeemed again",
        &["invalid_grant"],
        &evidence,
        kept,
    );
    report.record(&OP_NEG_CODE_REPLAY, outcome, evidence);
}

/// A second login that asks for a fresh sign-in, in the browser of the first (whose session
/// a provider would otherwise reuse): the broker forwards a service's `prompt=login` as this,
/// and refuses a login whose `auth_time` does not show it was honoured. Returns its tokens,
/// for the subject's stability.
pub(super) async fn fresh_sign_in(
    report: &mut Report,
    live: &Live<'_>,
) -> Option<(Tokens, Vec<Exchange>)> {
    let mut evidence = Vec::new();
    let mut request = live.request();
    request.upstream.max_age = Some(0);
    let asked = OffsetDateTime::now_utc().unix_timestamp();
    let walk = main_flow_walk(
        live.http,
        live.metadata,
        live.target,
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
        return None;
    };
    let tokens = id_token_of(
        live.http,
        live.metadata,
        live.client,
        live.client_auth(),
        code,
        request.verifier(),
        &mut evidence,
    )
    .await;
    let outcome = match &tokens {
        Err(e) => Outcome::fail(
            format!("the code was not redeemed: {e}"),
            format!("le code n'a pas été échangé : {e}"),
        ),
        Ok(t) => match t.id_token.claims.get("auth_time").and_then(Value::as_i64) {
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
    report.record(&OP_FLOW_MAX_AGE, outcome, evidence.clone());
    tokens.ok().map(|t| (t, evidence))
}

/// One login whose code is redeemed otherwise than it should be; passes when refused.
async fn redeem_otherwise(
    live: &Live<'_>,
    what: &'static str,
    codes: &'static [&'static str],
    evidence: &mut Vec<Exchange>,
    kept: &mut Vec<Refused>,
    redeem: impl AsyncFnOnce(&str, &AuthRequest, &mut Vec<Exchange>) -> Result<Answer, String>,
) -> Outcome {
    let request = live.request();
    let code = match code_of(live, &request, evidence).await {
        Ok(code) => code,
        Err(skip) => return skip,
    };
    let answer = redeem(&code, &request, evidence).await;
    refused(&answer, what, codes, evidence, kept)
}

/// The worse of two outcomes of one check: a failure, then a warning, then a skip.
fn worse(a: Outcome, b: Outcome) -> Outcome {
    let rank = |o: &Outcome| match o {
        Outcome::Fail(_) => 3,
        Outcome::Warning(_) => 2,
        Outcome::Skipped(_) => 1,
        Outcome::Pass => 0,
    };
    if rank(&b) > rank(&a) { b } else { a }
}

/// RFC 7636 4.6: the verifier must match the challenge, so a wrong one and none at all are
/// both refused.
pub(super) async fn wrong_or_missing_verifier(
    report: &mut Report,
    live: &Live<'_>,
    kept: &mut Vec<Refused>,
) {
    let mut evidence = Vec::new();
    let wrong = redeem_otherwise(
        live,
        "a wrong code_verifier",
        &["invalid_grant"],
        &mut evidence,
        kept,
        async |code, request, evidence| {
            let wrong = random_token();
            let redemption = Redemption {
                code,
                verifier: Some(&wrong),
                redirect_uri: request.redirect_uri(),
            };
            live.redeem(live.client, redemption, evidence).await
        },
    )
    .await;
    let missing = redeem_otherwise(
        live,
        "no code_verifier",
        &["invalid_grant", "invalid_request"],
        &mut evidence,
        kept,
        async |code, request, evidence| {
            let redemption = Redemption {
                code,
                verifier: None,
                redirect_uri: request.redirect_uri(),
            };
            live.redeem(live.client, redemption, evidence).await
        },
    )
    .await;
    report.record(&OP_NEG_PKCE_VERIFIER, worse(wrong, missing), evidence);
}

/// RFC 6749 3.2.1 and 4.1.3: the token endpoint authenticates the client; a code redeemed
/// with a wrong secret gives nothing.
pub(super) async fn client_auth(report: &mut Report, live: &Live<'_>, kept: &mut Vec<Refused>) {
    let mut evidence = Vec::new();
    let outcome = redeem_otherwise(
        live,
        "a wrong client secret",
        &["invalid_client"],
        &mut evidence,
        kept,
        async |code, request, evidence| {
            let mut impostor = live.client.clone();
            impostor.client_secret = random_token();
            let redemption = Redemption {
                code,
                verifier: request.verifier(),
                redirect_uri: request.redirect_uri(),
            };
            live.redeem(&impostor, redemption, evidence).await
        },
    )
    .await;
    report.record(&OP_NEG_CLIENT_AUTH, outcome, evidence);
}

/// RFC 6749 4.1.3: the redirect URI of the redemption must be the one the code was issued
/// for.
pub(super) async fn redeem_redirect_uri(
    report: &mut Report,
    live: &Live<'_>,
    kept: &mut Vec<Refused>,
) {
    let mut evidence = Vec::new();
    let outcome = redeem_otherwise(
        live,
        "another redirect_uri",
        &["invalid_grant"],
        &mut evidence,
        kept,
        async |code, request, evidence| {
            let other = format!("{}-other", request.redirect_uri());
            let redemption = Redemption {
                code,
                verifier: request.verifier(),
                redirect_uri: &other,
            };
            live.redeem(live.client, redemption, evidence).await
        },
    )
    .await;
    report.record(&OP_NEG_REDEEM_REDIRECT_URI, outcome, evidence);
}

/// A request without a PKCE challenge must be refused; the refusal, when it comes back to the
/// client, must name the issuer as every authorization response does (RFC 9207 2).
pub(super) async fn missing_challenge(report: &mut Report, live: &Live<'_>) {
    let mut evidence = Vec::new();
    let mut request = live.request();
    request.pkce = false;
    let walk = match live.walk(&request, &mut evidence).await {
        Ok(walk) => walk,
        Err(e) => {
            let skip = |def: &CheckDef, report: &mut Report| {
                report.record(
                    def,
                    Outcome::skipped(
                        format!("no HTTP client: {e}"),
                        format!("aucun client HTTP : {e}"),
                    ),
                    Vec::new(),
                );
            };
            skip(&OP_NEG_PKCE_REQUIRED, report);
            skip(&OP_FLOW_ISS_ERROR, report);
            return;
        }
    };
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
    report.record(&OP_NEG_PKCE_REQUIRED, outcome, evidence.clone());

    let issuer = live.metadata.issuer();
    let outcome = match &walk.end {
        End::Back { params } if params.contains_key("error") => match params.get("iss") {
            Some(iss) if iss == issuer => Outcome::Pass,
            Some(iss) => Outcome::fail(
                format!("the error response's iss is {iss:?}, the issuer is {issuer:?}"),
                format!("l'iss de la réponse d'erreur vaut {iss:?}, l'émetteur est {issuer:?}"),
            ),
            None => Outcome::fail(
                "the error response (to a request without PKCE) has no iss",
                "la réponse d'erreur (à une demande sans PKCE) n'a pas d'iss",
            ),
        },
        _ => Outcome::skipped(
            "no error response came back to the client (to a request without PKCE)",
            "aucune réponse d'erreur n'est revenue au client (à une demande sans PKCE)",
        ),
    };
    report.record(&OP_FLOW_ISS_ERROR, outcome, evidence);
}
