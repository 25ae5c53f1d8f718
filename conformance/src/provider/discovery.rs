//! Static checks: the discovery document and the JWKS.

use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;

use serde_json::{Map, Value};
use url::Host;

use super::{Metadata, ProviderTarget};
use crate::catalogue::*;
use crate::check::{CheckDef, Outcome, Report, Text};
use crate::evidence::Exchange;
use crate::http::Http;
use crate::jose;

const REQUIRED: [&str; 7] = [
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
];

const DISCOVERY_CHECKS: [&CheckDef; 11] = [
    &OP_DISC_ISSUER_MATCH,
    &OP_DISC_ISSUER_HTTPS,
    &OP_DISC_ENDPOINTS_HTTPS,
    &OP_DISC_REQUIRED_METADATA,
    &OP_DISC_PKCE_S256,
    &OP_DISC_RESPONSE_TYPES,
    &OP_DISC_SIGNING_ALGS,
    &OP_DISC_ACR_VALUES,
    &OP_DISC_ACR_MAPPED,
    &OP_DISC_CLAIMS_COVER,
    &OP_DISC_ISS_PARAMETER,
];
const JWKS_CHECKS: [&CheckDef; 3] = [
    &OP_JWKS_KEY_STRENGTH,
    &OP_JWKS_NO_PRIVATE,
    &OP_JWKS_UNIQUE_KID,
];

fn skip_all(report: &mut Report, defs: &[&CheckDef], en: &str, fr: &str) {
    for def in defs {
        report.record(def, Outcome::skipped(en, fr), Vec::new());
    }
}

pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

pub(super) async fn run(
    report: &mut Report,
    http: &Http,
    target: &ProviderTarget,
) -> Option<Metadata> {
    let mut evidence = Vec::new();
    let url = format!(
        "{}/.well-known/openid-configuration",
        target.issuer.trim_end_matches('/')
    );
    let answer = http.get(&url, &mut evidence).await;
    let doc = ok_answer(&answer).and_then(|a| match a.json() {
        Some(Value::Object(doc)) => Ok(doc),
        _ => Err(Text::new(
            "the answer is not a JSON object",
            "la réponse n'est pas un objet JSON",
        )),
    });
    let doc = match doc {
        Ok(doc) => doc,
        Err(reason) => {
            report.record(&OP_DISC_FETCH, Outcome::Fail(reason), evidence);
            skip_all(
                report,
                &DISCOVERY_CHECKS,
                "the discovery document is not available",
                "le document de découverte n'est pas disponible",
            );
            report.record(
                &OP_JWKS_FETCH,
                Outcome::skipped(
                    "the discovery document is not available",
                    "le document de découverte n'est pas disponible",
                ),
                Vec::new(),
            );
            skip_all(
                report,
                &JWKS_CHECKS,
                "the discovery document is not available",
                "le document de découverte n'est pas disponible",
            );
            return None;
        }
    };
    report.record(&OP_DISC_FETCH, Outcome::Pass, evidence.clone());
    let mut metadata = Metadata {
        doc,
        keys: Vec::new(),
    };
    discovery_checks(report, target, &metadata, &evidence);
    metadata.keys = jwks_checks(report, http, &metadata)
        .await
        .unwrap_or_default();
    Some(metadata)
}

