//! The ID token of the main flow, judged as the broker validates an upstream ID token
//! (OpenID Connect Core 3.1.3.7 and 3.1.3.8, with the broker's own bounds), and the subject's
//! stability across sign-ins.

use aws_lc_rs::digest;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::live::{Live, Tokens, skip};
use crate::catalogue::*;
use crate::check::{CheckDef, Outcome, Report, Text};
use crate::evidence::Exchange;
use crate::flow::AuthRequest;
use crate::jose::{self, b64url_decode};

/// Clock skew tolerated on `iat` ahead of now: the broker's `MAX_IAT_SKEW`.
pub const SKEW_SECONDS: i64 = 120;
/// The oldest `iat` the broker accepts: its `MAX_IAT_AGE`. An ID token is redeemed seconds
/// after it is issued; one older than this was minted for another request or kept.
pub const MAX_AGE_SECONDS: i64 = 600;
/// The algorithms the broker accepts on upstream ID tokens (its `signature::ALGS`): a token
/// signed otherwise is valid JOSE the broker will still refuse.
pub const BROKER_ALGS: [&str; 6] = ["RS256", "PS256", "PS384", "ES256", "ES384", "EdDSA"];
/// OpenID Connect Core 2: `sub` "MUST NOT exceed 255 ASCII characters in length".
const MAX_SUB_LEN: usize = 255;

const ID_TOKEN_CHECKS: [&CheckDef; 8] = [
    &OP_IDT_SIGNATURE,
    &OP_IDT_ISS,
    &OP_IDT_SUB,
    &OP_IDT_AUD,
    &OP_IDT_EXP,
    &OP_IDT_NONCE,
    &OP_IDT_ACR,
    &OP_IDT_AT_HASH,
];

fn claim_str<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

pub(super) fn checks(
    report: &mut Report,
    live: &Live<'_>,
    request: &AuthRequest,
    tokens: Option<&Tokens>,
    now: OffsetDateTime,
    evidence: &[Exchange],
) {
    let Some(tokens) = tokens else {
        skip(
            report,
            &ID_TOKEN_CHECKS,
            &Text::new(
                "no ID token was obtained",
                "aucun jeton d'identité n'a été obtenu",
            ),
        );
        return;
    };
    let jwt = &tokens.id_token;
    let ev = || evidence.to_vec();
    report.record(&OP_IDT_SIGNATURE, signature(live, jwt), ev());

    let claims = &jwt.claims;
    let issuer = live.metadata.issuer();
    let outcome = match claim_str(claims, "iss") {
        Some(iss) if iss == issuer => Outcome::Pass,
        other => Outcome::fail(
            format!("iss is {other:?}, the issuer is {issuer:?}"),
            format!("iss vaut {other:?}, l'émetteur est {issuer:?}"),
        ),
    };
    report.record(&OP_IDT_ISS, outcome, ev());
    report.record(&OP_IDT_SUB, subject(claims), ev());
    report.record(&OP_IDT_AUD, audience(claims, &live.client.client_id), ev());
    report.record(&OP_IDT_EXP, current(claims, now), ev());

    let outcome = match claim_str(claims, "nonce") {
        Some(n) if n == request.nonce() => Outcome::Pass,
        Some(_) => Outcome::fail(
            "the nonce is not the request's",
            "le nonce n'est pas celui de la demande",
        ),
        None => Outcome::fail("no nonce", "aucun nonce"),
    };
    report.record(&OP_IDT_NONCE, outcome, ev());
    report.record(&OP_IDT_ACR, acr(live, request, claims), ev());
    report.record(&OP_IDT_AT_HASH, at_hash(tokens), ev());
}

