//! The admin API over real HTTP: authentication and roles, registration with a conformance
//! report, separation of duties, approval, suspension and revocation taking effect at once.

use crate::common::audit::AuditLog;
use crate::common::*;
use broker::admin::auth::{Principal, Role};
use serde_json::{Value, json};

const ALICE: &str = "alice-registrar-token";
const BOB: &str = "bob-approver-token";
const CAROL: &str = "carol-auditor-token";
const DANA: &str = "dana-registrar-and-approver-token";
const NEW_SECRET: &str = "new-provider-secret";

struct Admin {
    bed: TestBed,
    http: reqwest::Client,
    provider_issuer: String,
    _dir: tempfile::TempDir,
}

async fn setup() -> Admin {
    let dir = tempfile::tempdir().unwrap();
    let admins = vec![
        Principal::new("alice", ALICE, [Role::Registrar]),
        Principal::new("bob", BOB, [Role::Approver]),
        Principal::new("carol", CAROL, [Role::Auditor]),
        Principal::new("dana", DANA, [Role::Registrar, Role::Approver]),
    ];
    let bed = start(Options {
        admins,
        secrets: vec![("BROKER_IDP_AB_SECOND_SECRET".into(), NEW_SECRET.into())],
        sessions: without_reuse(),
        ..Options::default()
    })
    .await;
    // The new provider: a real OpenID provider the conformance suite can examine.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let provider_issuer = format!("http://{}", listener.local_addr().unwrap());
    let config = second_provider(&provider_issuer, &[&bed]);
    tokio::spawn(demo::provider::serve(
        listener,
        config,
        std::future::pending(),
    ));
    Admin {
        bed,
        http: http(),
        provider_issuer,
        _dir: dir,
    }
}

/// The demo provider that [`new_provider`] registers, at `issuer`, answering the brokers of
/// `beds` at their callbacks.
fn second_provider(issuer: &str, beds: &[&TestBed]) -> demo::provider::ProviderConfig {
    demo::provider::ProviderConfig {
        issuer: issuer.to_owned(),
        name_en: "Alberta second provider (test)".into(),
        name_fr: "Deuxième fournisseur albertain (essai)".into(),
        clients: vec![demo::provider::ClientConfig {
            client_id: "pan-canadian-broker".into(),
            client_secret: NEW_SECRET.into(),
            redirect_uris: beds
                .iter()
                .map(|bed| format!("{}/callback", bed.broker_url))
                .collect(),
        }],
        acr_values: vec!["urn:ab2:loa2".into(), "urn:ab2:loa3".into()],
        claim_names: Default::default(),
        persons: demo::provider::test_persons("CA-AB"),
        fault: None,
        clock: demo::provider::system_clock(),
    }
}

fn new_provider(issuer: &str) -> Value {
    json!({
        "id": "ab-second",
        "jurisdiction": "CA-AB",
        "name": { "en": "Alberta second provider (test)", "fr": "Deuxième fournisseur albertain (essai)" },
        "issuer": issuer,
        "client_id": "pan-canadian-broker",
        "client_secret": { "env": "BROKER_IDP_AB_SECOND_SECRET" },
        "scopes": ["openid", "profile", "address"],
        "acr_map": { "urn:ab2:loa2": 2, "urn:ab2:loa3": 3 },
        "attributes": ["given_name", "family_name", "birthdate", "address"],
        "certifications": [
            { "component": "verified-person", "level": 3, "not_before": "2025-01-01T00:00:00Z", "not_after": "2029-01-01T00:00:00Z" },
            { "component": "authentication", "level": 3, "not_before": "2025-01-01T00:00:00Z", "not_after": "2029-01-01T00:00:00Z" },
            { "component": "privacy", "level": 3, "not_before": "2025-01-01T00:00:00Z", "not_after": "2029-01-01T00:00:00Z" }
        ]
    })
}

impl Admin {
    async fn call(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.bed.broker_url);
        let mut req = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn login_outcome(&self, provider: &str) -> std::collections::HashMap<String, String> {
        let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", provider);
        let r = self
            .bed
            .http
            .get(req.url(&self.bed.broker_url))
            .send()
            .await
            .unwrap();
        query(&location(&r))
    }
}