fn discovery_checks(report: &mut Report, target: &ProviderTarget, m: &Metadata, ev: &[Exchange]) {
    let ev = || ev.to_vec();
    // Issuer.
    let declared = m.doc.get("issuer").and_then(Value::as_str);
    let outcome = match declared {
        Some(i) if i == target.issuer => Outcome::Pass,
        Some(i) => Outcome::fail(
            format!(
                "the document states issuer {i:?}, fetched from {:?}",
                target.issuer
            ),
            format!(
                "le document déclare l'émetteur {i:?}, obtenu de {:?}",
                target.issuer
            ),
        ),
        None => Outcome::fail("no issuer", "aucun émetteur"),
    };
    report.record(&OP_DISC_ISSUER_MATCH, outcome, ev());

    let outcome = match url::Url::parse(&target.issuer) {
        Ok(u) if u.query().is_some() || u.fragment().is_some() => Outcome::fail(
            "the issuer has a query or a fragment",
            "l'émetteur a une requête ou un fragment",
        ),
        Ok(u) if u.scheme() == "https" => Outcome::Pass,
        Ok(u) if u.scheme() == "http" && is_loopback(&u) && target.allow_loopback_http => {
            Outcome::warning(
                "http on a loopback host, allowed for a test provider (--allow-loopback-http)",
                "http sur une adresse de bouclage, permis pour un fournisseur de test (--allow-loopback-http)",
            )
        }
        Ok(u) => Outcome::fail(
            format!("the issuer uses {}, not https", u.scheme()),
            format!("l'émetteur utilise {}, pas https", u.scheme()),
        ),
        Err(e) => Outcome::fail(format!("not a URL: {e}"), format!("pas une URL : {e}")),
    };
    report.record(&OP_DISC_ISSUER_HTTPS, outcome, Vec::new());
    report.record(&OP_DISC_ENDPOINTS_HTTPS, endpoints_https(target, m), ev());

    let missing: Vec<&str> = REQUIRED
        .into_iter()
        .filter(|k| m.doc.get(*k).is_none_or(Value::is_null))
        .collect();
    let outcome = if missing.is_empty() {
        Outcome::Pass
    } else {
        Outcome::fail(
            format!("missing: {}", missing.join(", ")),
            format!("absentes : {}", missing.join(", ")),
        )
    };
    report.record(&OP_DISC_REQUIRED_METADATA, outcome, ev());

    let methods = m.list("code_challenge_methods_supported");
    let outcome = if !methods.contains(&"S256") {
        Outcome::fail(
            format!("code_challenge_methods_supported is {methods:?}, without S256"),
            format!("code_challenge_methods_supported vaut {methods:?}, sans S256"),
        )
    } else if methods.contains(&"plain") {
        Outcome::warning(
            "the plain method is also offered",
            "la méthode plain est aussi offerte",
        )
    } else {
        Outcome::Pass
    };
    report.record(&OP_DISC_PKCE_S256, outcome, ev());

    let types = m.list("response_types_supported");
    let implicit: Vec<&str> = types
        .iter()
        .copied()
        .filter(|t| !t.split(' ').any(|p| p == "code"))
        .filter(|t| t.split(' ').any(|p| p == "token" || p == "id_token"))
        .collect();
    let outcome = if !types.contains(&"code") {
        Outcome::fail(
            format!("response_types_supported is {types:?}, without code"),
            format!("response_types_supported vaut {types:?}, sans code"),
        )
    } else if !implicit.is_empty() {
        Outcome::fail(
            format!("implicit response types offered: {implicit:?}"),
            format!("types de réponse implicites offerts : {implicit:?}"),
        )
    } else {
        Outcome::Pass
    };
    report.record(&OP_DISC_RESPONSE_TYPES, outcome, ev());

    let algs = m.list("id_token_signing_alg_values_supported");
    let hmac: Vec<&str> = algs
        .iter()
        .copied()
        .filter(|a| a.starts_with("HS"))
        .collect();
    let outcome = if algs.iter().any(|a| a.eq_ignore_ascii_case("none")) {
        Outcome::fail(
            format!("none is offered: {algs:?}"),
            format!("none est offert : {algs:?}"),
        )
    } else if !algs.iter().any(|a| ["PS256", "ES256", "RS256"].contains(a)) {
        Outcome::fail(
            format!("none of PS256, ES256, RS256 in {algs:?}"),
            format!("aucun de PS256, ES256, RS256 dans {algs:?}"),
        )
    } else if !hmac.is_empty() {
        Outcome::warning(
            format!("HMAC algorithms offered ({hmac:?}): the broker never accepts them"),
            format!("algorithmes HMAC offerts ({hmac:?}) : le courtier ne les accepte jamais"),
        )
    } else {
        Outcome::Pass
    };
    report.record(&OP_DISC_SIGNING_ALGS, outcome, ev());

    let acrs = m.list("acr_values_supported");
    let outcome = if acrs.is_empty() {
        Outcome::fail(
            "acr_values_supported is absent or empty",
            "acr_values_supported est absent ou vide",
        )
    } else {
        Outcome::Pass
    };
    report.record(&OP_DISC_ACR_VALUES, outcome, ev());

    let no_entry = || {
        Outcome::skipped(
            "no registry entry given (--registry FILE --provider-id ID)",
            "aucune entrée de registre fournie (--registry FICHIER --provider-id ID)",
        )
    };
    let outcome = match &target.registry_entry {
        None => no_entry(),
        Some(entry) => {
            let published: BTreeSet<&str> = acrs.iter().copied().collect();
            let unpublished: Vec<&str> = entry
                .acr_map
                .keys()
                .map(String::as_str)
                .filter(|a| !published.contains(a))
                .collect();
            let mapped = acrs
                .iter()
                .filter(|a| entry.level_of_acr(a).is_some())
                .count();
            if !unpublished.is_empty() {
                Outcome::fail(
                    format!("mapped in the registry but not published: {unpublished:?}"),
                    format!("associées dans le registre mais non publiées : {unpublished:?}"),
                )
            } else if mapped == 0 {
                Outcome::fail(
                    "no published acr value maps to a PCTF level",
                    "aucune valeur acr publiée ne correspond à un niveau du CCP",
                )
            } else {
                Outcome::Pass
            }
        }
    };
    report.record(&OP_DISC_ACR_MAPPED, outcome, ev());

    let outcome = match &target.registry_entry {
        None => no_entry(),
        Some(entry) => {
            let claims = m.list("claims_supported");
            let missing: Vec<String> = entry
                .attributes
                .iter()
                .map(|a| entry.claim_of_attribute(*a))
                .filter(|c| !claims.contains(c))
                .map(str::to_owned)
                .collect();
            if claims.is_empty() {
                Outcome::fail(
                    "claims_supported is absent or empty",
                    "claims_supported est absent ou vide",
                )
            } else if missing.is_empty() {
                Outcome::Pass
            } else {
                Outcome::fail(
                    format!("attested but not supported: {missing:?}"),
                    format!("attestées mais non prises en charge : {missing:?}"),
                )
            }
        }
    };
    report.record(&OP_DISC_CLAIMS_COVER, outcome, ev());

    let outcome = match m.doc.get("authorization_response_iss_parameter_supported") {
        Some(Value::Bool(true)) => Outcome::Pass,
        _ => Outcome::fail(
            "authorization_response_iss_parameter_supported is not true",
            "authorization_response_iss_parameter_supported ne vaut pas true",
        ),
    };
    report.record(&OP_DISC_ISS_PARAMETER, outcome, ev());
}

