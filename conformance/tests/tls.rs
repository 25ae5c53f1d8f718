//! A provider over https whose certificate comes from a private certificate authority (a test
//! deployment): trusted with `--ca-bundle`, and every certificate the suite refuses explained
//! in words an operator can act on. The demo provider over TLS, certificates made at test
//! time with rcgen.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use broker::http::server::Tls;
use conformance::provider::{ProviderTarget, check_provider};
use conformance::{CaBundle, Error, Outcome, Report, TestClient};
use demo::provider::{ClientConfig, ProviderConfig, test_persons};
use time::{Duration, OffsetDateTime};
use tokio::sync::oneshot;
use trust_framework::Registry;

const SECRET: &str = "tls-conformance-secret-0123456789abcdef";
const REDIRECT: &str = "https://127.0.0.1:9/callback";
const EXAMPLE: &str = include_str!("../../examples/registry/pan-canada.toml");

/// A certificate authority of a test deployment, and its files.
struct Authority {
    dir: tempfile::TempDir,
    params: rcgen::CertificateParams,
    key: rcgen::KeyPair,
    cert: PathBuf,
}

impl Authority {
    fn new(name: &str) -> Self {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("{name}.pem"));
        std::fs::write(&path, cert.pem()).unwrap();
        Self {
            dir,
            params,
            key,
            cert: path,
        }
    }

    /// A server certificate for `names`, valid from `not_before` to `not_after`: its
    /// certificate and key files.
    fn issue(
        &self,
        names: &[&str],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap();
        params.not_before = not_before;
        params.not_after = not_after;
        let issuer = rcgen::Issuer::new(self.params.clone(), &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let stem = names.join("-");
        let cert_path = self
            .dir
            .path()
            .join(format!("{stem}-{}.pem", not_after.unix_timestamp()));
        let key_path = self
            .dir
            .path()
            .join(format!("{stem}-{}.key", not_after.unix_timestamp()));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }

    /// A server certificate for 127.0.0.1, current.
    fn current(&self) -> (PathBuf, PathBuf) {
        let now = OffsetDateTime::now_utc();
        self.issue(
            &["127.0.0.1"],
            now - Duration::days(1),
            now + Duration::days(30),
        )
    }
}

/// Alberta's demo provider over https with the certificate at `cert`; stops when the sender
/// is dropped.
async fn https_provider(cert: &Path, key: &Path) -> (ProviderTarget, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("https://{}", listener.local_addr().unwrap());
    let registry = Registry::from_toml(
        &EXAMPLE.replace("\"http://127.0.0.1:8411\"", &format!("\"{issuer}\"")),
    )
    .unwrap();
    let entry = registry.provider("ab-account").unwrap().clone();
    let config = ProviderConfig::for_registry_provider(
        &entry,
        issuer.clone(),
        ClientConfig {
            client_id: "conformance-client".into(),
            client_secret: SECRET.into(),
            redirect_uris: vec![REDIRECT.into()],
        },
        None,
    );
    let router = demo::provider::router(config).unwrap();
    let tls = Tls::from_pem_files(cert, key).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(broker::http::server::serve(
        listener,
        router,
        Some(tls),
        16,
        async {
            let _ = stopped.await;
        },
    ));
    let mut target = ProviderTarget::new(issuer);
    target.client = Some(TestClient {
        client_id: "conformance-client".into(),
        client_secret: SECRET.into(),
        redirect_uri: REDIRECT.into(),
    });
    target.login_hint = Some(test_persons("CA-AB")[0].id.clone());
    target.registry_entry = Some(entry);
    (target, stop)
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
                c.outcome.reason()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The reason the discovery fetch failed, after checking that nothing else failed.
fn fetch_refused(report: &Report) -> String {
    assert_eq!(
        report.failed_ids(),
        ["OP-DISC-FETCH"],
        "{}",
        describe(report)
    );
    match &report.get("OP-DISC-FETCH").unwrap().outcome {
        Outcome::Fail(reason) => reason.en.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_private_authority_is_trusted_through_a_ca_bundle_and_named_without_one() {
    let ca = Authority::new("test-deployment-ca");
    let (cert, key) = ca.current();
    let (mut target, _stop) = https_provider(&cert, &key).await;

    let report = check_provider(&target, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let reason = fetch_refused(&report);
    let origin = target.issuer.trim_start_matches("https://");
    assert!(
        reason.contains(&format!(
            "the TLS certificate that {origin} presented is not trusted"
        )) && reason.contains("--ca-bundle FILE"),
        "{reason}"
    );

    target.ca_bundle = Some(CaBundle::from_pem_file(&ca.cert).unwrap());
    let report = check_provider(&target, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(
        report.failed_ids(),
        Vec::<&str>::new(),
        "{}",
        describe(&report)
    );
    // https: not even the loopback warning; every check ran.
    let s = report.summary();
    assert_eq!((s.warning, s.skipped), (0, 0), "{}", describe(&report));
}

#[tokio::test]
async fn refused_certificates_are_explained() {
    let ca = Authority::new("test-deployment-ca");
    let bundle = CaBundle::from_pem_file(&ca.cert).unwrap();
    let now = OffsetDateTime::now_utc();

    // Expired.
    let (cert, key) = ca.issue(
        &["127.0.0.1"],
        now - Duration::days(60),
        now - Duration::days(2),
    );
    let (mut target, _stop) = https_provider(&cert, &key).await;
    target.ca_bundle = Some(bundle.clone());
    let reason = fetch_refused(&check_provider(&target, now).await.unwrap());
    assert!(
        reason.contains("expired on") && reason.contains("renew"),
        "{reason}"
    );

    // For another name than the one the provider is reached at.
    let (cert, key) = ca.issue(
        &["idp.test.example"],
        now - Duration::days(1),
        now + Duration::days(30),
    );
    let (mut target, _stop) = https_provider(&cert, &key).await;
    target.ca_bundle = Some(bundle.clone());
    let reason = fetch_refused(&check_provider(&target, now).await.unwrap());
    assert!(
        reason.contains("is not valid for that host: it names idp.test.example"),
        "{reason}"
    );

    // Issued by another authority than the bundle's.
    let other = Authority::new("another-ca");
    let (cert, key) = other.current();
    let (mut target, _stop) = https_provider(&cert, &key).await;
    target.ca_bundle = Some(bundle);
    let reason = fetch_refused(&check_provider(&target, now).await.unwrap());
    assert!(
        reason.contains("not trusted") && reason.contains(&ca.cert.display().to_string()),
        "{reason}"
    );
}

#[test]
fn unusable_ca_bundles_are_refused_before_any_check() {
    let ca = Authority::new("test-deployment-ca");
    let (_, key) = ca.current();
    match CaBundle::from_pem_file(&key) {
        Err(e @ Error::CaBundleInvalid { .. }) => {
            assert!(e.to_string().contains("no PEM certificate"), "{e}")
        }
        other => panic!("a key file was taken as a CA bundle: {other:?}"),
    }
    let missing = ca.dir.path().join("missing.pem");
    assert!(matches!(
        CaBundle::from_pem_file(&missing),
        Err(Error::CaBundleUnreadable { .. })
    ));
    // The command line says so and stops (exit 2).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(["provider", "--issuer", "https://127.0.0.1:9", "--ca-bundle"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read the CA bundle"), "{stderr}");
}
