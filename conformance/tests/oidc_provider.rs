//! The provider profile against panva's oidc-provider (v9), an independent implementation:
//! configured correctly it passes; each misconfiguration fails exactly the check naming it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use conformance::provider::{ProviderTarget, check_provider};
use conformance::{Outcome, Report, TestClient};
use e2e::interop::UpstreamProvider;
use serde_json::{Value, json};
use time::OffsetDateTime;
use trust_framework::Registry;

const SECRET: &str = "conformance-secret-0123456789abcdef0123456789";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const ACRS: [&str; 2] = ["urn:test:loa2", "urn:test:loa3"];

fn config(extra: Value) -> Value {
    let mut config = json!({
        "clients": [{
            "client_id": "conformance-client",
            "client_secret": SECRET,
            "redirect_uris": [REDIRECT],
        }],
        "acr_values": ACRS,
        "accounts": {
            "alice": {
                "given_name": "Alice", "family_name": "Tremblay", "birthdate": "1980-04-01",
                "address": { "locality": "Edmonton", "region": "AB", "country": "CA" },
            },
        },
        "default_account": "alice",
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    config
}

fn registry(issuer: &str, attributes: &str) -> Registry {
    let text = format!(
        r#"
[registry]
version = 1
development = true
[[providers]]
id = "test-idp"
jurisdiction = "CA-AB"
name = {{ en = "Test", fr = "Essai" }}
issuer = "{issuer}"
client_id = "broker"
client_secret = {{ env = "UNUSED" }}
attributes = [{attributes}]
status = "active"
[providers.acr_map]
"urn:test:loa2" = 2
"urn:test:loa3" = 3
[[providers.certifications]]
component = "verified-person"
level = 3
not_before = "2025-01-01T00:00:00Z"
not_after = "2030-01-01T00:00:00Z"
"#
    );
    Registry::from_toml(&text).unwrap()
}

async fn run(provider: &UpstreamProvider, attributes: &str) -> Report {
    let mut target = ProviderTarget::new(provider.issuer.clone());
    target.allow_loopback_http = true;
    target.client = Some(TestClient {
        client_id: "conformance-client".into(),
        client_secret: SECRET.into(),
        redirect_uri: REDIRECT.into(),
    });
    target.login_hint = Some("alice".into());
    target.registry_entry = registry(&provider.issuer, attributes)
        .provider("test-idp")
        .cloned();
    check_provider(&target, OffsetDateTime::now_utc())
        .await
        .unwrap()
}

fn describe(report: &Report) -> String {
    report
        .checks
        .iter()
        .map(|c| {
            format!(
                "{:26} {:8} {:?}",
                c.id,
                c.outcome.name(),
                c.outcome.reason().map(|r| &r.en)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_fails_exactly(report: &Report, expected: &[&str]) {
    let mut failed = report.failed_ids();
    failed.sort_unstable();
    let mut expected = expected.to_vec();
    expected.sort_unstable();
    assert_eq!(failed, expected, "\n{}", describe(report));
}

const ATTRS: &str = r#""given_name", "family_name", "birthdate", "address""#;

#[tokio::test]
async fn correctly_configured_oidc_provider_passes() {
    let provider = UpstreamProvider::start(config(json!({}))).await.unwrap();
    let report = run(&provider, ATTRS).await;
    assert_fails_exactly(&report, &[]);
    assert!(report.passed());
    let s = report.summary();
    // Only http on loopback is a warning; every check ran.
    assert_eq!((s.warning, s.skipped), (1, 0), "\n{}", describe(&report));
    assert!(matches!(
        report.get("OP-DISC-ISSUER-HTTPS").unwrap().outcome,
        Outcome::Warning(_)
    ));
    // Evidence is redacted.
    let json = conformance::report::json(&report).unwrap();
    assert!(!json.contains(SECRET));
    assert!(json.contains("[redacted]"));
}

#[tokio::test]
async fn pkce_not_required_fails_pkce_required() {
    let provider = UpstreamProvider::start(config(json!({ "pkce_required": false })))
        .await
        .unwrap();
    assert_fails_exactly(&run(&provider, ATTRS).await, &["OP-NEG-PKCE-REQUIRED"]);
}

#[tokio::test]
async fn weak_rsa_key_fails_key_strength() {
    // The client takes ES256 tokens: the weak key is published, not what signs its tokens.
    let mut config = config(json!({ "rsa_bits": 1024 }));
    config["clients"][0]["id_token_signed_response_alg"] = json!("ES256");
    let provider = UpstreamProvider::start(config).await.unwrap();
    assert_fails_exactly(&run(&provider, ATTRS).await, &["OP-JWKS-KEY-STRENGTH"]);
}

#[tokio::test]
async fn hmac_only_fails_signing_algorithms_and_the_token_signature() {
    // A provider that can sign only with HS256 necessarily issues HMAC tokens: both the
    // advertised algorithms and the token's signature fail, nothing else.
    let provider = UpstreamProvider::start(config(json!({
        "id_token_signing_alg_values_supported": ["HS256"],
    })))
    .await
    .unwrap();
    assert_fails_exactly(
        &run(&provider, ATTRS).await,
        &["OP-DISC-SIGNING-ALGS", "OP-IDT-SIGNATURE"],
    );
}

#[tokio::test]
async fn issuer_override_fails_issuer_match() {
    let provider = UpstreamProvider::start(config(json!({
        "issuer_override": "http://localhost:{port}",
    })))
    .await
    .unwrap();
    assert_fails_exactly(&run(&provider, ATTRS).await, &["OP-DISC-ISSUER-MATCH"]);
}

#[tokio::test]
async fn implicit_response_type_fails_response_types() {
    let provider = UpstreamProvider::start(config(json!({
        "response_types": ["code", "id_token"],
    })))
    .await
    .unwrap();
    assert_fails_exactly(&run(&provider, ATTRS).await, &["OP-DISC-RESPONSE-TYPES"]);
}

#[tokio::test]
async fn unsupported_attested_claim_fails_claims_cover() {
    let provider = UpstreamProvider::start(config(json!({}))).await.unwrap();
    let attrs = r#""given_name", "family_name", "place_of_birth""#;
    assert_fails_exactly(&run(&provider, attrs).await, &["OP-DISC-CLAIMS-COVER"]);
}

#[tokio::test]
async fn without_client_or_registry_the_live_and_mapping_checks_are_skipped() {
    let provider = UpstreamProvider::start(config(json!({}))).await.unwrap();
    let mut target = ProviderTarget::new(provider.issuer.clone());
    target.allow_loopback_http = true;
    let report = check_provider(&target, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_fails_exactly(&report, &[]);
    for id in [
        "OP-DISC-ACR-MAPPED",
        "OP-DISC-CLAIMS-COVER",
        "OP-FLOW-CODE-PKCE",
        "OP-NEG-CODE-REPLAY",
    ] {
        assert!(
            matches!(report.get(id).unwrap().outcome, Outcome::Skipped(_)),
            "{id}"
        );
    }
    // Without --allow-loopback-http, http is a failure.
    target.allow_loopback_http = false;
    let report = check_provider(&target, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_fails_exactly(&report, &["OP-DISC-ISSUER-HTTPS"]);
}
