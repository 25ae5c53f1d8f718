//! Micro-benchmarks of the broker's hot path: what one login costs in CPU, step by step.
//!
//! `cargo bench -p broker --bench hot_path -- --warm-up-time 1 --measurement-time 3`
//!
//! Everything runs at a fixed time inside the example registry's windows, on the example
//! registry, with keys generated at start. The Redis group starts its own `redis-server` on a
//! free loopback port and is skipped, with a message, when none is installed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use broker::keys::KeySet;
use broker::login::abandoned::{Stage, Watch};
use broker::login::state::{
    AtProvider, CodeGrant, Granted, Pending, ReturnTo, ServiceRequest, UpstreamLeg,
};
use broker::oidc::id_token;
use broker::oidc::pairwise::PairwiseSubjects;
use broker::store::{Kind, MemoryStore, RedisStore, RedisTarget, Store, TypedStore};
use broker::upstream::Expected;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use trust_framework::{
    Attribute, Decision, Lang, Registry, RequestContext, SigningAlg, UpstreamAssertion, decide,
    release,
};

const REGISTRY: &str = include_str!("../../examples/registry/pan-canada.toml");
/// Inside every window of the example registry.
const NOW: OffsetDateTime = datetime!(2026-11-24 12:00 UTC);
const BROKER: &str = "https://broker.example.gc.ca";
const RP: &str = "esdc-employment-insurance";
const PROVIDER: &str = "ab-account";
const UPSTREAM_NONCE: &str = "Qm9uam91ciBsZSBtb25kZSwgdm9pY2kgdW4gbm9uY2U";
const TXN: &str = "dHhuLWJlbmNobWFyay0wMDAwMDAwMDAwMDAwMDAwMDA";

fn registry() -> Registry {
    Registry::from_toml(REGISTRY).unwrap()
}

/// What Employment Insurance asks for: everything its agreement allows.
fn request() -> RequestContext {
    RequestContext {
        client_id: RP.to_owned(),
        attributes: BTreeSet::from([
            Attribute::GivenName,
            Attribute::FamilyName,
            Attribute::Birthdate,
            Attribute::Address,
            Attribute::PreferredLanguage,
        ]),
        level: None,
        hint: None,
    }
}

/// The claims of the Alberta provider's ID token, under its own names.
fn upstream_claims() -> Map<String, Value> {
    let iat = NOW.unix_timestamp() - 5;
    json!({
        "iss": "http://127.0.0.1:8411",
        "sub": "ab-person-0001",
        "aud": "pan-canadian-broker",
        "iat": iat,
        "exp": iat + 300,
        "auth_time": iat - 20,
        "nonce": UPSTREAM_NONCE,
        "acr": "urn:ab:aca:verified",
        "given_name": "Élise",
        "family_name": "Tremblay",
        "birthdate": "1990-02-03",
        "address": {
            "street_address": "10025 106 St NW",
            "locality": "Edmonton",
            "region": "AB",
            "postal_code": "T5J 1G7",
            "country": "CA"
        },
        "preferred_language": "fr",
        "email": "elise@example.ca"
    })
    .as_object()
    .unwrap()
    .clone()
}

