//! End to end across processes: panva's openid-client (a relying party) -> the broker binary
//! -> panva's oidc-provider (an independent identity provider). Nothing here is in-process.

#![allow(clippy::unwrap_used)]

use e2e::broker::BrokerProcess;
use e2e::interop::{UpstreamProvider, run_rp};
use serde_json::{Value, json};

const EXAMPLE: &str = include_str!("../../examples/registry/pan-canada.toml");
const UPSTREAM_SECRET: &str = "upstream-secret-0123456789abcdef0123456789";
const RP_SECRET: &str = "rp-secret-0123456789abcdef0123456789abcdef";
const RP: &str = "esdc-employment-insurance";
const RP_REDIRECT: &str = "http://127.0.0.1:8490/callback/esdc-employment-insurance";

struct Setup {
    broker: BrokerProcess,
    _upstream: UpstreamProvider,
}

/// oidc-provider plays Alberta's provider; the registry is the example one pointed at it.
async fn setup() -> Setup {
    setup_with(|r| r).await
}

async fn setup_with(edit: impl FnOnce(String) -> String) -> Setup {
    let broker_port = e2e::broker::free_port().unwrap();
    // The broker's port is fixed by BrokerProcess; the upstream must know the callback first,
    // so both are derived from the registry after the upstream has started.
    let upstream = UpstreamProvider::start(json!({
        "clients": [{
            "client_id": "pan-canadian-broker",
            "client_secret": UPSTREAM_SECRET,
            "redirect_uris": [format!("http://127.0.0.1:{broker_port}/callback")],
        }],
        "acr_values": ["urn:ab:aca:basic", "urn:ab:aca:verified", "urn:ab:aca:verified-mfa"],
        "accounts": {
            "amelie": {
                "given_name": "Amélie", "family_name": "Tremblay", "birthdate": "1994-03-12",
                "gender": "female", "email": "amelie@example.ca", "locale": "fr-CA",
                "address": { "street_address": "10 Jasper Ave", "locality": "Edmonton", "region": "AB", "postal_code": "T5J 0A1", "country": "CA" }
            }
        },
        "default_account": "amelie",
    }))
    .await
    .unwrap();
    let registry = edit(EXAMPLE.replace(
        "\"http://127.0.0.1:8411\"",
        &format!("\"{}\"", upstream.issuer),
    ));
    let broker = BrokerProcess::start_on(
        broker_port,
        &registry,
        &[
            ("BROKER_IDP_AB_ACCOUNT_SECRET", UPSTREAM_SECRET),
            ("DEMO_RP_ESDC_EMPLOYMENT_INSURANCE_SECRET", RP_SECRET),
        ],
    )
    .await
    .unwrap();
    Setup {
        broker,
        _upstream: upstream,
    }
}

fn rp_args<'a>(issuer: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--issuer",
        issuer,
        "--client-id",
        RP,
        "--client-secret",
        RP_SECRET,
        "--redirect-uri",
        RP_REDIRECT,
        "--scope",
        "openid profile address",
        // The person shares on the broker's notice-and-consent page.
        "--form-action",
        "/consent",
        "--submit",
        "decision=share",
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test]
async fn openid_client_logs_in_through_the_broker_at_oidc_provider() {
    let s = setup().await;
    let issuer = s.broker.issuer.clone();
    let out = run_rp(&rp_args(&issuer, &["--extra", "idp_hint=ab-account"]))
        .await
        .unwrap();
    assert!(out.get("error").is_none(), "{out:#}\n{}", s.broker.log());
    let claims = &out["id_token_claims"];
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["aud"], RP);
    assert_eq!(claims["given_name"], "Amélie");
    assert_eq!(claims["family_name"], "Tremblay");
    assert_eq!(claims["birthdate"], "1994-03-12");
    assert_eq!(claims["address"]["locality"], "Edmonton");
    assert_eq!(claims["acr"], "urn:pctf:loa:2");
    assert!(
        claims.get("email").is_none(),
        "email is not in the agreement"
    );
    assert!(claims.get("gender").is_none(), "gender was not agreed");
    assert_eq!(
        claims["verified_claims"]["verification"]["trust_framework"],
        "ca_pctf"
    );
    assert_ne!(
        claims["sub"], "amelie",
        "the subject is pairwise, not the provider's"
    );
    assert_eq!(out["id_token_header"]["alg"], "ES256");
    assert_eq!(out["userinfo"]["sub"], claims["sub"]);
    assert_eq!(out["userinfo"]["given_name"], "Amélie");
    assert_audit_trail_of_one_login(&s.broker.log_with("token.issued").await, &out);

    // The same person again, who now declines to share: the service gets access_denied, and
    // the audit trail tells this second login apart, ending in consent.refused, not a token.
    let deny: Vec<&str> = rp_args(&issuer, &["--extra", "idp_hint=ab-account"])
        .into_iter()
        .map(|a| {
            if a == "decision=share" {
                "decision=deny"
            } else {
                a
            }
        })
        .collect();
    let out = run_rp(&deny).await.unwrap();
    assert_eq!(out["error"], "access_denied", "{out:#}");
    let log = s.broker.log_with("consent.refused").await;
    let events = audit_events(&log);
    let refused: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "consent.refused")
        .collect();
    assert_eq!(refused.len(), 1, "{log}");
    let txn = refused[0]["txn"].as_str().unwrap();
    let second: Vec<&str> = events
        .iter()
        .filter(|e| e["txn"] == txn)
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(
        second,
        [
            "policy.decided",
            "upstream.sent",
            "release.granted",
            "session.started",
            "consent.refused"
        ],
        "{log}"
    );
    assert_eq!(refused[0]["client"], RP);
    assert_eq!(
        refused[0]["attributes"],
        "given_name family_name birthdate address preferred_language"
    );
    assert_eq!(
        refused[0]["subject"], claims["sub"],
        "the same pairwise subject"
    );
}

