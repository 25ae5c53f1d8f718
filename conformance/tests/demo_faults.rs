//! The provider profile against the demo provider: clean it passes; each `Fault` fails exactly
//! the check that names it (the faults oidc-provider cannot be configured to commit). The
//! provider plays Alberta's registry entry, so the suite asks it as the broker would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use broker::http::server::Tls;
use conformance::provider::{ProviderTarget, check_provider};
use conformance::{CaBundle, Report, TestClient};
use demo::provider::{ClientConfig, Fault, ProviderConfig, test_persons};
use time::OffsetDateTime;
use trust_framework::Registry;

const SECRET: &str = "demo-conformance-secret-0123456789abcdef";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
/// The demo's registry: Alberta's entry is certified at level 3 whenever the tests run.
const EXAMPLE: &str = include_str!("../../examples/registry/pan-canada.toml");

/// How the demo provider is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// http on a loopback address, allowed for a test provider (`--allow-loopback-http`).
    LoopbackHttp,
    /// https with a certificate from a private authority, trusted through a CA bundle.
    Https,
}

/// Alberta's demo provider with `fault`, checked with its registry entry (asked as the broker
/// asks it: level 3's acr value, its attributes) or, without, from its discovery document.
async fn run_with(fault: Option<Fault>, with_registry: bool, scheme: Scheme) -> Report {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = match scheme {
        Scheme::LoopbackHttp => format!("http://{}", listener.local_addr().unwrap()),
        Scheme::Https => format!("https://{}", listener.local_addr().unwrap()),
    };
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
        fault,
    );
    let mut target = ProviderTarget::new(issuer);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async {
        let _ = stopped.await;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = match scheme {
        Scheme::LoopbackHttp => {
            target.allow_loopback_http = true;
            tokio::spawn(demo::provider::serve(listener, config, shutdown))
        }
        Scheme::Https => {
            let files = e2e::tls::private_ca(dir.path()).unwrap();
            target.ca_bundle = Some(CaBundle::from_pem_file(&files.ca_bundle).unwrap());
            let router = demo::provider::router(config).unwrap();
            let tls = Tls::from_pem_files(&files.cert, &files.key).unwrap();
            let served = broker::http::server::serve(listener, router, Some(tls), 16, shutdown);
            tokio::spawn(async move { served.await.map_err(anyhow::Error::from) })
        }
    };
    target.client = Some(TestClient {
        client_id: "conformance-client".into(),
        client_secret: SECRET.into(),
        redirect_uri: REDIRECT.into(),
    });
    target.login_hint = Some(test_persons("CA-AB")[0].id.clone());
    target.registry_entry = with_registry.then_some(entry);
    let report = check_provider(&target, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let _ = stop.send(());
    let _ = server.await;
    report
}

async fn run(fault: Option<Fault>) -> Report {
    run_with(fault, true, Scheme::LoopbackHttp).await
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

async fn assert_fails_exactly(fault: Option<Fault>, expected: &[&str]) {
    let report = run(fault.clone()).await;
    let failed = report.failed_ids();
    assert_eq!(failed, expected, "{fault:?}\n{}", describe(&report));
}

#[tokio::test]
async fn clean_demo_provider_passes() {
    let report = run(None).await;
    assert_eq!(
        report.failed_ids(),
        Vec::<&str>::new(),
        "{}",
        describe(&report)
    );
    // Every check ran: only http on loopback is a warning, for the issuer and its endpoints.
    let s = report.summary();
    assert_eq!((s.warning, s.skipped), (2, 0), "{}", describe(&report));
    for id in ["OP-DISC-ISSUER-HTTPS", "OP-DISC-ENDPOINTS-HTTPS"] {
        let outcome = &report.get(id).unwrap().outcome;
        assert_eq!(outcome.name(), "warning", "{id}\n{}", describe(&report));
    }
}

#[tokio::test]
async fn clean_demo_provider_passes_over_https() {
    let report = run_with(None, true, Scheme::Https).await;
    assert_eq!(
        report.failed_ids(),
        Vec::<&str>::new(),
        "{}",
        describe(&report)
    );
    // https: not even the loopback warnings; every check ran.
    let s = report.summary();
    assert_eq!((s.warning, s.skipped), (0, 0), "{}", describe(&report));
}

#[tokio::test]
async fn endpoint_over_http_on_an_https_issuer() {
    let report = run_with(Some(Fault::EndpointOverHttp), true, Scheme::Https).await;
    assert_eq!(
        report.failed_ids(),
        ["OP-DISC-ENDPOINTS-HTTPS"],
        "{}",
        describe(&report)
    );
    let reason = report
        .get("OP-DISC-ENDPOINTS-HTTPS")
        .unwrap()
        .outcome
        .reason()
        .unwrap();
    assert!(
        reason
            .en
            .contains("end_session_endpoint uses http, not https"),
        "{}",
        reason.en
    );
}

#[tokio::test]
async fn clean_demo_provider_passes_on_its_discovery_alone() {
    let report = run_with(None, false, Scheme::LoopbackHttp).await;
    assert_eq!(
        report.failed_ids(),
        Vec::<&str>::new(),
        "{}",
        describe(&report)
    );
}

macro_rules! fault_test {
    ($name:ident, $fault:expr, $($id:literal),+) => {
        #[tokio::test]
        async fn $name() {
            assert_fails_exactly(Some($fault), &[$($id),+]).await;
        }
    };
}

fault_test!(weak_rsa_key, Fault::WeakRsaKey, "OP-JWKS-KEY-STRENGTH");
fault_test!(
    private_key_in_jwks,
    Fault::PrivateKeyInJwks,
    "OP-JWKS-NO-PRIVATE"
);
fault_test!(duplicate_kid, Fault::DuplicateKid, "OP-JWKS-UNIQUE-KID");
fault_test!(
    alg_none_advertised,
    Fault::AlgNoneAdvertised,
    "OP-DISC-SIGNING-ALGS"
);
fault_test!(
    issuer_mismatch,
    Fault::DiscoveryIssuerMismatch,
    "OP-DISC-ISSUER-MATCH"
);
fault_test!(
    pkce_not_enforced,
    Fault::PkceNotEnforced,
    "OP-NEG-PKCE-REQUIRED"
);
fault_test!(
    code_verifier_ignored,
    Fault::CodeVerifierIgnored,
    "OP-NEG-PKCE-VERIFIER"
);
fault_test!(
    code_replay_allowed,
    Fault::CodeReplayAllowed,
    "OP-NEG-CODE-REPLAY"
);
fault_test!(
    redirect_uri_prefix_match,
    Fault::RedirectUriPrefixMatch,
    "OP-NEG-REDIRECT-URI"
);
fault_test!(unsigned_id_token, Fault::AlgNone, "OP-IDT-SIGNATURE");
fault_test!(bad_signature, Fault::BadSignature, "OP-IDT-SIGNATURE");
fault_test!(unknown_kid, Fault::UnknownKid, "OP-IDT-SIGNATURE");
fault_test!(
    hmac_id_token,
    Fault::HmacWithClientSecret,
    "OP-IDT-SIGNATURE"
);
fault_test!(wrong_issuer_in_token, Fault::WrongIssuer, "OP-IDT-ISS");
fault_test!(wrong_audience, Fault::WrongAudience, "OP-IDT-AUD");
fault_test!(expired_token, Fault::Expired, "OP-IDT-EXP");
fault_test!(token_from_the_future, Fault::IssuedInFuture, "OP-IDT-EXP");
fault_test!(wrong_nonce, Fault::WrongNonce, "OP-IDT-NONCE");
fault_test!(stale_auth_time, Fault::StaleAuthTime, "OP-FLOW-MAX-AGE");
fault_test!(no_auth_time, Fault::NoAuthTime, "OP-FLOW-MAX-AGE");
fault_test!(
    unpublished_acr,
    Fault::AcrOverride("urn:ab:aca:made-up".into()),
    "OP-IDT-ACR"
);
fault_test!(
    weaker_acr_than_asked,
    Fault::AcrOverride("urn:ab:aca:verified".into()),
    "OP-IDT-ACR"
);
fault_test!(no_acr, Fault::NoAcr, "OP-IDT-ACR");
fault_test!(extra_audience, Fault::ExtraAudience, "OP-IDT-AUD");
fault_test!(issued_long_ago, Fault::IssuedLongAgo, "OP-IDT-EXP");
fault_test!(no_subject, Fault::NoSubject, "OP-IDT-SUB");
fault_test!(
    unstable_subject,
    Fault::UnstableSubject,
    "OP-IDT-SUB-STABLE"
);
fault_test!(wrong_at_hash, Fault::WrongAtHash, "OP-IDT-AT-HASH");
fault_test!(
    userinfo_other_subject,
    Fault::UserinfoOtherSubject,
    "OP-USERINFO-SUB"
);
fault_test!(
    token_response_not_json,
    Fault::TokenResponseNotJson,
    "OP-TOKEN-JSON"
);
fault_test!(
    token_response_cacheable,
    Fault::TokenResponseCacheable,
    "OP-TOKEN-NO-STORE"
);
fault_test!(
    token_error_not_oauth,
    Fault::TokenErrorNotOAuth,
    "OP-TOKEN-ERROR"
);
fault_test!(
    no_iss_in_response,
    Fault::NoIssInResponse,
    "OP-FLOW-ISS-RESPONSE"
);
fault_test!(no_iss_on_error, Fault::NoIssOnError, "OP-FLOW-ISS-ERROR");
fault_test!(
    code_verifier_optional,
    Fault::CodeVerifierOptional,
    "OP-NEG-PKCE-VERIFIER"
);
fault_test!(
    client_secret_ignored,
    Fault::ClientSecretIgnored,
    "OP-NEG-CLIENT-AUTH"
);
fault_test!(
    redeem_redirect_uri_ignored,
    Fault::RedeemRedirectUriIgnored,
    "OP-NEG-REDEEM-REDIRECT-URI"
);
fault_test!(
    unknown_client_redirected,
    Fault::UnknownClientRedirected,
    "OP-NEG-UNKNOWN-CLIENT"
);
