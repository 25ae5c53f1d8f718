//! Live checks: a full code + PKCE flow, the ID token, and what the provider must refuse.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::{Metadata, ProviderTarget};
use crate::TestClient;
use crate::catalogue::*;
use crate::check::{CheckDef, Outcome, Report, Text};
use crate::evidence::Exchange;
use crate::flow::{self, AuthRequest, ClientAuth, Consent, End, Walk};
use crate::http::{Answer, Http};
use crate::jose;

use super::refusals::{
    code_replay, fresh_sign_in, missing_challenge, negative_redirect_uri, wrong_verifier,
};

/// Clock skew tolerated on `iat` (the broker's own bound).
pub(super) const SKEW_SECONDS: i64 = 120;

const LIVE_CHECKS: [&CheckDef; 13] = [
    &OP_FLOW_CODE_PKCE,
    &OP_FLOW_ISS_RESPONSE,
    &OP_FLOW_MAX_AGE,
    &OP_IDT_SIGNATURE,
    &OP_IDT_ISS,
    &OP_IDT_AUD,
    &OP_IDT_EXP,
    &OP_IDT_NONCE,
    &OP_IDT_ACR,
    &OP_NEG_REDIRECT_URI,
    &OP_NEG_CODE_REPLAY,
    &OP_NEG_PKCE_VERIFIER,
    &OP_NEG_PKCE_REQUIRED,
];
const ID_TOKEN_CHECKS: [&CheckDef; 6] = [
    &OP_IDT_SIGNATURE,
    &OP_IDT_ISS,
    &OP_IDT_AUD,
    &OP_IDT_EXP,
    &OP_IDT_NONCE,
    &OP_IDT_ACR,
];

/// What the broker profile builds on after the provider checks.
#[derive(Debug, Clone)]
pub(crate) struct LiveContext {
    pub metadata: Metadata,
    /// The claims of the main flow's ID token, if one came.
    pub claims: Option<Map<String, Value>>,
}

fn skip(report: &mut Report, defs: &[&CheckDef], reason: &Text) {
    for def in defs {
        report.record(def, Outcome::Skipped(reason.clone()), Vec::new());
    }
}

/// Starts an authorization request and walks it to the redirect back.
pub(crate) async fn main_flow_walk(
    http: &Http,
    metadata: &Metadata,
    target: &ProviderTarget,
    request: &AuthRequest,
    consent: Consent,
    evidence: &mut Vec<Exchange>,
) -> Walk {
    let endpoint = metadata.str("authorization_endpoint").unwrap_or_default();
    let mut request = request.clone();
    request.extra.extend(target.extra_params.iter().cloned());
    flow::walk(http, endpoint, &request, consent, evidence).await
}

/// Redeems a code and returns the token response and the (unverified) ID token claims.
pub(crate) async fn id_token_of(
    http: &Http,
    metadata: &Metadata,
    client: &TestClient,
    code: &str,
    verifier: Option<&str>,
    evidence: &mut Vec<Exchange>,
) -> Result<(Map<String, Value>, jose::UnverifiedJwt), String> {
    let token_endpoint = metadata.str("token_endpoint").unwrap_or_default();
    let auth = ClientAuth::from_metadata(metadata.doc.get("token_endpoint_auth_methods_supported"));
    let answer = flow::redeem(http, token_endpoint, client, auth, code, verifier, evidence).await?;
    token_response(&answer)
}