/// Whether a metadata member names a place a client, a browser or the provider's own pages
/// are sent to: every `*_endpoint` (authorization, token, userinfo, and those of registration,
/// revocation, introspection, logout, PAR...), the JWKS, and the session iframe.
fn is_endpoint(name: &str) -> bool {
    name.ends_with("_endpoint")
        || ["jwks_uri", "signed_jwks_uri", "check_session_iframe"].contains(&name)
}

/// Every endpoint the document publishes, by member name (`mtls_endpoint_aliases`' too).
/// Members that are not strings are left to the checks that read them.
fn published_endpoints(doc: &Map<String, Value>) -> Vec<(String, &str)> {
    let mut endpoints = Vec::new();
    for (name, value) in doc {
        match value {
            Value::String(url) if is_endpoint(name) => endpoints.push((name.clone(), url.as_str())),
            Value::Object(aliases) if name == "mtls_endpoint_aliases" => {
                for (alias, value) in aliases {
                    if let Value::String(url) = value {
                        endpoints.push((format!("{name}.{alias}"), url.as_str()));
                    }
                }
            }
            _ => {}
        }
    }
    endpoints
}

/// Core 3.1.2, 3.1.3 and 5.3, RFC 6749 3.1 and 3.2: the endpoints are reached over TLS. They
/// are held to what the issuer is held to: with an https issuer, every endpoint is https; with
/// a loopback http issuer allowed for a test provider, http on a loopback host is the same
/// warning. An issuer that is itself refused http fails `OP-DISC-ISSUER-HTTPS` alone.
fn endpoints_https(target: &ProviderTarget, m: &Metadata) -> Outcome {
    let issuer = match url::Url::parse(&target.issuer) {
        Ok(u) => u,
        Err(e) => {
            return Outcome::skipped(
                format!("the issuer is not a URL: {e}"),
                format!("l'émetteur n'est pas une URL : {e}"),
            );
        }
    };
    let loopback_allowed =
        issuer.scheme() == "http" && is_loopback(&issuer) && target.allow_loopback_http;
    if issuer.scheme() != "https" && !loopback_allowed {
        return Outcome::skipped(
            format!(
                "the issuer itself uses {}, which OP-DISC-ISSUER-HTTPS reports",
                issuer.scheme()
            ),
            format!(
                "l'émetteur lui-même utilise {}, ce que signale OP-DISC-ISSUER-HTTPS",
                issuer.scheme()
            ),
        );
    }
    let endpoints = published_endpoints(&m.doc);
    if endpoints.is_empty() {
        return Outcome::skipped(
            "the discovery document publishes no endpoint",
            "le document de découverte ne publie aucun point de terminaison",
        );
    }
    let mut problems = Vec::new();
    let mut on_loopback = Vec::new();
    for (name, value) in endpoints {
        match url::Url::parse(value) {
            Ok(u) if u.scheme() == "https" => {}
            Ok(u) if u.scheme() == "http" && is_loopback(&u) && loopback_allowed => {
                on_loopback.push(name);
            }
            Ok(u) => problems.push(Text::new(
                format!("{name} uses {}, not https: {value}", u.scheme()),
                format!("{name} utilise {}, pas https : {value}", u.scheme()),
            )),
            Err(e) => problems.push(Text::new(
                format!("{name} is not a URL ({e}): {value:?}"),
                format!("{name} n'est pas une URL ({e}) : {value:?}"),
            )),
        }
    }
    if !problems.is_empty() {
        return Outcome::from_problems(problems);
    }
    if on_loopback.is_empty() {
        return Outcome::Pass;
    }
    let names = on_loopback.join(", ");
    Outcome::warning(
        format!(
            "http on a loopback host ({names}), allowed for a test provider (--allow-loopback-http)"
        ),
        format!(
            "http sur une adresse de bouclage ({names}), permis pour un fournisseur de test (--allow-loopback-http)"
        ),
    )
}