#[tokio::test]
async fn admin_calls_need_a_credential_and_the_right_role() {
    let audit = AuditLog::capture();
    let a = setup().await;
    let (status, _) = a.call(None, "GET", "/admin/providers", None).await;
    assert_eq!(status, 401);
    let (status, _) = a
        .call(Some("forged"), "GET", "/admin/providers", None)
        .await;
    assert_eq!(status, 401);
    let (status, body) = a.call(Some(CAROL), "GET", "/admin/providers", None).await;
    assert_eq!(status, 200);
    assert!(body["providers"].as_array().unwrap().len() >= 5);
    let (status, _) = a
        .call(
            Some(CAROL),
            "POST",
            "/admin/providers",
            Some(new_provider(&a.provider_issuer)),
        )
        .await;
    assert_eq!(status, 403, "an auditor changes nothing");
    let (status, _) = a
        .call(
            Some(ALICE),
            "POST",
            "/admin/providers/ab-account/suspend",
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!(status, 403, "a registrar does not suspend");

    // Every call is in the audit trail, refused or not, and no credential is.
    let events = audit.events();
    let calls: Vec<(&str, &str, &str, &str)> = events
        .iter()
        .filter(|e| e["event"].as_str().unwrap().starts_with("admin."))
        .map(|e| {
            (
                e["event"].as_str().unwrap(),
                e["admin"].as_str().unwrap_or("-"),
                e["method"].as_str().unwrap(),
                e["path"].as_str().unwrap(),
            )
        })
        .collect();
    let suspend = "/admin/providers/ab-account/suspend";
    assert_eq!(
        calls,
        [
            ("admin.refused", "-", "GET", "/admin/providers"),
            ("admin.refused", "-", "GET", "/admin/providers"),
            ("admin.call", "carol", "GET", "/admin/providers"),
            ("admin.refused", "carol", "POST", "/admin/providers"),
            ("admin.call", "carol", "POST", "/admin/providers"),
            ("admin.refused", "alice", "POST", suspend),
            ("admin.call", "alice", "POST", suspend),
        ]
    );
    assert!(
        events[3]["reason"].as_str().unwrap().contains("Registrar"),
        "{}",
        events[3]
    );
    // Each call is written once answered, with the answer's status.
    let statuses: Vec<u64> = audit
        .all("admin.call")
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 403, 403]);
    let log = events.iter().map(Value::to_string).collect::<String>();
    for token in ["forged", ALICE, CAROL] {
        assert!(!log.contains(token), "{token} is in the audit trail");
    }
}

#[tokio::test]
async fn invalid_registrations_are_refused_and_change_nothing() {
    let audit = AuditLog::capture();
    let a = setup().await;
    let before = a.bed.broker.registry().providers().len();
    let mut bad = new_provider("http://idp.example.ca");
    bad["attributes"] = json!(["given_name", "sin"]);
    let (status, body) = a
        .call(Some(ALICE), "POST", "/admin/providers", Some(bad))
        .await;
    assert_eq!(status, 400, "{body}");
    let problems: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        problems.iter().any(|p| p.contains("must use https")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("\"sin\" is not a known attribute")),
        "{problems:?}"
    );
    let mut dup = new_provider(&a.provider_issuer);
    dup["id"] = json!("ab-account");
    let (status, _) = a
        .call(Some(ALICE), "POST", "/admin/providers", Some(dup))
        .await;
    assert_eq!(status, 409);
    assert_eq!(a.bed.broker.registry().providers().len(), before);
    // The trail holds both attempts with their answers, and no change.
    assert_eq!(audit.names(), ["admin.call", "admin.call"]);
    let calls = audit.all("admin.call");
    assert_eq!(calls[0]["status"], 400);
    assert_eq!(calls[1]["status"], 409);
    assert_eq!(calls[1]["admin"], "alice");
    assert_eq!(calls[1]["path"], "/admin/providers");
}

