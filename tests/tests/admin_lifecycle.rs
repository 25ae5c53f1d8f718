//! The provider lifecycle over HTTP against two broker replicas (processes on one Redis) and
//! a real, independent provider (panva's oidc-provider): register, conformance report stored,
//! approve, log in through it, suspend (refused on both replicas), revoke, re-register.

#![allow(clippy::unwrap_used, clippy::panic)]

use e2e::broker::{BrokerProcess, BrokerSpec, free_port, generate_keys};
use e2e::interop::UpstreamProvider;
use e2e::postgres::PgServer;
use e2e::redis::RedisServer;
use e2e::rp::{AuthRequest, Walk, browse, browser, redeem};
use serde_json::{Value, json};

const EXAMPLE: &str = include_str!("../../examples/registry/pan-canada.toml");
const RP: &str = "esdc-employment-insurance";
const RP_SECRET: &str = "rp-secret-for-lifecycle";
const RP_REDIRECT: &str = "http://127.0.0.1:8490/callback/esdc-employment-insurance";
const UPSTREAM_SECRET: &str = "secret-of-the-new-provider-0123456789";

const ADMINS: &str = "[[admin.principals]]\nname = \"alice\"\ntoken = { env = \"E2E_ALICE\" }\nroles = [\"registrar\"]\n\
[[admin.principals]]\nname = \"bob\"\ntoken = { env = \"E2E_BOB\" }\nroles = [\"approver\", \"auditor\"]\n";

