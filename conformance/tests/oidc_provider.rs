//! The provider profile against panva's oidc-provider (v9), an independent implementation:
//! configured correctly it passes; each misconfiguration fails exactly the check naming it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use conformance::provider::{Asking, ProviderTarget, check_provider};
use conformance::{CaBundle, Outcome, Report, TestClient};
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

/// The test client, the person and the registry entry of `provider`.
fn target(provider: &UpstreamProvider, attributes: &str) -> ProviderTarget {
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
    target
}

async fn run(provider: &UpstreamProvider, attributes: &str) -> Report {
    check_provider(&target(provider, attributes), OffsetDateTime::now_utc())
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
    // Only http on loopback is a warning, for the issuer and its endpoints; every check ran.
    assert_eq!((s.warning, s.skipped), (2, 0), "\n{}", describe(&report));
    for id in ["OP-DISC-ISSUER-HTTPS", "OP-DISC-ENDPOINTS-HTTPS"] {
        assert!(
            matches!(report.get(id).unwrap().outcome, Outcome::Warning(_)),
            "{id}\n{}",
            describe(&report)
        );
    }
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

/// As a careful provider is configured: the code flow only, PKCE required, acr values
/// published, and acr (like auth_time) in the ID token only when the request asks for it,
/// which is oidc-provider's own behaviour.
fn careful() -> Value {
    config(json!({ "acr_when_requested": true }))
}

/// What the live checks sent upstream first: the authorization request's parameters.
fn first_request(report: &Report) -> Vec<(String, String)> {
    let flow = report.get("OP-FLOW-CODE-PKCE").unwrap();
    let url = url::Url::parse(&flow.evidence[0].url).unwrap();
    url.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn a_careful_oidc_provider_passes_when_asked_as_the_broker_asks() {
    let provider = UpstreamProvider::start(careful()).await.unwrap();
    let report = run(&provider, ATTRS).await;
    assert_fails_exactly(&report, &[]);
    let s = report.summary();
    // http on loopback: the issuer's and the endpoints' warnings.
    assert_eq!((s.warning, s.skipped), (2, 0), "\n{}", describe(&report));
    // Asked as the broker asks it: level 3's acr value (the highest the registry maps), the
    // attested attributes by claims request (the entry registers no scope but openid), the
    // person, the languages.
    let sent = first_request(&report);
    let param = |name: &str| {
        sent.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(param("acr_values"), Some("urn:test:loa3"));
    assert_eq!(param("login_hint"), Some("alice"));
    assert_eq!(param("ui_locales"), Some("fr-CA en-CA"));
    assert_eq!(param("scope"), Some("openid"));
    let claims: Value = serde_json::from_str(param("claims").unwrap()).unwrap();
    for claim in ["given_name", "family_name", "birthdate", "address"] {
        assert!(claims["id_token"].get(claim).is_some(), "{claims}");
    }
}

#[tokio::test]
async fn a_careful_oidc_provider_asked_for_no_acr_gives_none() {
    // What the suite did before it asked as the broker asks: the provider is right not to
    // volunteer an acr nobody asked for, and the broker, which needs one, always asks.
    let provider = UpstreamProvider::start(careful()).await.unwrap();
    let mut target = target(&provider, ATTRS);
    target.asking = Asking::AsAService;
    let report = check_provider(&target, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_fails_exactly(&report, &["OP-IDT-ACR"]);
}

#[tokio::test]
async fn a_careful_oidc_provider_passes_over_https_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "staging CA");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &rcgen::Issuer::new(ca, &ca_key))
        .unwrap();
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(path("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(path("key.pem"), leaf_key.serialize_pem()).unwrap();

    let mut config = careful();
    config["tls"] = json!({ "cert": path("cert.pem"), "key": path("key.pem") });
    let provider = UpstreamProvider::start(config).await.unwrap();
    assert!(
        provider.issuer.starts_with("https://"),
        "{}",
        provider.issuer
    );
    let mut target = target(&provider, ATTRS);
    target.allow_loopback_http = false;

    // Without the bundle the provider cannot be reached, and the report says what to do.
    let report = check_provider(&target, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_fails_exactly(&report, &["OP-DISC-FETCH"]);
    let reason = report
        .get("OP-DISC-FETCH")
        .unwrap()
        .outcome
        .reason()
        .unwrap();
    assert!(reason.en.contains("--ca-bundle FILE"), "{}", reason.en);

    target.ca_bundle = Some(CaBundle::from_pem_file(&path("ca.pem")).unwrap());
    let report = check_provider(&target, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_fails_exactly(&report, &[]);
    let s = report.summary();
    assert_eq!((s.warning, s.skipped), (0, 0), "\n{}", describe(&report));
}
