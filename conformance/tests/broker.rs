//! The broker profile against the real broker (a `broker serve` process) in front of Alberta's
//! demo provider: every check it runs passes, the sessions and logout checks among them, but
//! those the broker is known to fail, each named with its bug below.

#![allow(clippy::unwrap_used, clippy::panic)]

use conformance::TestClient;
use conformance::broker::{BrokerTarget, check_broker};
use conformance::provider::ProviderTarget;
use e2e::broker::{BrokerProcess, BrokerSpec, free_port};
use time::OffsetDateTime;
use trust_framework::Registry;

const EXAMPLE: &str = include_str!("../../examples/registry/pan-canada.toml");
const UPSTREAM_SECRET: &str = "upstream-secret-for-conformance";
const RP_SECRET: &str = "rp-secret-for-conformance";

#[tokio::test]
async fn the_broker_passes_its_own_profile() {
    let port = free_port().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    let config = demo::provider::ProviderConfig {
        issuer: upstream.clone(),
        name_en: "Alberta (test)".into(),
        name_fr: "Alberta (essai)".into(),
        clients: vec![demo::provider::ClientConfig {
            client_id: "pan-canadian-broker".into(),
            client_secret: UPSTREAM_SECRET.into(),
            redirect_uris: vec![format!("http://127.0.0.1:{port}/callback")],
        }],
        acr_values: vec![
            "urn:ab:aca:basic".into(),
            "urn:ab:aca:verified".into(),
            "urn:ab:aca:verified-mfa".into(),
        ],
        claim_names: Default::default(),
        persons: demo::provider::test_persons("CA-AB"),
        fault: None,
        clock: demo::provider::system_clock(),
    };
    tokio::spawn(demo::provider::serve(
        listener,
        config,
        std::future::pending(),
    ));
    let registry = EXAMPLE.replace("\"http://127.0.0.1:8411\"", &format!("\"{upstream}\""));
    let broker = BrokerProcess::spawn(BrokerSpec {
        port,
        registry: &registry,
        env: &[
            ("BROKER_IDP_AB_ACCOUNT_SECRET", UPSTREAM_SECRET),
            ("DEMO_RP_ESDC_EMPLOYMENT_INSURANCE_SECRET", RP_SECRET),
            ("DEMO_RP_VPL_LIBRARY_CARD_SECRET", RP_SECRET),
        ],
        ..BrokerSpec::default()
    })
    .await
    .unwrap();

    let mut provider = ProviderTarget::new(broker.issuer.clone());
    provider.allow_loopback_http = true;
    provider.client = Some(TestClient {
        client_id: "esdc-employment-insurance".into(),
        client_secret: RP_SECRET.into(),
        redirect_uri: "http://127.0.0.1:8490/callback/esdc-employment-insurance".into(),
    });
    provider.login_hint = Some("ab-amelie-tremblay".into());
    provider.scope = "openid profile address email".into();
    provider.extra_params = vec![("idp_hint".into(), "ab-account".into())];
    let target = BrokerTarget {
        provider,
        second_client: Some(TestClient {
            client_id: "vpl-library-card".into(),
            client_secret: RP_SECRET.into(),
            redirect_uri: "http://127.0.0.1:8490/callback/vpl-library-card".into(),
        }),
        registry: Some(Registry::from_toml(&registry).unwrap()),
    };
    let report = check_broker(&target, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let describe: Vec<String> = report
        .checks
        .iter()
        .map(|c| format!("{} {} {:?}", c.id, c.outcome.name(), c.outcome.reason()))
        .collect();
    assert!(
        report.failed_ids().is_empty(),
        "{}\n{}",
        describe.join("\n"),
        broker.log()
    );
    for id in [
        "BR-SUB-PAIRWISE",
        "BR-VERIFIED-CLAIMS",
        "BR-AGREED-ATTRIBUTES",
        "BR-CONSENT-REFUSAL",
        "BR-SESSION-PROMPT-NONE-NO-SESSION",
        "BR-SESSION-PROMPT-NONE-COMBINED",
        "BR-SESSION-REUSE",
        "BR-SESSION-MAX-AGE",
        "BR-SESSION-PROMPT-LOGIN",
        "BR-LOGOUT-DISCOVERY",
        "BR-LOGOUT-FOREIGN-HINT",
        "BR-LOGOUT-SESSION-KEPT",
        "BR-CODE-REPLAY-REVOKES",
        "BR-RECORD-CLOSED",
        "BR-RECORD-FORGED-POST",
        "OP-NEG-UNKNOWN-CLIENT",
        "OP-NEG-CODE-REPLAY",
        "OP-NEG-PKCE-REQUIRED",
        "OP-FLOW-ISS-ERROR",
        "OP-NEG-CLIENT-AUTH",
        "OP-NEG-REDEEM-REDIRECT-URI",
        "OP-TOKEN-ERROR",
        "OP-USERINFO-SUB",
        "OP-IDT-SUB-STABLE",
    ] {
        let check = report.get(id).unwrap_or_else(|| panic!("{id} not run"));
        assert_eq!(
            check.outcome.name(),
            "pass",
            "{id}: {:?}\n{}",
            check.outcome.reason(),
            describe.join("\n")
        );
    }
    // The demo's consent is remembered for the session's first login, so prompt=none is
    // answered with a code (two codes redeemed: the first login's and the session's), not
    // consent_required.
    let reuse = report.get("BR-SESSION-REUSE").unwrap();
    let redeemed = reuse
        .evidence
        .iter()
        .filter(|e| e.method == "POST" && e.url.ends_with("/token") && e.status == Some(200))
        .count();
    assert_eq!(redeemed, 2, "{:?}", reuse.evidence);
}

/// The suite judges a provider's ID tokens by the bounds the broker applies to them: a token
/// the suite passes, the broker accepts.
#[test]
fn the_suite_holds_id_tokens_to_the_brokers_bounds() {
    use conformance::provider::{BROKER_ALGS, MAX_AGE_SECONDS, SKEW_SECONDS};
    assert_eq!(BROKER_ALGS, broker::upstream::signature::ALGS);
    let secs = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap();
    assert_eq!(MAX_AGE_SECONDS, secs(broker::upstream::MAX_IAT_AGE));
    assert_eq!(SKEW_SECONDS, secs(broker::upstream::MAX_IAT_SKEW));
}