async fn admin(url: &str, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = e2e::rp::http()
        .post(format!("{url}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn registration(issuer: &str) -> Value {
    json!({
        "id": "nb-mynb",
        "jurisdiction": "CA-NB",
        "name": { "en": "MyNB (oidc-provider)", "fr": "MonNB (oidc-provider)" },
        "issuer": issuer,
        "client_id": "pan-canadian-broker",
        "client_secret": { "env": "BROKER_IDP_NB_MYNB_SECRET" },
        "scopes": ["openid", "profile", "address"],
        "acr_map": { "urn:nb:loa2": 2, "urn:nb:loa3": 3 },
        "attributes": ["given_name", "family_name", "birthdate", "address"],
        "certifications": [
            { "component": "verified-person", "level": 3, "not_before": "2025-01-01T00:00:00Z", "not_after": "2099-12-31T00:00:00Z" },
            { "component": "authentication", "level": 3, "not_before": "2025-01-01T00:00:00Z", "not_after": "2099-12-31T00:00:00Z" },
            { "component": "privacy", "level": 3, "not_before": "2025-01-01T00:00:00Z", "not_after": "2099-12-31T00:00:00Z" }
        ]
    })
}

#[tokio::test]
async fn register_approve_login_suspend_revoke_reregister() {
    let redis = RedisServer::start().await.unwrap();
    let (port_a, port_b) = (free_port().unwrap(), free_port().unwrap());
    let issuer = format!("http://127.0.0.1:{port_a}");
    let upstream = UpstreamProvider::start(json!({
        "clients": [{ "client_id": "pan-canadian-broker", "client_secret": UPSTREAM_SECRET, "redirect_uris": [format!("{issuer}/callback")] }],
        "acr_values": ["urn:nb:loa2", "urn:nb:loa3"],
        "accounts": { "luc": { "given_name": "Luc", "family_name": "Cormier", "birthdate": "1979-11-02",
            "address": { "locality": "Moncton", "region": "NB", "country": "CA" } } },
        "default_account": "luc",
    }))
    .await
    .unwrap();
    let keys = tempfile::tempdir().unwrap();
    generate_keys(&keys.path().join("k")).unwrap();
    let env = [
        ("DEMO_RP_ESDC_EMPLOYMENT_INSURANCE_SECRET", RP_SECRET),
        ("BROKER_IDP_NB_MYNB_SECRET", UPSTREAM_SECRET),
        ("E2E_ALICE", "alice-token"),
        ("E2E_BOB", "bob-token"),
    ];
    let store = format!("[store]\nbackend = \"redis\"\nurl = \"{}\"\n", redis.url());
    // The replicas share their records (the registry among them) in one PostgreSQL.
    let records = PgServer::start().await.unwrap();
    let spec = |port| BrokerSpec {
        port,
        issuer: Some(issuer.clone()),
        registry: EXAMPLE,
        env: &env,
        store: Some(store.clone()),
        keys: Some(keys.path().join("k")),
        extra_config: Some(ADMINS.to_owned()),
        records: Some(records.url()),
    };
    let a = BrokerProcess::spawn(spec(port_a)).await.unwrap();
    let b = BrokerProcess::spawn(spec(port_b)).await.unwrap();

    // Register at A: pending, with a conformance report run against oidc-provider.
    let (status, body) = admin(
        &a.url,
        "alice-token",
        "/admin/providers",
        Some(registration(&upstream.issuer)),
    )
    .await;
    assert_eq!(status, 201, "{body}\n{}", a.log());
    assert_eq!(body["conformance"]["passed"], true, "{body}");
    let report = e2e::rp::http()
        .get(format!("{}/admin/providers/nb-mynb/conformance", b.url))
        .bearer_auth("bob-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        report.status(),
        200,
        "the report is visible from the other replica"
    );

    // The registrar cannot approve (no role); the approver does, at B.
    assert_eq!(
        admin(
            &a.url,
            "alice-token",
            "/admin/providers/nb-mynb/approve",
            None
        )
        .await
        .0,
        403
    );
    let (status, body) = admin(
        &b.url,
        "bob-token",
        "/admin/providers/nb-mynb/approve",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The Employment Insurance agreement is amended to cover New Brunswick.
    let agreements: Value = e2e::rp::http()
        .get(format!("{}/admin/agreements", b.url))
        .bearer_auth("bob-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ei = agreements["agreements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "isa-esdc-ei-2025")
        .unwrap()
        .clone();
    ei["providers"].as_array_mut().unwrap().push(json!("CA-NB"));
    let (status, body) = admin(
        &b.url,
        "alice-token",
        "/admin/agreements/isa-esdc-ei-2025/amend",
        Some(ei),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // A login through it, at B where the last change was made.
    let login = |url: String| async move {
        let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "nb-mynb");
        let walk = Walk {
            provider: "nb-mynb".into(),
            ..Walk::default()
        };
        let outcome = browse(&browser().unwrap(), &url, &req, &walk).await;
        (req, outcome)
    };
    let (req, outcome) = login(b.url.clone()).await;
    let outcome = outcome.unwrap();
    let code = outcome
        .params
        .get("code")
        .unwrap_or_else(|| panic!("{:?}\n{}", outcome.params, b.log()))
        .clone();
    let (status, tokens, _) = redeem(&b.url, &req, &code, RP_SECRET).await.unwrap();
    assert_eq!(status, 200);
    let (claims, _) = e2e::rp::verify_id_token(
        &format!("{}/jwks.json", b.url),
        tokens["id_token"].as_str().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(claims["given_name"], "Luc");
    assert_eq!(
        claims["verified_claims"]["verification"]["attesting_jurisdiction"],
        "CA-NB"
    );

    // Suspended at A: the very next login is refused, at A and at B.
    let (status, _) = admin(
        &a.url,
        "bob-token",
        "/admin/providers/nb-mynb/suspend",
        Some(json!({"reason": "key compromise"})),
    )
    .await;
    assert_eq!(status, 200);
    for url in [a.url.clone(), b.url.clone()] {
        let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "nb-mynb");
        let r = browser().unwrap().get(req.url(&url)).send().await.unwrap();
        let q = e2e::rp::query(&e2e::rp::location(&r).unwrap()).unwrap();
        assert_eq!(
            q.get("error").map(String::as_str),
            Some("access_denied"),
            "{url} still routes to the suspended provider"
        );
    }

    // Revoked, then registered again: pending once more, and approvable after review.
    assert_eq!(
        admin(
            &b.url,
            "bob-token",
            "/admin/providers/nb-mynb/revoke",
            Some(json!({"reason": "withdrawn"}))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        admin(
            &b.url,
            "bob-token",
            "/admin/providers/nb-mynb/approve",
            None
        )
        .await
        .0,
        409
    );
    let (status, body) = admin(
        &a.url,
        "alice-token",
        "/admin/providers",
        Some(registration(&upstream.issuer)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(
        admin(
            &b.url,
            "bob-token",
            "/admin/providers/nb-mynb/approve",
            None
        )
        .await
        .0,
        200
    );
}