fn token_response(answer: &Answer) -> Result<(Map<String, Value>, jose::UnverifiedJwt), String> {
    if answer.status != 200 {
        return Err(format!(
            "the token endpoint answered HTTP {}",
            answer.status
        ));
    }
    let Some(Value::Object(body)) = answer.json() else {
        return Err("the token response is not a JSON object".into());
    };
    let bearer = body
        .get("token_type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("bearer"));
    if !bearer || !body.contains_key("access_token") {
        return Err("the token response lacks access_token or token_type Bearer".into());
    }
    let token = body
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or("the token response has no id_token")?;
    let jwt = jose::decode(token).map_err(|e| format!("the ID token is malformed: {e}"))?;
    Ok((body, jwt))
}

pub(super) async fn run(
    report: &mut Report,
    target: &ProviderTarget,
    metadata: Option<&Metadata>,
    now: OffsetDateTime,
) -> Option<LiveContext> {
    let Some(metadata) = metadata else {
        skip(
            report,
            &LIVE_CHECKS,
            &Text::new(
                "the discovery document is not available",
                "le document de découverte n'est pas disponible",
            ),
        );
        return None;
    };
    let Some(client) = &target.client else {
        skip(
            report,
            &LIVE_CHECKS,
            &Text::new(
                "no test client given (--client-id, --client-secret-env, --redirect-uri)",
                "aucun client de test fourni (--client-id, --client-secret-env, --redirect-uri)",
            ),
        );
        return Some(LiveContext {
            metadata: metadata.clone(),
            claims: None,
        });
    };
    if metadata.str("authorization_endpoint").is_none() || metadata.str("token_endpoint").is_none()
    {
        skip(
            report,
            &LIVE_CHECKS,
            &Text::new(
                "the discovery document names no authorization or token endpoint",
                "le document de découverte ne nomme pas de point d'autorisation ou de jeton",
            ),
        );
        return None;
    }
    let Ok(http) = Http::new() else {
        skip(
            report,
            &LIVE_CHECKS,
            &Text::new("no HTTP client", "aucun client HTTP"),
        );
        return None;
    };

    // The main flow.
    let mut evidence = Vec::new();
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
    let walk_evidence = evidence.clone();
    let mut token_evidence = Vec::new();
    let mut claims = None;
    let flow_outcome = match (&walk.end, walk.code()) {
        (End::Back { params }, Some(code)) if params.get("state") == Some(&request.state) => {
            match id_token_of(
                &http,
                metadata,
                client,
                code,
                request.verifier.as_deref(),
                &mut token_evidence,
            )
            .await
            {
                Ok((_, jwt)) => {
                    claims = Some(jwt);
                    Outcome::Pass
                }
                Err(e) => Outcome::fail(
                    format!("the code was not redeemed: {e}"),
                    format!("le code n'a pas été échangé : {e}"),
                ),
            }
        }
        (End::Back { .. }, Some(_)) => Outcome::fail(
            "the state in the authorization response is not the request's",
            "le state de la réponse d'autorisation n'est pas celui de la demande",
        ),
        _ => Outcome::fail(
            format!("no code: the login {}", walk.describe()),
            format!(
                "aucun code : la connexion a abouti ainsi : {}",
                walk.describe()
            ),
        ),
    };
    let mut flow_evidence = walk_evidence.clone();
    flow_evidence.extend(token_evidence.iter().cloned());
    report.record(&OP_FLOW_CODE_PKCE, flow_outcome, flow_evidence);

    let outcome = match &walk.end {
        End::Back { params } => match params.get("iss") {
            Some(iss) if iss == metadata.issuer() => Outcome::Pass,
            Some(iss) => Outcome::fail(
                format!("iss is {iss:?}, the issuer is {:?}", metadata.issuer()),
                format!("iss vaut {iss:?}, l'émetteur est {:?}", metadata.issuer()),
            ),
            None => Outcome::fail(
                "the authorization response has no iss",
                "la réponse d'autorisation n'a pas d'iss",
            ),
        },
        End::Stopped { .. } => Outcome::skipped(
            "no authorization response came back",
            "aucune réponse d'autorisation n'est revenue",
        ),
    };
    report.record(&OP_FLOW_ISS_RESPONSE, outcome, walk_evidence);

    match &claims {
        Some(jwt) => id_token_checks(
            report,
            metadata,
            target,
            client,
            &request,
            jwt,
            now,
            &token_evidence,
        ),
        None => skip(
            report,
            &ID_TOKEN_CHECKS,
            &Text::new(
                "no ID token was obtained",
                "aucun jeton d'identité n'a été obtenu",
            ),
        ),
    }

    fresh_sign_in(report, &http, metadata, target, client).await;
    negative_redirect_uri(report, &http, metadata, target, client).await;
    code_replay(
        report,
        &http,
        metadata,
        client,
        walk.code(),
        claims.is_some(),
        &request,
    )
    .await;
    wrong_verifier(report, metadata, target, client).await;
    missing_challenge(report, metadata, target, client).await;

    Some(LiveContext {
        metadata: metadata.clone(),
        claims: claims.map(|j| j.claims),
    })
}

#[allow(clippy::too_many_arguments)]
fn id_token_checks(
    report: &mut Report,
    metadata: &Metadata,
    target: &ProviderTarget,
    client: &TestClient,
    request: &AuthRequest,
    jwt: &jose::UnverifiedJwt,
    now: OffsetDateTime,
    evidence: &[Exchange],
) {
    let ev = || evidence.to_vec();
    // Signature.
    let alg = jwt.alg();
    let advertised = metadata.list("id_token_signing_alg_values_supported");
    let outcome = if alg.eq_ignore_ascii_case("none") {
        Outcome::fail(
            "the ID token is not signed (alg none)",
            "le jeton d'identité n'est pas signé (alg none)",
        )
    } else if alg.starts_with("HS") {
        Outcome::fail(
            format!("the ID token is HMAC-signed ({alg}): no published key can verify it"),
            format!(
                "le jeton d'identité est signé par HMAC ({alg}) : aucune clé publiée ne peut le vérifier"
            ),
        )
    } else if !advertised.contains(&alg) {
        Outcome::fail(
            format!("alg {alg} is not advertised ({advertised:?})"),
            format!("l'alg {alg} n'est pas annoncé ({advertised:?})"),
        )
    } else {
        let candidates: Vec<&Map<String, Value>> = metadata
            .keys
            .iter()
            .filter(|k| match jwt.kid() {
                Some(kid) => k.get("kid").and_then(Value::as_str) == Some(kid),
                None => true,
            })
            .collect();
        if candidates.is_empty() {
            Outcome::fail(
                format!("kid {:?} is not in the JWKS", jwt.kid()),
                format!("le kid {:?} n'est pas dans le JWKS", jwt.kid()),
            )
        } else {
            let errors: Vec<String> = candidates
                .iter()
                .map(|k| jose::verify(jwt, k))
                .filter_map(Result::err)
                .collect();
            if errors.len() < candidates.len() {
                Outcome::Pass
            } else {
                let e = errors.join("; ");
                Outcome::fail(
                    format!("no published key verifies the signature: {e}"),
                    format!("aucune clé publiée ne vérifie la signature : {e}"),
                )
            }
        }
    };
    report.record(&OP_IDT_SIGNATURE, outcome, ev());

    let claim = |name: &str| jwt.claims.get(name);
    let outcome = match claim("iss").and_then(Value::as_str) {
        Some(iss) if iss == metadata.issuer() => Outcome::Pass,
        other => Outcome::fail(
            format!("iss is {other:?}, the issuer is {:?}", metadata.issuer()),
            format!("iss vaut {other:?}, l'émetteur est {:?}", metadata.issuer()),
        ),
    };
    report.record(&OP_IDT_ISS, outcome, ev());

    let id = client.client_id.as_str();
    let outcome = match claim("aud") {
        Some(Value::String(aud)) if aud == id => Outcome::Pass,
        Some(Value::Array(auds)) if auds.iter().any(|a| a == id) => {
            if auds.len() == 1 || claim("azp").and_then(Value::as_str) == Some(id) {
                Outcome::Pass
            } else {
                Outcome::fail(
                    "several audiences and azp is not the client",
                    "plusieurs destinataires et azp n'est pas le client",
                )
            }
        }
        other => Outcome::fail(
            format!("aud is {other:?}, the client is {id:?}"),
            format!("aud vaut {other:?}, le client est {id:?}"),
        ),
    };
    report.record(&OP_IDT_AUD, outcome, ev());

    let now_s = now.unix_timestamp();
    let exp = claim("exp").and_then(Value::as_i64);
    let iat = claim("iat").and_then(Value::as_i64);
    let outcome = match (exp, iat) {
        (Some(exp), _) if exp <= now_s => Outcome::fail(
            format!("expired: exp {exp} is not after now {now_s}"),
            format!("expiré : exp {exp} n'est pas après maintenant {now_s}"),
        ),
        (_, Some(iat)) if iat > now_s + SKEW_SECONDS => Outcome::fail(
            format!("issued in the future: iat {iat}, now {now_s}"),
            format!("émis dans le futur : iat {iat}, maintenant {now_s}"),
        ),
        (Some(_), Some(_)) => Outcome::Pass,
        _ => Outcome::fail("exp or iat is missing", "exp ou iat est absent"),
    };
    report.record(&OP_IDT_EXP, outcome, ev());

    let outcome = match claim("nonce").and_then(Value::as_str) {
        Some(n) if n == request.nonce => Outcome::Pass,
        Some(_) => Outcome::fail(
            "the nonce is not the request's",
            "le nonce n'est pas celui de la demande",
        ),
        None => Outcome::fail("no nonce", "aucun nonce"),
    };
    report.record(&OP_IDT_NONCE, outcome, ev());

    let published = metadata.list("acr_values_supported");
    let outcome = match claim("acr").and_then(Value::as_str) {
        None => Outcome::fail("no acr", "aucun acr"),
        Some(acr) if !published.is_empty() && !published.contains(&acr) => Outcome::fail(
            format!("acr {acr:?} is not among the published values {published:?}"),
            format!("l'acr {acr:?} n'est pas parmi les valeurs publiées {published:?}"),
        ),
        Some(acr) => match &target.registry_entry {
            Some(entry) if entry.level_of_acr(acr).is_none() => Outcome::fail(
                format!("acr {acr:?} maps to no PCTF level in the registry"),
                format!("l'acr {acr:?} ne correspond à aucun niveau du CCP dans le registre"),
            ),
            _ => Outcome::Pass,
        },
    };
    report.record(&OP_IDT_ACR, outcome, ev());
}