fn signature(live: &Live<'_>, jwt: &jose::UnverifiedJwt) -> Outcome {
    let alg = jwt.alg();
    let advertised = live.metadata.list("id_token_signing_alg_values_supported");
    if alg.eq_ignore_ascii_case("none") {
        return Outcome::fail(
            "the ID token is not signed (alg none)",
            "le jeton d'identité n'est pas signé (alg none)",
        );
    }
    if alg.starts_with("HS") {
        return Outcome::fail(
            format!("the ID token is HMAC-signed ({alg}): no published key can verify it"),
            format!(
                "le jeton d'identité est signé par HMAC ({alg}) : aucune clé publiée ne peut le vérifier"
            ),
        );
    }
    if !advertised.contains(&alg) {
        return Outcome::fail(
            format!("alg {alg} is not advertised ({advertised:?})"),
            format!("l'alg {alg} n'est pas annoncé ({advertised:?})"),
        );
    }
    if !BROKER_ALGS.contains(&alg) {
        return Outcome::fail(
            format!("alg {alg} is not one the broker accepts ({BROKER_ALGS:?})"),
            format!("l'alg {alg} n'est pas accepté par le courtier ({BROKER_ALGS:?})"),
        );
    }
    let candidates: Vec<&Map<String, Value>> = live
        .metadata
        .keys
        .iter()
        .filter(|k| match jwt.kid() {
            Some(kid) => claim_str(k, "kid") == Some(kid),
            None => true,
        })
        .collect();
    if candidates.is_empty() {
        return Outcome::fail(
            format!("kid {:?} is not in the JWKS", jwt.kid()),
            format!("le kid {:?} n'est pas dans le JWKS", jwt.kid()),
        );
    }
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

/// OpenID Connect Core 2: `sub` is required, a case-sensitive string of at most 255 ASCII
/// characters. The broker derives the service's pairwise subject from it.
fn subject(claims: &Map<String, Value>) -> Outcome {
    match claims.get("sub") {
        None => Outcome::fail("no sub", "aucun sub"),
        Some(Value::String(s)) if s.is_empty() => Outcome::fail("sub is empty", "sub est vide"),
        Some(Value::String(s)) if !s.is_ascii() || s.len() > MAX_SUB_LEN => Outcome::fail(
            format!(
                "sub is not at most {MAX_SUB_LEN} ASCII characters ({} bytes)",
                s.len()
            ),
            format!(
                "sub n'est pas d'au plus {MAX_SUB_LEN} caractères ASCII ({} octets)",
                s.len()
            ),
        ),
        Some(Value::String(_)) => Outcome::Pass,
        Some(other) => Outcome::fail(
            format!("sub is not a string: {other}"),
            format!("sub n'est pas une chaîne : {other}"),
        ),
    }
}

/// The broker accepts its own client id as the only audience (a token for several
/// audiences could be replayed at the others), and an `azp`, when present, naming it.
fn audience(claims: &Map<String, Value>, id: &str) -> Outcome {
    let ours = |v: &Value| v.as_str() == Some(id);
    let outcome = match claims.get("aud") {
        Some(aud @ Value::String(_)) if ours(aud) => Outcome::Pass,
        Some(Value::Array(auds)) if matches!(auds.as_slice(), [one] if ours(one)) => Outcome::Pass,
        Some(Value::Array(auds)) if auds.iter().any(ours) => Outcome::fail(
            format!("aud is {auds:?}: the broker accepts its client id {id:?} alone"),
            format!("aud vaut {auds:?} : le courtier n'accepte que son identifiant {id:?}"),
        ),
        other => Outcome::fail(
            format!("aud is {other:?}, the client is {id:?}"),
            format!("aud vaut {other:?}, le client est {id:?}"),
        ),
    };
    match (outcome, claims.get("azp")) {
        (Outcome::Pass, Some(azp)) if !ours(azp) => Outcome::fail(
            format!("azp is {azp}, not the client {id:?}"),
            format!("azp vaut {azp}, pas le client {id:?}"),
        ),
        (outcome, _) => outcome,
    }
}

/// `exp` in the future; `iat` within the broker's bounds around now.
fn current(claims: &Map<String, Value>, now: OffsetDateTime) -> Outcome {
    let now_s = now.unix_timestamp();
    let exp = claims.get("exp").and_then(Value::as_i64);
    let iat = claims.get("iat").and_then(Value::as_i64);
    match (exp, iat) {
        (Some(exp), _) if exp <= now_s => Outcome::fail(
            format!("expired: exp {exp} is not after now {now_s}"),
            format!("expiré : exp {exp} n'est pas après maintenant {now_s}"),
        ),
        (_, Some(iat)) if iat > now_s + SKEW_SECONDS => Outcome::fail(
            format!("issued in the future: iat {iat}, now {now_s}"),
            format!("émis dans le futur : iat {iat}, maintenant {now_s}"),
        ),
        (_, Some(iat)) if iat < now_s - MAX_AGE_SECONDS => Outcome::fail(
            format!(
                "issued {} s before now (iat {iat}): the broker refuses an ID token older than {MAX_AGE_SECONDS} s",
                now_s - iat
            ),
            format!(
                "émis {} s avant maintenant (iat {iat}) : le courtier refuse un jeton d'identité de plus de {MAX_AGE_SECONDS} s",
                now_s - iat
            ),
        ),
        (Some(_), Some(_)) => Outcome::Pass,
        _ => Outcome::fail("exp or iat is missing", "exp ou iat est absent"),
    }
}

/// The broker asks for acr values and refuses a sign-in whose `acr` is missing, unknown or
/// below the level it needs: OpenID Connect lets a provider leave a voluntary acr out, but
/// the broker cannot know the level achieved without it.
fn acr(live: &Live<'_>, request: &AuthRequest, claims: &Map<String, Value>) -> Outcome {
    let asked = &request.upstream.acr_values;
    let published = live.metadata.list("acr_values_supported");
    let Some(acr) = claim_str(claims, "acr") else {
        return if asked.is_empty() {
            Outcome::fail("no acr", "aucun acr")
        } else {
            Outcome::fail(
                format!("no acr, though acr_values {asked:?} was asked"),
                format!("aucun acr, bien que acr_values {asked:?} ait été demandé"),
            )
        };
    };
    if !published.is_empty() && !published.contains(&acr) {
        return Outcome::fail(
            format!("acr {acr:?} is not among the published values {published:?}"),
            format!("l'acr {acr:?} n'est pas parmi les valeurs publiées {published:?}"),
        );
    }
    let Some(entry) = &live.target.registry_entry else {
        return Outcome::Pass;
    };
    match (entry.level_of_acr(acr), live.plan.level) {
        (None, _) => Outcome::fail(
            format!("acr {acr:?} maps to no PCTF level in the registry"),
            format!("l'acr {acr:?} ne correspond à aucun niveau du CCP dans le registre"),
        ),
        (Some(got), Some(wanted)) if got < wanted => Outcome::fail(
            format!(
                "acr {acr:?} stands for {}, below the {} asked with acr_values {asked:?}",
                got.acr(),
                wanted.acr()
            ),
            format!(
                "l'acr {acr:?} vaut {}, sous le {} demandé par acr_values {asked:?}",
                got.acr(),
                wanted.acr()
            ),
        ),
        _ => Outcome::Pass,
    }
}

/// The hash an ID token's `at_hash` is made with: the one of its signature algorithm (SHA-512
/// for EdDSA on Ed25519).
fn at_hash_digest(alg: &str) -> Option<&'static digest::Algorithm> {
    match alg {
        "EdDSA" | "Ed25519" => Some(&digest::SHA512),
        a if a.ends_with("256") => Some(&digest::SHA256),
        a if a.ends_with("384") => Some(&digest::SHA384),
        a if a.ends_with("512") => Some(&digest::SHA512),
        _ => None,
    }
}