#[tokio::test]
async fn openid_client_chooses_on_the_picker_and_steps_up() {
    let s = setup().await;
    let issuer = s.broker.issuer.clone();
    let out = run_rp(&rp_args(
        &issuer,
        &[
            "--acr-values",
            "urn:pctf:loa:3",
            "--form-action",
            "/authorize/select",
            "--submit",
            "provider=ab-account",
        ],
    ))
    .await
    .unwrap();
    assert!(out.get("error").is_none(), "{out:#}\n{}", s.broker.log());
    assert_eq!(out["id_token_claims"]["acr"], "urn:pctf:loa:3");
}

#[tokio::test]
async fn an_unattainable_level_is_refused_to_openid_client() {
    let s = setup().await;
    let issuer = s.broker.issuer.clone();
    let out: Value = run_rp(&rp_args(&issuer, &["--acr-values", "urn:pctf:loa:4"]))
        .await
        .unwrap();
    assert_eq!(out["error"], "unmet_authentication_requirements", "{out:#}");

    // The audit trail says who was refused and why, and that nothing was sent upstream.
    let log = s.broker.log_with("policy.refused").await;
    let events: Vec<Value> = audit_events(&log)
        .into_iter()
        .filter(|e| e["event"] != "registry.loaded")
        .collect();
    assert_eq!(events.len(), 1, "{log}");
    let refused = &events[0];
    assert_eq!(refused["event"], "policy.refused", "{log}");
    assert_eq!(refused["client"], RP);
    assert_eq!(refused["code"], "unmet_authentication_requirements");
    let reason = refused["refusal"].as_str().unwrap();
    assert!(
        reason.contains('4'),
        "the level asked for is named: {reason}"
    );
    assert!(
        !log.contains(RP_SECRET) && !log.contains(UPSTREAM_SECRET),
        "{log}"
    );
}

/// FAPI 2.0's client side, by an independent implementation: openid-client pushes the request
/// (RFC 9126) and authenticates with private_key_jwt (RFC 7523) to a service registered to
/// require both.
#[tokio::test]
async fn openid_client_pushes_its_request_and_signs_its_client_assertions() {
    let pair = demo::jose::KeyPair::generate("ES256").unwrap();
    let mut public = pair.public_jwk();
    public.insert("kid".into(), "rp-2026".into());
    let mut private = public.clone();
    private.insert("d".into(), pair.ec_private_scalar().unwrap().into());
    let private = serde_json::Value::Object(private);
    let p = |m: &str| public[m].as_str().unwrap().to_owned();
    let registration = format!(
        "token_endpoint_auth_method = \"private_key_jwt\"\njwks = {{ keys = [{{ kty = \"EC\", crv = \"P-256\", x = \"{}\", y = \"{}\", kid = \"rp-2026\" }}] }}\nrequire_pushed_authorization_requests = true",
        p("x"),
        p("y")
    );
    let s = setup_with(move |r| {
        r.replace(
            "token_endpoint_auth_method = \"client_secret_basic\"\nclient_secret = { env = \"DEMO_RP_ESDC_EMPLOYMENT_INSURANCE_SECRET\" }",
            &registration,
        )
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("rp.jwk");
    std::fs::write(&key_file, private.to_string()).unwrap();
    let issuer = s.broker.issuer.clone();
    let key_path = key_file.to_str().unwrap();
    let args = [
        "--issuer",
        issuer.as_str(),
        "--client-id",
        RP,
        "--redirect-uri",
        RP_REDIRECT,
        "--scope",
        "openid profile address",
        "--form-action",
        "/consent",
        "--submit",
        "decision=share",
        "--extra",
        "idp_hint=ab-account",
        "--auth",
        "private_key_jwt",
        "--private-key-jwk",
        key_path,
    ];
    let pushed = [&args[..], &["--par"]].concat();
    let out = run_rp(&pushed).await.unwrap();
    assert!(out.get("error").is_none(), "{out:#}\n{}", s.broker.log());
    assert_eq!(out["id_token_claims"]["given_name"], "Amélie");
    assert_eq!(out["id_token_claims"]["aud"], RP);
    assert!(out["userinfo"]["sub"].is_string());

    // The same client without PAR is refused: the service must push its requests.
    let out = run_rp(&args).await.unwrap();
    assert_eq!(out["error"], "invalid_request", "{out:#}");
    assert!(
        out["error_description"].as_str().unwrap().contains("/par"),
        "{out:#}"
    );
}

/// The audit trail of one login (`out`, the relying party's view of it), as an auditor reads
/// it from the broker's standard error (`log`): one
/// flat JSON object per event, every event of the login carrying its `txn`, lists as
/// space-separated names, levels as acr URNs, and nowhere in the whole log a secret, a code or
/// a token.
/// The `fields` of every audit event in the broker's log, in order; every line of the log
/// must be JSON.
fn audit_events(log: &str) -> Vec<Value> {
    log.lines()
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .map_err(|e| format!("{e}: {l}"))
                .unwrap()
        })
        .filter(|e| e["target"] == "audit")
        .map(|e| e["fields"].clone())
        .collect()
}

