//! The README's main job: `demo` as a process, used the way a person would, through the
//! demo relying service's pages (here with a plain HTTP client that keeps cookies).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use e2e::demo::{Demo, start_demo, start_split_demo};

fn browser() -> reqwest::Client {
    demo::jose::http_client_builder()
        .unwrap()
        .cookie_store(true)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_person_signs_in_to_employment_insurance_through_the_demo() {
    let mut demo = start_demo().await.unwrap();
    signs_in_through(&mut demo).await;
}

/// The demo split in two processes (load/run.sh --providers apart measures the broker so):
/// the same person signs in, the broker calling providers served by the other process.
#[tokio::test]
async fn the_demo_split_in_two_processes_signs_a_person_in() {
    let mut demo = start_split_demo().await.unwrap();
    signs_in_through(&mut demo).await;
    let providers = demo.providers.as_mut().unwrap();
    assert!(providers.try_wait().unwrap().is_none(), "providers stopped");
}

/// Without the providers' secrets in its environment, neither side of a split demo starts: it
/// says which variable to set, instead of failing every login later.
#[tokio::test]
async fn a_split_demo_without_the_providers_secrets_refuses_to_start() {
    for side in ["only", "elsewhere"] {
        let output = tokio::process::Command::new(e2e::broker::demo_binary().unwrap())
            .args(["--providers", side, "--port"])
            .arg(e2e::broker::free_port().unwrap().to_string())
            .env_remove("BROKER_IDP_AB_ACCOUNT_SECRET")
            .output()
            .await
            .unwrap();
        assert!(!output.status.success(), "--providers {side} started");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--providers only|elsewhere") && stderr.contains("ab-account"),
            "{side}: {stderr}"
        );
    }
}

async fn signs_in_through(demo: &mut Demo) {
    let http = browser();
    // A person at the service, choosing Alberta and a test person; redirects are followed as a
    // browser would: service -> broker -> Alberta's provider -> broker -> service.
    let page = http
        .get(format!(
            "{}/login/esdc-employment-insurance?idp_hint=ab-account&login_hint=ab-amelie-tremblay",
            demo.rp
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // The broker's notice-and-consent page: what, to whom, why; the person shares.
    let consent = page.text().await.unwrap();
    assert!(
        consent.contains("Employment Insurance") && consent.contains("Amélie"),
        "{consent}"
    );
    let page = http
        .post(format!("{}/consent", demo.broker))
        .form(&[
            ("txn", e2e::rp::hidden(&consent, "txn").unwrap()),
            ("csrf", e2e::rp::hidden(&consent, "csrf").unwrap()),
            ("lang", "en".into()),
            ("decision", "share".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Amélie") && html.contains("Tremblay"),
        "{html}"
    );
    assert!(html.contains("urn:pctf:loa:2"), "{html}");
    assert!(html.contains("ca_pctf"), "{html}");

    // Signed in, the same browser is not asked again where to sign in (the broker's
    // session); another browser, without hints, gets the jurisdiction picker, in French when
    // asked.
    let again = http
        .get(format!("{}/login/esdc-employment-insurance", demo.rp))
        .send()
        .await
        .unwrap();
    let html = again.text().await.unwrap();
    assert!(
        html.contains("action=\"/consent\"") && html.contains("Amélie"),
        "the session is reused: {html}"
    );
    // Signing out at the service signs out at the broker and at the provider, and comes back
    // to the service; the service is told over the back channel (a verified logout token).
    let signed_out = http
        .post(format!("{}/logout/esdc-employment-insurance", demo.rp))
        .form(&[("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 200);
    assert!(
        signed_out.url().path().starts_with("/signed-out/"),
        "{}",
        signed_out.url()
    );
    let html = signed_out.text().await.unwrap();
    assert!(html.contains("signed out"), "{html}");
    let mut told = serde_json::Value::Null;
    for _ in 0..60 {
        told = http
            .get(format!(
                "{}/backchannel-logout/esdc-employment-insurance/received",
                demo.rp
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if told.as_array().is_some_and(|a| !a.is_empty())
            || told["received"].as_array().is_some_and(|a| !a.is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        told.to_string().contains("\"sid\""),
        "no logout token received: {told}"
    );
    // Signed out: the next login in this browser asks again where to sign in.
    let after = http
        .get(format!("{}/login/esdc-employment-insurance", demo.rp))
        .send()
        .await
        .unwrap();
    assert!(picker_url_is_broker(&after.text().await.unwrap()));

    let http = browser();
    let picker = http
        .get(format!(
            "{}/login/esdc-employment-insurance?lang=fr",
            demo.rp
        ))
        .send()
        .await
        .unwrap();
    let html = picker.text().await.unwrap();
    assert!(picker_url_is_broker(&html), "{html}");
    assert!(
        html.contains("Choisissez où vous connecter") && html.contains("Colombie-Britannique"),
        "{html}"
    );
    assert!(demo.child.try_wait().unwrap().is_none(), "demo stopped");
}

fn picker_url_is_broker(html: &str) -> bool {
    html.contains("action=\"/authorize/select\"")
}
