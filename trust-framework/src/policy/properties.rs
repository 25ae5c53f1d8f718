//! Property tests of the invariants the trust framework promises, over generated registries.

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::registry::{
    AgreementEntry, CertificationEntry, ProviderEntry, RegistryFile, RegistryMeta,
    RelyingPartyEntry,
};
use crate::{AssuranceLevel, Attribute, Bilingual, Jurisdiction, Registry, SecretRef};

const STATUSES: [&str; 4] = ["pending", "active", "suspended", "revoked"];
const DATES: [&str; 5] = [
    "2024-01-01T00:00:00Z",
    "2025-06-01T00:00:00Z",
    "2026-06-01T00:00:00Z",
    "2027-06-01T00:00:00Z",
    "2029-01-01T00:00:00Z",
];

fn attrs() -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(Attribute::ALL.to_vec(), 1..=Attribute::ALL.len())
        .prop_map(|v| v.into_iter().map(|a| a.name().to_owned()).collect())
}

fn window() -> impl Strategy<Value = (String, String)> {
    (0..DATES.len() - 1)
        .prop_flat_map(|a| (Just(a), a + 1..DATES.len()))
        .prop_map(|(a, b)| (DATES[a].to_owned(), DATES[b].to_owned()))
}

/// Mostly the whole test period, sometimes a window that `now` can fall outside of.
fn wide_window() -> impl Strategy<Value = (String, String)> {
    prop_oneof![3 => Just((DATES[0].to_owned(), DATES[4].to_owned())), 1 => window()]
}

fn status() -> impl Strategy<Value = (String, Option<String>)> {
    proptest::sample::select(vec![
        STATUSES[0],
        STATUSES[1],
        STATUSES[1],
        STATUSES[1],
        STATUSES[2],
        STATUSES[3],
    ])
    .prop_map(|s| {
        let reason = matches!(s, "suspended" | "revoked").then(|| "generated".to_owned());
        (s.to_owned(), reason)
    })
}

fn provider(i: usize) -> impl Strategy<Value = ProviderEntry> {
    // Each routing component once (usually current), sometimes a second, differently timed one.
    let certs = (
        proptest::collection::vec((1i64..=4, wide_window()), 3),
        proptest::collection::vec(
            (
                proptest::sample::select(vec!["verified-person", "authentication", "privacy"]),
                1i64..=4,
                window(),
            ),
            0..2,
        ),
    )
        .prop_map(|(base, extra)| {
            let mut certs: Vec<(&str, i64, (String, String))> =
                ["verified-person", "authentication", "privacy"]
                    .into_iter()
                    .zip(base)
                    .map(|(c, (l, w))| (c, l, w))
                    .collect();
            certs.extend(extra);
            certs
        });
    (
        proptest::sample::select(Jurisdiction::ALL.to_vec()),
        attrs(),
        proptest::collection::btree_map("[a-c]", 1i64..=4, 1..3),
        certs,
        status(),
    )
        .prop_map(
            move |(j, attributes, acr_map, certs, (status, status_reason))| ProviderEntry {
                id: format!("idp-{i}"),
                jurisdiction: j.code().to_owned(),
                name: Bilingual::new("P", "P"),
                issuer: format!("https://idp{i}.example"),
                client_id: "broker".into(),
                client_secret: SecretRef::Env("S".into()),
                scopes: vec!["openid".into()],
                acr_map: acr_map
                    .into_iter()
                    .map(|(k, v)| (format!("{k}{i}"), v))
                    .collect(),
                claim_map: Default::default(),
                attributes,
                certifications: certs
                    .into_iter()
                    .map(
                        |(component, level, (not_before, not_after))| CertificationEntry {
                            component: component.into(),
                            level,
                            not_before,
                            not_after,
                            assessor: None,
                        },
                    )
                    .collect(),
                status,
                status_reason,
                registered_by: None,
            },
        )
}