fn assert_audit_trail_of_one_login(log: &str, out: &Value) {
    let events = audit_events(log);
    let fields = |name: &str| -> &Value {
        let found: Vec<&Value> = events.iter().filter(|e| e["event"] == name).collect();
        assert_eq!(found.len(), 1, "one {name} event:\n{log}");
        found[0]
    };
    let names: Vec<&str> = events
        .iter()
        .filter_map(|e| e["event"].as_str())
        .filter(|n| *n != "registry.loaded")
        .collect();
    assert_eq!(
        names,
        [
            "policy.decided",
            "upstream.sent",
            "release.granted",
            "session.started",
            "consent.given",
            "token.issued"
        ],
        "{log}"
    );

    let txn = fields("policy.decided")["txn"].as_str().unwrap();
    assert!(txn.len() >= 43, "a random transaction id: {txn}");
    for name in &names {
        assert_eq!(fields(name)["txn"], txn, "{name} is part of the same login");
    }

    let decided = fields("policy.decided");
    assert_eq!(decided["client"], RP);
    assert_eq!(decided["eligible"], "ab-account");
    assert_eq!(decided["level_required"], "urn:pctf:loa:2");
    assert_eq!(
        decided["attributes_requested"],
        "given_name family_name middle_name birthdate gender address preferred_language"
    );
    let sent = fields("upstream.sent");
    assert_eq!(sent["provider"], "ab-account");
    assert_eq!(
        sent["acr_values"],
        "urn:ab:aca:verified urn:ab:aca:verified-mfa"
    );
    let granted = fields("release.granted");
    assert_eq!(granted["level_required"], "urn:pctf:loa:2");
    assert_eq!(granted["level_achieved"], "urn:pctf:loa:2");
    assert_eq!(granted["agreement"], "isa-esdc-ei-2025");
    let released: Vec<&str> = granted["released"].as_str().unwrap().split(' ').collect();
    assert!(
        released.contains(&"given_name") && released.contains(&"address"),
        "{granted}"
    );
    assert!(
        granted["withheld"].as_str().unwrap().contains("gender"),
        "{granted}"
    );
    let given = fields("consent.given");
    assert_eq!(given["attributes"], granted["released"]);
    assert_eq!(
        given["subject"], out["id_token_claims"]["sub"],
        "the pairwise subject"
    );
    assert_eq!(fields("token.issued")["acr"], "urn:pctf:loa:2");

    // Flat values only: no Rust Debug form (`Some(..)`, `["..."]`) inside a field.
    for event in &events {
        for (name, value) in event.as_object().unwrap() {
            if let Some(text) = value.as_str() {
                assert!(
                    !text.starts_with("Some(") && !text.starts_with('[') && !text.contains('"'),
                    "{name} = {text:?} in {event}"
                );
            }
        }
    }

    // Nothing to steal in the whole log, audit or not.
    let code = out["code"].as_str().unwrap();
    let id_token = out["id_token"].as_str().unwrap();
    let access_token = out["access_token"].as_str().unwrap();
    for (what, secret) in [
        ("the upstream client secret", UPSTREAM_SECRET),
        ("the service's client secret", RP_SECRET),
        ("the pairwise secret", "e2e-pairwise-secret"),
        ("the authorization code", code),
        ("the access token", access_token),
        (
            "the ID token's signature",
            id_token.rsplit('.').next().unwrap(),
        ),
    ] {
        assert!(!secret.is_empty(), "{what}");
        assert!(!log.contains(secret), "{what} is in the log:\n{log}");
    }
    assert!(
        !log.contains("eyJ"),
        "no JWT (the broker's or the provider's) is in the log:\n{log}"
    );
}