/// The answer, if it came back with 200; otherwise why not, for the fetch check.
fn ok_answer(answer: &Result<crate::http::Answer, String>) -> Result<&crate::http::Answer, Text> {
    match answer {
        Ok(a) if a.status == 200 => Ok(a),
        Ok(a) => Err(Text::new(
            format!("HTTP {} instead of 200", a.status),
            format!("HTTP {} au lieu de 200", a.status),
        )),
        Err(e) => Err(Text::new(
            format!("no answer: {e}"),
            format!("aucune réponse : {e}"),
        )),
    }
}

async fn jwks_checks(
    report: &mut Report,
    http: &Http,
    m: &Metadata,
) -> Option<Vec<Map<String, Value>>> {
    let mut evidence = Vec::new();
    let keys = match m.str("jwks_uri") {
        None => Err(Text::new("no jwks_uri", "aucun jwks_uri")),
        Some(uri) => ok_answer(&http.get(uri, &mut evidence).await).and_then(|a| {
            match a
                .json()
                .as_ref()
                .and_then(|j| j.get("keys"))
                .and_then(Value::as_array)
            {
                Some(keys) => {
                    let keys: Vec<Map<String, Value>> =
                        keys.iter().filter_map(Value::as_object).cloned().collect();
                    let signing = keys
                        .iter()
                        .filter(|k| k.get("use").is_none_or(|u| u == "sig"))
                        .count();
                    if signing == 0 {
                        Err(Text::new("no signing key", "aucune clé de signature"))
                    } else {
                        Ok(keys)
                    }
                }
                None => Err(Text::new(
                    "the answer has no \"keys\" array",
                    "la réponse n'a pas de tableau « keys »",
                )),
            }
        }),
    };
    let keys = match keys {
        Ok(keys) => keys,
        Err(reason) => {
            report.record(&OP_JWKS_FETCH, Outcome::Fail(reason), evidence);
            skip_all(
                report,
                &JWKS_CHECKS,
                "the JWKS is not available",
                "le JWKS n'est pas disponible",
            );
            return None;
        }
    };
    report.record(&OP_JWKS_FETCH, Outcome::Pass, evidence.clone());

    let weak: Vec<Text> = keys
        .iter()
        .filter_map(jose::key_weakness)
        .map(|(en, fr)| Text::new(en, fr))
        .collect();
    report.record(
        &OP_JWKS_KEY_STRENGTH,
        Outcome::from_problems(weak),
        evidence.clone(),
    );

    let private: Vec<Text> = keys
        .iter()
        .filter_map(|k| {
            let members: Vec<&str> = jose::PRIVATE_MEMBERS
                .into_iter()
                .filter(|m| k.contains_key(*m))
                .collect();
            let kid = k.get("kid").and_then(Value::as_str).unwrap_or("(no kid)");
            (!members.is_empty()).then(|| {
                Text::new(
                    format!("key {kid} publishes private members {members:?}"),
                    format!("la clé {kid} publie les parties privées {members:?}"),
                )
            })
        })
        .collect();
    report.record(
        &OP_JWKS_NO_PRIVATE,
        Outcome::from_problems(private),
        evidence.clone(),
    );

    let mut seen = HashSet::new();
    let mut problems = Vec::new();
    for k in &keys {
        match k.get("kid").and_then(Value::as_str) {
            None => problems.push(Text::new("a key has no kid", "une clé n'a pas de kid")),
            Some(kid) if !seen.insert(kid) => problems.push(Text::new(
                format!("kid {kid:?} is used by more than one key"),
                format!("le kid {kid:?} est utilisé par plus d'une clé"),
            )),
            Some(_) => {}
        }
    }
    report.record(
        &OP_JWKS_UNIQUE_KID,
        Outcome::from_problems(problems),
        evidence,
    );
    Some(keys)
}