fn registry() -> impl Strategy<Value = Registry> {
    let providers = (1usize..5).prop_flat_map(|n| (0..n).map(provider).collect::<Vec<_>>());
    let rp_status = prop_oneof![6 => Just(("active".to_owned(), None)), 1 => status()];
    let rps = proptest::collection::vec(rp_status, 2);
    (providers, rps)
        .prop_flat_map(|(providers, rps)| {
            let mut selectors: Vec<String> = providers.iter().map(|p| p.id.clone()).collect();
            selectors.extend(providers.iter().map(|p| p.jurisdiction.clone()));
            selectors.push("CA-NU".to_owned());
            selectors.sort();
            selectors.dedup();
            let n_rps = rps.len();
            let max = selectors.len().min(3);
            let agreement = (
                0..n_rps,
                proptest::sample::subsequence(selectors, 1..=max),
                attrs(),
                1i64..=4,
                wide_window(),
                proptest::bool::weighted(0.2),
            );
            (
                Just(providers),
                Just(rps),
                proptest::collection::vec(agreement, 1..6),
            )
        })
        .prop_map(|(providers, rps, agreements)| {
            let file = RegistryFile {
                registry: RegistryMeta {
                    version: 1,
                    name: "generated".into(),
                    development: false,
                },
                providers,
                relying_parties: rps
                    .into_iter()
                    .enumerate()
                    .map(|(i, (status, status_reason))| RelyingPartyEntry {
                        client_id: format!("rp-{i}"),
                        name: Bilingual::new("R", "R"),
                        jurisdiction: "CA".into(),
                        redirect_uris: vec![format!("https://rp{i}.example/cb")],
                        token_endpoint_auth_method: "client_secret_basic".into(),
                        client_secret: Some(SecretRef::Env("S".into())),
                        jwks: None,
                        jwks_uri: None,
                        sector_identifier: format!("rp{i}"),
                        id_token_signed_response_alg: "ES256".into(),
                        require_pushed_authorization_requests: false,
                        post_logout_redirect_uris: Vec::new(),
                        backchannel_logout_uri: None,
                        security_events_uri: None,
                        status,
                        status_reason,
                        registered_by: None,
                    })
                    .collect(),
                agreements: agreements
                    .into_iter()
                    .enumerate()
                    .map(
                        |(
                            i,
                            (rp, providers, attributes, level, (not_before, not_after), terminated),
                        )| AgreementEntry {
                            id: format!("isa-{i}"),
                            version: 1,
                            relying_party: format!("rp-{rp}"),
                            providers,
                            purpose: Bilingual::new("p", "p"),
                            attributes,
                            minimum_level: level,
                            legal_basis: "consent".into(),
                            not_before,
                            not_after,
                            retention_days: 30,
                            legal_authority: None,
                            status: if terminated { "terminated" } else { "active" }.into(),
                            status_reason: terminated.then(|| "ended".into()),
                        },
                    )
                    .collect(),
                statement_keys: Vec::new(),
            };
            Registry::from_file(file).unwrap()
        })
}

fn request() -> impl Strategy<Value = RequestContext> {
    (
        prop_oneof![9 => 0usize..2, 1 => Just(7usize)],
        proptest::sample::subsequence(Attribute::ALL.to_vec(), 0..=Attribute::ALL.len()),
        proptest::option::weighted(0.5, 1i64..=4),
        proptest::option::weighted(
            0.3,
            proptest::sample::select(vec!["idp-0", "idp-1", "CA", "CA-AB", "CA-QC"]),
        ),
    )
        .prop_map(|(rp, attributes, level, hint)| RequestContext {
            client_id: format!("rp-{rp}"),
            attributes: attributes.into_iter().collect(),
            level: level.and_then(AssuranceLevel::from_number),
            hint: hint.map(str::to_owned),
        })
}

fn now() -> impl Strategy<Value = OffsetDateTime> {
    (0i64..5 * 365).prop_map(|days| datetime!(2024-06-01 0:00 UTC) + time::Duration::days(days))
}

