//! The provider profile against the demo provider: clean it passes; each `Fault` fails exactly
//! the check that names it (the faults oidc-provider cannot be configured to commit).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use conformance::provider::{ProviderTarget, check_provider};
use conformance::{Report, TestClient};
use demo::provider::{ClientConfig, Fault, ProviderConfig, test_persons};
use time::OffsetDateTime;

const SECRET: &str = "demo-conformance-secret-0123456789abcdef";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

async fn run(fault: Option<Fault>) -> Report {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let persons = test_persons("CA-AB");
    let person = persons[0].id.clone();
    let config = ProviderConfig {
        issuer: issuer.clone(),
        name_en: "Alberta (test)".into(),
        name_fr: "Alberta (essai)".into(),
        clients: vec![ClientConfig {
            client_id: "conformance-client".into(),
            client_secret: SECRET.into(),
            redirect_uris: vec![REDIRECT.into()],
        }],
        acr_values: vec!["urn:ab:aca:basic".into(), "urn:ab:aca:verified".into()],
        claim_names: Default::default(),
        persons,
        fault,
        clock: demo::provider::system_clock(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(demo::provider::serve(listener, config, async {
        let _ = stopped.await;
    }));
    let mut target = ProviderTarget::new(issuer);
    target.allow_loopback_http = true;
    target.client = Some(TestClient {
        client_id: "conformance-client".into(),
        client_secret: SECRET.into(),
        redirect_uri: REDIRECT.into(),
    });
    target.login_hint = Some(person);
    let report = check_provider(&target, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let _ = stop.send(());
    let _ = server.await;
    report
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
    assert_fails_exactly(None, &[]).await;
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