#[tokio::test]
async fn the_provider_lifecycle_register_approve_login_suspend_revoke() {
    let audit = AuditLog::capture();
    let a = setup().await;
    let (status, body) = a
        .call(
            Some(ALICE),
            "POST",
            "/admin/providers",
            Some(new_provider(&a.provider_issuer)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["conformance"]["passed"], true, "{body}");
    // The change and its conformance run, then the call that made them, answered 201.
    assert_eq!(
        audit.names(),
        ["provider.registered", "provider.conformance", "admin.call"]
    );
    assert_eq!(audit.one("admin.call")["status"], 201);
    let (status, report) = a
        .call(
            Some(CAROL),
            "GET",
            "/admin/providers/ab-second/conformance",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(report["report"].is_object(), "{report}");

    // Pending: not routable.
    assert_eq!(a.login_outcome("ab-second").await["error"], "access_denied");

    // Separation of duties: whoever registered may not approve, even with the role.
    let mut other = new_provider(&a.provider_issuer);
    other["id"] = json!("ab-third");
    other["issuer"] = json!(format!("{}/", a.provider_issuer));
    let (status, _) = a
        .call(Some(DANA), "POST", "/admin/providers", Some(other))
        .await;
    assert_eq!(status, 201);
    let (status, body) = a
        .call(
            Some(DANA),
            "POST",
            "/admin/providers/ab-third/approve",
            None,
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("separation of duties")
    );
    let refused = audit.one("admin.refused");
    assert_eq!(refused["admin"], "dana");
    assert_eq!(refused["method"], "POST");
    assert_eq!(refused["path"], "/admin/providers/ab-third/approve");
    assert_eq!(refused["reason"], body["message"]);

    // Approved by someone else: routable at once.
    let (status, body) = a
        .call(
            Some(BOB),
            "POST",
            "/admin/providers/ab-second/approve",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let outcome = a.login_outcome("ab-second").await;
    assert!(
        !outcome.contains_key("error"),
        "the approved provider is not routable: {outcome:?}"
    );

    // Suspended: the next request is refused.
    let (status, _) = a
        .call(
            Some(BOB),
            "POST",
            "/admin/providers/ab-second/suspend",
            Some(json!({"reason": ""})),
        )
        .await;
    assert_eq!(status, 400, "a suspension needs a reason");
    let (status, _) = a
        .call(
            Some(BOB),
            "POST",
            "/admin/providers/ab-second/suspend",
            Some(json!({"reason": "incident 42"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(a.login_outcome("ab-second").await["error"], "access_denied");

    // Revoked: cannot simply be approved again.
    let (status, _) = a
        .call(
            Some(BOB),
            "POST",
            "/admin/providers/ab-second/revoke",
            Some(json!({"reason": "certification withdrawn"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = a
        .call(
            Some(BOB),
            "POST",
            "/admin/providers/ab-second/approve",
            None,
        )
        .await;
    assert_eq!(status, 409);
    let (_, shown) = a
        .call(Some(CAROL), "GET", "/admin/providers/ab-second", None)
        .await;
    assert_eq!(shown["summary"]["status"], "revoked");
    assert_eq!(shown["summary"]["status_reason"], "certification withdrawn");
    assert_eq!(shown["summary"]["registered_by"], "alice");
}

#[tokio::test]
async fn services_register_and_are_approved_by_someone_else() {
    let a = setup().await;
    let service = json!({
        "client_id": "ns-health-card",
        "name": { "en": "Nova Scotia health card renewal (test)", "fr": "Renouvellement de la carte santé de la N.-É. (essai)" },
        "jurisdiction": "CA-NS",
        "redirect_uris": ["https://health.novascotia.example/callback"],
        "token_endpoint_auth_method": "client_secret_basic",
        "client_secret": { "env": "NS_HEALTH_SECRET" },
        "sector_identifier": "novascotia.ca"
    });
    let (status, body) = a
        .call(
            Some(ALICE),
            "POST",
            "/admin/services",
            Some(service.clone()),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = a
        .call(Some(ALICE), "POST", "/admin/services", Some(service))
        .await;
    assert_eq!(status, 409, "a replayed registration changes nothing");
    // Pending: the broker refuses the client.
    let req = AuthRequest::new(
        "ns-health-card",
        "https://health.novascotia.example/callback",
    );
    let r = a
        .bed
        .http
        .get(req.url(&a.bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(query(&location(&r))["error"], "unauthorized_client");
    let (status, _) = a
        .call(
            Some(BOB),
            "POST",
            "/admin/services/ns-health-card/approve",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (_, list) = a.call(Some(CAROL), "GET", "/admin/services", None).await;
    let entry = list["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["client_id"] == "ns-health-card")
        .unwrap()
        .clone();
    assert_eq!(entry["status"], "active");
    assert_eq!(entry["registered_by"], "alice");
    // An http redirect URI is refused with its place.
    let mut bad = json!({"client_id": "x", "name": {"en": "X", "fr": "X"}, "jurisdiction": "CA", "redirect_uris": ["http://evil.example/cb"], "token_endpoint_auth_method": "client_secret_basic", "client_secret": {"env": "X"}, "sector_identifier": "x"});
    let (status, body) = a
        .call(Some(ALICE), "POST", "/admin/services", Some(bad.clone()))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["problems"][0]
            .as_str()
            .unwrap()
            .contains("redirect_uris[0]"),
        "{body}"
    );
    bad["jurisdiction"] = json!("CA-XX");
    let (status, _) = a
        .call(Some(ALICE), "POST", "/admin/services", Some(bad))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn agreements_are_amended_by_version_and_terminated_at_once() {
    let audit = AuditLog::capture();
    let a = setup().await;
    let (_, list) = a.call(Some(CAROL), "GET", "/admin/agreements", None).await;
    let mut ei = list["agreements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "isa-esdc-ei-2025")
        .unwrap()
        .clone();
    // A remembered consent under version 1 ...
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let walk = e2e::rp::Walk {
        provider: "ab-account".into(),
        login_hint: Some(a.bed.persons["ab-account"].clone()),
        remember: true,
        ..Default::default()
    };
    let outcome = e2e::rp::browse(&a.bed.http, &a.bed.broker_url, &req, &walk)
        .await
        .unwrap();
    assert!(outcome.params.contains_key("code"));
    // ... is not reused after an amendment (version 2).
    ei["purpose"]["en"] =
        json!("To confirm your identity for Employment Insurance and its appeals.");
    let (status, body) = a
        .call(
            Some(ALICE),
            "POST",
            "/admin/agreements/isa-esdc-ei-2025/amend",
            Some(ei.clone()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 2);
    let r = a
        .bed
        .http
        .get(
            AuthRequest::new(RP, RP_REDIRECT)
                .with("idp_hint", "ab-account")
                .url(&a.bed.broker_url),
        )
        .send()
        .await
        .unwrap();
    let mut upstream = url::Url::parse(&location(&r)).unwrap();
    upstream
        .query_pairs_mut()
        .append_pair("login_hint", &a.bed.persons["ab-account"]);
    let r = a.bed.http.get(upstream).send().await.unwrap();
    let r = a.bed.http.get(location(&r)).send().await.unwrap();
    assert_eq!(
        r.status(),
        200,
        "the consent must be asked again under version 2"
    );
    assert!(r.text().await.unwrap().contains("and its appeals"));
    // An amendment cannot move the agreement to another service.
    ei["relying_party"] = json!("vpl-library-card");
    let (status, _) = a
        .call(
            Some(ALICE),
            "POST",
            "/admin/agreements/isa-esdc-ei-2025/amend",
            Some(ei),
        )
        .await;
    assert_eq!(status, 400);
    // Terminated: release stops at once.
    let (status, _) = a
        .call(
            Some(BOB),
            "POST",
            "/admin/agreements/isa-esdc-ei-2025/terminate",
            Some(json!({"reason": "program ended"})),
        )
        .await;
    assert_eq!(status, 200);
    let r = a
        .bed
        .http
        .get(
            AuthRequest::new(RP, RP_REDIRECT)
                .with("idp_hint", "ab-account")
                .url(&a.bed.broker_url),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(query(&location(&r))["error"], "access_denied");
    // Who amended to which version and who terminated why; the refused amendment left nothing.
    let amended = audit.one("agreement.amended");
    assert_eq!(amended["admin"], "alice");
    assert_eq!(amended["agreement"], "isa-esdc-ei-2025");
    assert_eq!(amended["version"], 2);
    let terminated = audit.one("agreement.terminated");
    assert_eq!(terminated["admin"], "bob");
    assert_eq!(terminated["reason"], "program ended");
}

mod ca_bundle;
mod dynamic;