/// Every claim a provider might send: all standard claim names plus some unknown ones.
fn everything() -> Map<String, Value> {
    let mut claims: Map<String, Value> = Attribute::ALL
        .iter()
        .map(|a| (a.claim().to_owned(), Value::from("v")))
        .collect();
    claims.insert("sin".into(), Value::from("123456789"));
    claims.insert("health_card".into(), Value::from("x"));
    claims
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn every_candidate_is_active_certified_and_agreed(registry in registry(), req in request(), now in now()) {
        if let Ok(decision) = decide(&registry, &req, now) {
            prop_assert!(!decision.candidates.is_empty());
            let rp = registry.relying_party(&req.client_id).unwrap();
            prop_assert!(rp.status.is_active(), "inactive relying party {} was served", rp.client_id);
            for c in &decision.candidates {
                let p = registry.provider(&c.provider_id).unwrap();
                prop_assert!(p.status.is_active(), "provider {} is {}", p.id, p.status);
                prop_assert!(p.certified_level(now).is_some_and(|l| l >= c.required_level),
                    "provider {} not certified for {} at {now}", p.id, c.required_level);
                let a = registry.agreement(&c.agreement_id).unwrap();
                prop_assert!(a.in_force(now).is_ok());
                prop_assert_eq!(&a.relying_party, &req.client_id);
                prop_assert!(a.covers(p));
                prop_assert!(c.required_level >= a.minimum_level);
                prop_assert!(req.level.is_none_or(|l| c.required_level >= l));
                prop_assert!(c.attributes.is_subset(&a.attributes));
                prop_assert!(c.attributes.is_subset(&req.attributes));
                prop_assert!(!c.acr_values.is_empty());
            }
        }
    }

    #[test]
    fn no_attribute_outside_an_agreement_is_ever_released(
        registry in registry(), req in request(), now in now(), acr_pick in 0usize..4, later in 0i64..400,
    ) {
        if let Ok(decision) = decide(&registry, &req, now) {
            for c in &decision.candidates {
                let p = registry.provider(&c.provider_id).unwrap();
                let acr = p.acr_map.keys().nth(acr_pick % p.acr_map.len()).cloned();
                let assertion = UpstreamAssertion { provider_id: p.id.clone(), subject: "s".into(), acr, claims: everything() };
                let at = now + time::Duration::minutes(later);
                if let Ok(rel) = release(&registry, c, &assertion, at) {
                    let a = registry.agreement(rel.agreement_id()).unwrap();
                    let released: BTreeSet<Attribute> = rel.attributes().keys().copied().collect();
                    prop_assert!(released.is_subset(&a.attributes), "released {released:?} beyond {:?}", a.attributes);
                    prop_assert!(released.is_subset(&req.attributes), "released {released:?} never requested");
                    prop_assert!(rel.level() >= c.required_level);
                    prop_assert!(p.certified_level(at).is_some_and(|l| l >= rel.level()));
                    prop_assert!(a.in_force(at).is_ok());
                }
            }
        }
    }

    #[test]
    fn suspended_or_revoked_parties_are_never_eligible(registry in registry(), req in request(), now in now()) {
        let rp_inactive = registry.relying_party(&req.client_id).is_some_and(|r| !r.status.is_active());
        let decision = decide(&registry, &req, now);
        if rp_inactive {
            prop_assert!(decision.is_err());
        }
        if let Ok(d) = decision {
            for c in d.candidates {
                let status = &registry.provider(&c.provider_id).unwrap().status;
                prop_assert!(status.is_active(), "{} was eligible while {}", c.provider_id, status);
            }
        }
    }
}

/// Guards against vacuous properties: the generators must produce registries where logins
/// are decided and released often enough for the invariants above to be exercised.
#[test]
fn generators_exercise_successful_decisions_and_releases() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut decided, mut released) = (0, 0);
    let mut kinds = std::collections::BTreeMap::new();
    for _ in 0..500 {
        let registry = registry().new_tree(&mut runner).unwrap().current();
        let req = request().new_tree(&mut runner).unwrap().current();
        let now = now().new_tree(&mut runner).unwrap().current();
        let outcome = decide(&registry, &req, now);
        if let Err(e) = &outcome {
            *kinds
                .entry(
                    format!("{e:?}")
                        .split([' ', '{'])
                        .next()
                        .unwrap()
                        .to_owned(),
                )
                .or_insert(0) += 1;
        }
        if let Ok(d) = outcome {
            decided += 1;
            let c = &d.candidates[0];
            let p = registry.provider(&c.provider_id).unwrap();
            let assertion = UpstreamAssertion {
                provider_id: p.id.clone(),
                subject: "s".into(),
                acr: c.acr_values.first().cloned(),
                claims: everything(),
            };
            if release(&registry, c, &assertion, now).is_ok_and(|r| !r.attributes().is_empty()) {
                released += 1;
            }
        }
    }
    eprintln!("decided {decided}, released {released}, refusals {kinds:?}");
    assert!(
        decided >= 30,
        "only {decided} of 500 generated requests were decided"
    );
    assert!(
        released >= 15,
        "only {released} of 500 generated requests released attributes"
    );
}