/// The code grant the callback builds for that login: decision, release, pairwise subject.
fn code_grant(registry: &Registry) -> CodeGrant {
    let decision = decide(registry, &request(), NOW).unwrap();
    let candidate = decision.candidate(PROVIDER).unwrap();
    let upstream = upstream_claims();
    let assertion = UpstreamAssertion {
        provider_id: PROVIDER.to_owned(),
        subject: "ab-person-0001".to_owned(),
        acr: Some("urn:ab:aca:verified".to_owned()),
        claims: upstream,
    };
    let released = release(registry, candidate, &assertion, NOW).unwrap();
    let rp = registry.relying_party(RP).unwrap();
    let auth_time = (NOW - time::Duration::seconds(25)).unix_timestamp();
    let granted = Granted {
        provider_id: PROVIDER.to_owned(),
        jurisdiction: released.jurisdiction(),
        agreement_id: released.agreement_id().to_owned(),
        agreement_version: released.agreement_version(),
        legal_basis: candidate.legal_basis,
        level: released.level(),
        subject: PairwiseSubjects::new(b"benchmark pairwise secret, 32 by").subject(
            &rp.sector_identifier,
            PROVIDER,
            "ab-person-0001",
        ),
        person_key: PairwiseSubjects::new(b"benchmark pairwise secret, 32 by")
            .person_key(PROVIDER, "ab-person-0001"),
        auth_time: Some(auth_time),
        verified_at: auth_time,
        attributes: released
            .attributes()
            .iter()
            .map(|(a, v)| (*a, v.clone()))
            .collect(),
        withheld: released.withheld().clone(),
    };
    CodeGrant {
        client_id: RP.to_owned(),
        redirect_uri: rp.redirect_uris[0].clone(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
        nonce: "bi1yZWx5aW5nLXBhcnR5LW5vbmNl".to_owned(),
        txn: TXN.to_owned(),
        acr: granted.level.acr().to_owned(),
        auth_time: granted.auth_time,
        claims: id_token::released_claims(&granted.attributes),
        verified_claims: id_token::verified_claims(&granted, TXN),
        subject: granted.subject,
        sid: Some("c2Vzc2lvbi1pZC1mb3ItdGhlLWJlbmNobWFyay1zaWQ".to_owned()),
    }
}

/// `/token`: the ID token's claims, then its signature, per algorithm.
fn id_token_signing(c: &mut Criterion) {
    let registry = registry();
    let grant = code_grant(&registry);
    let keys = KeySet::generate().unwrap();
    let mut group = c.benchmark_group("id_token");
    group.bench_function("claims", |b| {
        b.iter(|| id_token::claims(black_box(BROKER), black_box(&grant), NOW));
    });
    for alg in SigningAlg::ALL {
        group.bench_function(format!("sign/{}", alg.name()), |b| {
            b.iter(|| {
                let claims = id_token::claims(BROKER, black_box(&grant), NOW);
                keys.sign(alg, claims).unwrap()
            });
        });
    }
    group.finish();
}

/// `/callback`: the provider's ID token, verified exactly as the broker does.
fn upstream_verification(c: &mut Criterion) {
    let registry = registry();
    let provider = registry.provider(PROVIDER).unwrap();
    let expected = Expected {
        issuer: &provider.issuer,
        client_id: &provider.client_id,
        nonce: UPSTREAM_NONCE,
        now: NOW,
    };
    // The provider's keys: an RSA and an EC key in its JWKS, as a provider publishes them,
    // read as discovery reads them (once per fetch, not per login).
    let provider_keys = KeySet::generate().unwrap();
    let mut jwks = provider_keys.jwks_at(NOW.unix_timestamp());
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .retain(|k| k["alg"] == "RS256" || k["alg"] == "ES256");
    let jwks =
        broker::upstream::signature::ProviderKeys::from_json(&serde_json::to_vec(&jwks).unwrap())
            .unwrap();

    let mut group = c.benchmark_group("upstream_verify");
    for alg in [SigningAlg::RS256, SigningAlg::ES256] {
        let token = provider_keys.sign(alg, upstream_claims()).unwrap();
        let verified = broker::upstream::validation::verify(&token, &jwks, &expected).unwrap();
        assert_eq!(verified.subject, "ab-person-0001");
        group.bench_function(alg.name(), |b| {
            b.iter(|| {
                broker::upstream::validation::verify(black_box(&token), &jwks, &expected).unwrap()
            });
        });
    }
    group.finish();
}

/// `/authorize` and `/callback`: the trust framework's decision and claim release.
fn policy(c: &mut Criterion) {
    let registry = registry();
    let request = request();
    let decision = decide(&registry, &request, NOW).unwrap();
    let candidate = decision.candidate(PROVIDER).unwrap();
    let assertion = UpstreamAssertion {
        provider_id: PROVIDER.to_owned(),
        subject: "ab-person-0001".to_owned(),
        acr: Some("urn:ab:aca:verified".to_owned()),
        claims: upstream_claims(),
    };
    let mut group = c.benchmark_group("policy");
    group.bench_function("decide", |b| {
        b.iter(|| decide(black_box(&registry), black_box(&request), NOW).unwrap());
    });
    group.bench_function("release", |b| {
        b.iter(|| release(black_box(&registry), candidate, black_box(&assertion), NOW).unwrap());
    });
    group.finish();
}

/// The login kept while the person is at the provider, taken back at `/callback`: the
/// decision with its four candidates, the chosen one, and the upstream leg.
fn at_provider(decision: Decision) -> AtProvider {
    let candidate = decision.candidate(PROVIDER).unwrap().clone();
    AtProvider {
        login: Pending {
            txn: TXN.to_owned(),
            request: ServiceRequest {
                client_id: RP.to_owned(),
                return_to: ReturnTo {
                    redirect_uri: "http://127.0.0.1:8490/callback/esdc-employment-insurance"
                        .to_owned(),
                    state: Some("cmVseWluZy1wYXJ0eS1zdGF0ZQ".to_owned()),
                    lang: Lang::En,
                    service_langs: vec![Lang::En],
                },
                nonce: "bi1yZWx5aW5nLXBhcnR5LW5vbmNl".to_owned(),
                code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
                attributes: request().attributes,
                level: None,
                max_age: None,
                login_hint: None,
                ui_locales: vec!["fr-CA".to_owned(), "en-CA".to_owned()],
                prompt: Default::default(),
            },
            lang: Lang::Fr,
            decision,
            browser: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_owned(),
        },
        candidate,
        leg: UpstreamLeg {
            nonce: UPSTREAM_NONCE.to_owned(),
            pkce_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned(),
            sent_at: NOW.unix_timestamp(),
        },
    }
}

/// A login's step as it is stored: written watched (`broker::login::abandoned`), then taken; and,
/// for the cost of the watch, the same value under a kind that is not watched.
fn put_take(c: &mut Criterion, store_name: &str, rt: &tokio::runtime::Runtime, store: &TypedStore) {
    let pending = at_provider(decide(&registry(), &request(), NOW).unwrap());
    let watch = Watch::new(
        TXN,
        Stage::AtProvider,
        "esdc-employment-insurance",
        Some(PROVIDER),
    );
    let ttl = Kind::AtProvider.ttl();
    c.bench_function(&format!("store/{store_name}/pending_put_take"), |b| {
        b.to_async(rt).iter(|| async {
            store
                .put_watched(Kind::AtProvider, TXN, &pending, ttl, &watch)
                .await
                .unwrap();
            let back: AtProvider = store.take(Kind::AtProvider, TXN).await.unwrap().unwrap();
            back
        });
    });
    c.bench_function(&format!("store/{store_name}/unwatched_put_take"), |b| {
        b.to_async(rt).iter(|| async {
            store.put(Kind::AccessToken, TXN, &pending).await.unwrap();
            let back: AtProvider = store.take(Kind::AccessToken, TXN).await.unwrap().unwrap();
            back
        });
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A pending login put then taken (JSON encoding included), in memory and on Redis.
fn store_round_trip(c: &mut Criterion) {
    let rt = runtime();
    let memory = TypedStore(Arc::new(MemoryStore::new()));
    put_take(c, "memory", &rt, &memory);

    let Some(server) = BenchRedis::start() else {
        eprintln!("store/redis skipped: no redis-server could be started");
        return;
    };
    // The connection manager belongs to the runtime.
    let _in_runtime = rt.enter();
    let redis = RedisStore::new(
        &RedisTarget::Single(format!("redis://127.0.0.1:{}/0", server.port)),
        Duration::from_millis(500),
    )
    .unwrap();
    let ready = (0..100).any(|_| {
        rt.block_on(redis.ping()).is_ok() || {
            std::thread::sleep(Duration::from_millis(50));
            false
        }
    });
    if !ready {
        eprintln!("store/redis skipped: redis-server did not answer");
        return;
    }
    let redis = TypedStore(Arc::new(redis));
    put_take(c, "redis", &rt, &redis);
}

/// A `redis-server` of the benchmark's own on a free loopback port, without persistence,
/// stopped when dropped.
struct BenchRedis {
    port: u16,
    child: std::process::Child,
}

impl BenchRedis {
    fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        Some(Self { port, child })
    }
}

impl Drop for BenchRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `/callback`: the relying party's pairwise `sub`.
fn pairwise(c: &mut Criterion) {
    let subjects = PairwiseSubjects::new(b"benchmark pairwise secret, 32 by");
    c.bench_function("pairwise/subject", |b| {
        b.iter(|| {
            subjects.subject(
                black_box("esdc-edsc.gc.ca"),
                black_box(PROVIDER),
                black_box("ab-person-0001"),
            )
        });
    });
}

criterion_group!(
    benches,
    id_token_signing,
    upstream_verification,
    policy,
    store_round_trip,
    pairwise
);
criterion_main!(benches);
