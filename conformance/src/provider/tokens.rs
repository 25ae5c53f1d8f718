//! The token endpoint's answers as the broker reads them (RFC 6749 5.1 and 5.2), and userinfo
//! (OpenID Connect Core 5.3).

use serde_json::Value;

use super::live::{Live, Tokens};
use crate::catalogue::*;
use crate::check::{Outcome, Report, Text};
use crate::evidence::Exchange;
use crate::http::Answer;

/// A refusal the suite provoked at the token endpoint, kept for `OP-TOKEN-ERROR`.
#[derive(Debug, Clone)]
pub(super) struct Refused {
    /// What was sent, in a few words.
    pub what: &'static str,
    /// The error codes RFC 6749 5.2 gives for it.
    pub codes: &'static [&'static str],
    pub answer: Answer,
    pub evidence: Vec<Exchange>,
}

fn is_json(answer: &Answer) -> bool {
    answer
        .header("content-type")
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

fn no_token(report: &mut Report, def: &crate::check::CheckDef) {
    report.record(
        def,
        Outcome::skipped(
            "the main flow gave no token response",
            "le flux principal n'a donné aucune réponse de jeton",
        ),
        Vec::new(),
    );
}

/// RFC 6749 5.1: the tokens come as `application/json` and must not be cached. The broker
/// refuses any other media type.
pub(super) fn token_form(report: &mut Report, tokens: Option<&Tokens>, evidence: &[Exchange]) {
    let Some(tokens) = tokens else {
        no_token(report, &OP_TOKEN_JSON);
        no_token(report, &OP_TOKEN_NO_STORE);
        return;
    };
    let answer = &tokens.answer;
    let outcome = if is_json(answer) {
        Outcome::Pass
    } else {
        let t = answer.header("content-type").unwrap_or("none");
        Outcome::fail(
            format!("the token response's content type is {t}, not application/json"),
            format!("le type de contenu de la réponse de jeton est {t}, pas application/json"),
        )
    };
    report.record(&OP_TOKEN_JSON, outcome, evidence.to_vec());

    let no_store = answer.header("cache-control").is_some_and(|v| {
        v.split(',')
            .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
    });
    let outcome = if no_store {
        Outcome::Pass
    } else {
        let v = answer.header("cache-control").unwrap_or("absent");
        Outcome::fail(
            format!("Cache-Control is {v}, without no-store: the tokens may be cached on the way"),
            format!("Cache-Control vaut {v}, sans no-store : les jetons peuvent être mis en cache"),
        )
    };
    report.record(&OP_TOKEN_NO_STORE, outcome, evidence.to_vec());
}

/// OpenID Connect Core 5.3.2: the broker fetches userinfo when the ID token lacks agreed
/// attributes, and must drop the answer unless its `sub` is the ID token's.
pub(super) async fn userinfo(report: &mut Report, live: &Live<'_>, tokens: Option<&Tokens>) {
    let Some(tokens) = tokens else {
        no_token(report, &OP_USERINFO_SUB);
        return;
    };
    let Some(endpoint) = live.metadata.str("userinfo_endpoint") else {
        report.record(
            &OP_USERINFO_SUB,
            Outcome::skipped(
                "no userinfo_endpoint is published: the broker takes every attribute from the ID token",
                "aucun userinfo_endpoint n'est publié : le courtier prend tous les attributs du jeton d'identité",
            ),
            Vec::new(),
        );
        return;
    };
    let (Some(sub), Some(access_token)) = (
        tokens.id_token.claims.get("sub").and_then(Value::as_str),
        tokens.access_token(),
    ) else {
        report.record(
            &OP_USERINFO_SUB,
            Outcome::skipped(
                "the ID token has no sub to compare with",
                "le jeton d'identité n'a pas de sub à comparer",
            ),
            Vec::new(),
        );
        return;
    };
    let mut evidence = Vec::new();
    let answer = live
        .http
        .send(
            live.http.client().get(endpoint).bearer_auth(access_token),
            &mut evidence,
        )
        .await;
    let outcome = match &answer {
        Err(e) => Outcome::fail(format!("no answer: {e}"), format!("aucune réponse : {e}")),
        Ok(a) if a.status != 200 => Outcome::fail(
            format!("userinfo answered HTTP {} to the access token", a.status),
            format!("userinfo a répondu HTTP {} au jeton d'accès", a.status),
        ),
        Ok(a) => match a.json() {
            Some(Value::Object(info)) => match info.get("sub").and_then(Value::as_str) {
                Some(s) if s == sub => Outcome::Pass,
                other => Outcome::fail(
                    format!("userinfo's sub is {other:?}, the ID token's {sub:?}"),
                    format!("le sub de userinfo vaut {other:?}, celui du jeton {sub:?}"),
                ),
            },
            _ => Outcome::fail(
                "userinfo did not answer a JSON object",
                "userinfo n'a pas répondu un objet JSON",
            ),
        },
    };
    report.record(&OP_USERINFO_SUB, outcome, evidence);
}

/// RFC 6749 5.2: a refusal is HTTP 400 (401 for client authentication) with a JSON object
/// naming the error. The broker tells a provider's refusal from a broken answer by it.
pub(super) fn token_errors(report: &mut Report, refused: &[Refused]) {
    if refused.is_empty() {
        report.record(
            &OP_TOKEN_ERROR,
            Outcome::skipped(
                "the token endpoint refused nothing the suite sent",
                "le point de jeton n'a rien refusé de ce que la suite a envoyé",
            ),
            Vec::new(),
        );
        return;
    }
    let mut problems = Vec::new();
    for r in refused {
        let a = &r.answer;
        let status_ok = a.status == 400 || (a.status == 401 && r.codes.contains(&"invalid_client"));
        let error = a
            .json()
            .and_then(|j| j.get("error").and_then(Value::as_str).map(str::to_owned));
        let problem = if !status_ok {
            Some(format!("HTTP {}", a.status))
        } else if !is_json(a) {
            Some(format!(
                "content type {}",
                a.header("content-type").unwrap_or("none")
            ))
        } else {
            match error {
                None => Some("no error member".to_owned()),
                Some(e) if !r.codes.contains(&e.as_str()) => {
                    Some(format!("error {e:?} instead of {:?}", r.codes))
                }
                Some(_) => None,
            }
        };
        if let Some(p) = problem {
            problems.push(Text::new(
                format!("{}: {p}", r.what),
                format!("{} : {p}", r.what),
            ));
        }
    }
    let evidence = refused.iter().flat_map(|r| r.evidence.clone()).collect();
    report.record(&OP_TOKEN_ERROR, Outcome::from_problems(problems), evidence);
}
