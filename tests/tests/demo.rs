//! The README's main job: `broker demo` as a process, used the way a person would, through the
//! demo relying service's pages (here with a plain HTTP client that keeps cookies).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::broker::{broker_binary, free_port};

const EXAMPLE: &str = include_str!("../../examples/registry/pan-canada.toml");

struct Demo {
    child: tokio::process::Child,
    rp: String,
    broker: String,
    _dir: tempfile::TempDir,
}

/// The example registry with every loopback port moved to a free one.
async fn start_demo() -> Demo {
    let mut registry = EXAMPLE.to_owned();
    let mut ports = std::collections::HashMap::new();
    for port in [8411u16, 8412, 8413, 8419, 8490] {
        let free = free_port().unwrap();
        ports.insert(port, free);
        registry = registry.replace(&format!("127.0.0.1:{port}"), &format!("127.0.0.1:{free}"));
    }
    let broker_port = free_port().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.toml");
    std::fs::write(&path, registry).unwrap();
    let mut child = tokio::process::Command::new(broker_binary().unwrap())
        .args(["demo", "--port", &broker_port.to_string(), "--registry"])
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The demo prints its addresses once everything listens.
    let mut stdout = child.stdout.take().unwrap();
    let mut printed = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !printed.contains("Press Ctrl-C") {
        assert!(Instant::now() < deadline, "demo did not start: {printed}");
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(
            Duration::from_secs(20),
            tokio::io::AsyncReadExt::read(&mut stdout, &mut buf),
        )
        .await
        .unwrap()
        .unwrap();
        assert!(n > 0, "demo exited: {printed}");
        printed.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let rp = format!("http://127.0.0.1:{}", ports[&8490]);
    assert!(printed.contains(&format!("Open {rp}/")), "{printed}");
    assert!(
        printed.contains("client_id esdc-employment-insurance"),
        "{printed}"
    );
    Demo {
        child,
        rp,
        broker: format!("http://127.0.0.1:{broker_port}"),
        _dir: dir,
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_person_signs_in_to_employment_insurance_through_the_demo() {
    let mut demo = start_demo().await;
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

    // Without hints the broker shows the jurisdiction picker, in French when asked.
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