/// OpenID Connect Core 3.1.3.8 and 3.2.2.9: the left half of the hash of the access token,
/// base64url-encoded.
pub(crate) fn expected_at_hash(alg: &str, access_token: &str) -> Option<Vec<u8>> {
    let hash = digest::digest(at_hash_digest(alg)?, access_token.as_bytes());
    let bytes = hash.as_ref();
    Some(bytes[..bytes.len() / 2].to_vec())
}

/// Optional in the code flow; when present, it must bind the ID token to the access token
/// it came with, or the two may have been paired by someone else.
fn at_hash(tokens: &Tokens) -> Outcome {
    let Some(claimed) = tokens.id_token.claims.get("at_hash") else {
        return Outcome::Pass;
    };
    let Some(access_token) = tokens.access_token() else {
        return Outcome::fail(
            "at_hash is present but the token response has no access token",
            "at_hash est présent mais la réponse n'a pas de jeton d'accès",
        );
    };
    let alg = tokens.id_token.alg();
    let Some(expected) = expected_at_hash(alg, access_token) else {
        return Outcome::fail(
            format!("at_hash cannot be checked for alg {alg}"),
            format!("at_hash ne peut être vérifié pour l'alg {alg}"),
        );
    };
    match claimed.as_str().and_then(b64url_decode) {
        Some(got) if got == expected => Outcome::Pass,
        _ => Outcome::fail(
            format!("at_hash {claimed} is not the {alg} hash of the access token"),
            format!("at_hash {claimed} n'est pas le hachage {alg} du jeton d'accès"),
        ),
    }
}

