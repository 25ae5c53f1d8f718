//! The conformance run at a provider's registration trusts what the broker trusts: with
//! `[upstream] ca_bundle`, a provider whose certificate comes from that private authority passes
//! discovery; without it, discovery fails, saying in plain words why.

use super::*;

use broker::http::server::Tls;
use e2e::tls::TlsFiles;

/// A broker with the admins of [`setup`] (Alice registers, Carol reads), trusting `ca_bundle`
/// toward providers when given.
async fn admin(ca_bundle: Option<&TlsFiles>) -> Admin {
    let bed = start(Options {
        admins: vec![
            Principal::new("alice", ALICE, [Role::Registrar]),
            Principal::new("carol", CAROL, [Role::Auditor]),
        ],
        secrets: vec![("BROKER_IDP_AB_SECOND_SECRET".into(), NEW_SECRET.into())],
        upstream_ca_bundle: ca_bundle.map(|files| files.ca_bundle.clone()),
        ..Options::default()
    })
    .await;
    Admin {
        bed,
        http: http(),
        provider_issuer: String::new(),
        _dir: tempfile::tempdir().unwrap(),
    }
}

/// Serves the provider [`new_provider`] registers over https with `tls`'s certificate,
/// answering the brokers of `beds`; returns its issuer.
async fn https_provider(tls: &TlsFiles, beds: &[&TestBed]) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("https://{}", listener.local_addr().unwrap());
    let router = demo::provider::router(second_provider(&issuer, beds)).unwrap();
    let tls = Tls::from_pem_files(&tls.cert, &tls.key).unwrap();
    tokio::spawn(broker::http::server::serve(
        listener,
        router,
        Some(tls),
        16,
        std::future::pending(),
    ));
    issuer
}

impl Admin {
    /// Alice registers the provider at `issuer`; the conformance result the registration
    /// answered with, and the report Carol then reads.
    async fn register_and_read_report(&self, issuer: &str) -> (Value, Value) {
        let (status, body) = self
            .call(
                Some(ALICE),
                "POST",
                "/admin/providers",
                Some(new_provider(issuer)),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["status"], "pending");
        let (status, report) = self
            .call(
                Some(CAROL),
                "GET",
                "/admin/providers/ab-second/conformance",
                None,
            )
            .await;
        assert_eq!(status, 200, "{report}");
        (body["conformance"].clone(), report)
    }
}

/// The checks of a stored report by id.
fn checks(report: &Value) -> Vec<&Value> {
    report["report"]["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks in {report}"))
        .iter()
        .collect()
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    checks(report)
        .into_iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report}"))
}

fn describe(report: &Value) -> String {
    checks(report)
        .iter()
        .map(|c| format!("{} {} {}", c["id"], c["result"], c["reason"]["en"]))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn registration_conformance_trusts_the_upstream_ca_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let tls = e2e::tls::private_ca(dir.path()).unwrap();
    let trusting = admin(Some(&tls)).await;
    let plain = admin(None).await;
    let issuer = https_provider(&tls, &[&trusting.bed, &plain.bed]).await;
    assert_eq!(
        trusting.bed.broker.upstream.ca_bundle(),
        Some(tls.ca_bundle.as_path())
    );

    // Trusting the private authority: discovery and keys are fetched and every check passes.
    let (result, report) = trusting.register_and_read_report(&issuer).await;
    assert_eq!(result["passed"], true, "{result}\n{}", describe(&report));
    assert_eq!(report["passed"], true, "{}", describe(&report));
    assert_eq!(check(&report, "OP-DISC-FETCH")["result"], "pass");
    for c in checks(&report)
        .into_iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with("OP-DISC"))
    {
        assert_eq!(c["result"], "pass", "{}", describe(&report));
    }
    for c in checks(&report) {
        let reason = c["reason"]["en"].as_str().unwrap_or_default();
        assert!(!reason.contains("certificate"), "{}", describe(&report));
    }

    // The same registration on a broker without the bundle: the provider's certificate is not
    // trusted, and the report says so in plain words.
    let (result, report) = plain.register_and_read_report(&issuer).await;
    assert_eq!(result["passed"], false, "{result}");
    assert_eq!(report["passed"], false);
    assert!(
        result["failed"]
            .as_array()
            .unwrap()
            .contains(&json!("OP-DISC-FETCH")),
        "{result}"
    );
    let fetch = check(&report, "OP-DISC-FETCH");
    assert_eq!(fetch["result"], "fail", "{}", describe(&report));
    let origin = issuer.trim_start_matches("https://");
    let reason = fetch["reason"]["en"].as_str().unwrap();
    assert!(
        reason.contains(&format!(
            "the TLS certificate that {origin} presented is not trusted: it was issued by no certificate authority this suite trusts (those of the web)"
        )),
        "{reason}"
    );
    assert_eq!(
        check(&report, "OP-DISC-ISSUER-MATCH")["result"],
        "skipped",
        "{}",
        describe(&report)
    );
}