/// OpenID Connect Core 2: a subject is "never reassigned"; the broker keys consents and
/// pairwise subjects on it, so the same person must get the same `sub` at every sign-in.
pub(super) fn sub_stable(
    report: &mut Report,
    main: Option<&Tokens>,
    fresh: Option<&(Tokens, Vec<Exchange>)>,
) {
    let sub = |t: &Tokens| claim_str(&t.id_token.claims, "sub").map(str::to_owned);
    let (outcome, evidence) = match (main.and_then(sub), fresh) {
        (Some(first), Some((tokens, evidence))) => match sub(tokens) {
            Some(second) if second == first => (Outcome::Pass, evidence.clone()),
            Some(second) => (
                Outcome::fail(
                    format!("the same person signed in twice got sub {first:?}, then {second:?}"),
                    format!(
                        "la même personne connectée deux fois a reçu le sub {first:?}, puis {second:?}"
                    ),
                ),
                evidence.clone(),
            ),
            None => (
                Outcome::skipped(
                    "the second sign-in's ID token has no sub",
                    "le jeton de la seconde connexion n'a pas de sub",
                ),
                evidence.clone(),
            ),
        },
        _ => (
            Outcome::skipped(
                "two ID tokens with a sub are needed (main flow and fresh sign-in)",
                "il faut deux jetons d'identité avec un sub (flux principal et reconnexion)",
            ),
            Vec::new(),
        ),
    };
    report.record(&OP_IDT_SUB_STABLE, outcome, evidence);
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn at_hash_is_the_left_half_of_the_hash() {
        // OpenID Connect Core 1.0 appendix A.4 (RS256).
        let expected = expected_at_hash("RS256", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y");
        assert_eq!(
            expected.map(|h| URL_SAFE_NO_PAD.encode(h)).as_deref(),
            Some("77QmUPtjPfzWtF2AnpK9RQ")
        );
        assert_eq!(expected_at_hash("ES384", "t").map(|h| h.len()), Some(24));
        assert_eq!(expected_at_hash("EdDSA", "t").map(|h| h.len()), Some(32));
        assert_eq!(expected_at_hash("none", "t"), None);
    }

    #[test]
    fn audience_is_the_client_alone() {
        let claims = |v: Value| v.as_object().cloned().unwrap_or_default();
        let c = "client";
        assert_eq!(
            audience(&claims(serde_json::json!({"aud": "client"})), c),
            Outcome::Pass
        );
        assert_eq!(
            audience(
                &claims(serde_json::json!({"aud": ["client"], "azp": "client"})),
                c
            ),
            Outcome::Pass
        );
        for bad in [
            serde_json::json!({"aud": ["client", "other"], "azp": "client"}),
            serde_json::json!({"aud": "client", "azp": "other"}),
            serde_json::json!({"aud": "other"}),
            serde_json::json!({}),
        ] {
            assert!(
                matches!(audience(&claims(bad.clone()), c), Outcome::Fail(_)),
                "{bad}"
            );
        }
    }

    #[test]
    fn subjects_are_short_ascii_strings() {
        let claims = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert_eq!(
            subject(&claims(serde_json::json!({"sub": "a-1"}))),
            Outcome::Pass
        );
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"sub": ""}),
            serde_json::json!({"sub": 12}),
            serde_json::json!({"sub": "é"}),
            serde_json::json!({"sub": "x".repeat(256)}),
        ] {
            assert!(
                matches!(subject(&claims(bad.clone())), Outcome::Fail(_)),
                "{bad}"
            );
        }
    }
}
