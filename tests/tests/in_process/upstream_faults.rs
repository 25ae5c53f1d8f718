//! A provider that misbehaves never gets a token issued: the relying party receives a clean
//! OAuth error, with the reason in `error_description`, and the audit trail ends the login with
//! one event that says why.

use std::collections::HashMap;
use std::time::Duration;

use crate::common::audit::AuditLog;
use crate::common::*;
use demo::provider::Fault;
use serde_json::Value;

async fn outcome_with(fault: Fault, timeout: Option<Duration>) -> (TestBed, Outcome, AuditLog) {
    let audit = AuditLog::capture();
    let bed = start(Options {
        faults: HashMap::from([("ab-account", fault)]),
        upstream_timeout: timeout,
        ..Options::default()
    })
    .await;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let outcome = bed.browse(&req, "ab-account").await;
    assert_eq!(outcome.params["state"], req.state);
    assert_eq!(outcome.params["iss"], bed.broker_url);
    assert!(
        !outcome.params.contains_key("code"),
        "a code was issued: {:?}",
        outcome.params
    );
    (bed, outcome, audit)
}

/// The login's audit trail: its request, what was sent to the provider, then the one event
/// `last` that ended it, all under one txn. Returns that event.
fn ended_with(audit: &AuditLog, last: &str) -> Value {
    assert_eq!(
        audit.names(),
        ["policy.decided", "upstream.sent", last],
        "{:?}",
        audit.events()
    );
    let events = audit.events();
    let txn = &events[0]["txn"];
    assert!(txn.as_str().is_some_and(|t| t.len() >= 43), "{txn}");
    assert!(events.iter().all(|e| &e["txn"] == txn), "{events:?}");
    assert_eq!(events[2]["provider"], "ab-account");
    events[2].clone()
}

async fn expect(fault: Fault, error: &str, description_mentions: &str) {
    let (_bed, outcome, audit) = outcome_with(fault, None).await;
    assert_eq!(outcome.params["error"], error, "{:?}", outcome.params);
    let description = outcome.params["error_description"].to_lowercase();
    assert!(
        description.contains(description_mentions),
        "{description:?} should mention {description_mentions:?}"
    );
    // The provider's error, the broker's rejection of its answer, or the trust framework's
    // refusal to release.
    match error {
        "access_denied" if description.starts_with("the identity provider answered") => {
            let event = ended_with(&audit, "upstream.error");
            assert_eq!(event["upstream_error"], "access_denied");
        }
        "unmet_authentication_requirements" => {
            let event = ended_with(&audit, "release.refused");
            assert!(
                event["refusal"].as_str().unwrap().contains("level"),
                "{event}"
            );
        }
        _ => {
            let event = ended_with(&audit, "upstream.failed");
            assert_eq!(event["error"], error);
            assert_eq!(
                event["reason"],
                outcome.params["error_description"].as_str()
            );
        }
    }
}

#[tokio::test]
async fn bad_signature() {
    expect(Fault::BadSignature, "server_error", "signature").await;
}

#[tokio::test]
async fn alg_none() {
    expect(Fault::AlgNone, "server_error", "id token").await;
}

#[tokio::test]
async fn hmac_signed_with_the_client_secret() {
    expect(Fault::HmacWithClientSecret, "server_error", "id token").await;
}

#[tokio::test]
async fn wrong_issuer() {
    expect(Fault::WrongIssuer, "server_error", "issuer").await;
}

#[tokio::test]
async fn wrong_audience() {
    expect(Fault::WrongAudience, "server_error", "audience").await;
}

#[tokio::test]
async fn wrong_nonce() {
    expect(Fault::WrongNonce, "server_error", "nonce").await;
}

#[tokio::test]
async fn expired_token() {
    expect(Fault::Expired, "server_error", "expired").await;
}

#[tokio::test]
async fn issued_in_the_future() {
    expect(Fault::IssuedInFuture, "server_error", "future").await;
}

#[tokio::test]
async fn unknown_kid() {
    expect(Fault::UnknownKid, "server_error", "signature").await;
}

#[tokio::test]
async fn provider_returns_an_error() {
    expect(Fault::ErrorResponse, "access_denied", "access_denied").await;
}

#[tokio::test]
async fn token_endpoint_error() {
    expect(Fault::TokenEndpointError, "access_denied", "invalid_grant").await;
}

#[tokio::test]
async fn acr_below_the_required_level() {
    expect(
        Fault::AcrOverride("urn:ab:aca:basic".into()),
        "unmet_authentication_requirements",
        "level",
    )
    .await;
}

#[tokio::test]
async fn unmapped_acr() {
    expect(
        Fault::AcrOverride("urn:pctf:loa:4".into()),
        "unmet_authentication_requirements",
        "level",
    )
    .await;
}

#[tokio::test]
async fn slow_token_endpoint() {
    let (_bed, outcome, audit) = outcome_with(
        Fault::SlowToken(Duration::from_secs(5)),
        Some(Duration::from_secs(1)),
    )
    .await;
    assert_eq!(
        outcome.params["error"], "temporarily_unavailable",
        "{:?}",
        outcome.params
    );
    let event = ended_with(&audit, "upstream.failed");
    assert_eq!(event["error"], "temporarily_unavailable");
}

/// A token endpoint that streams without end is cut off at the broker's bound (256 KiB), not
/// read until the timeout: the service gets `server_error` naming the size, and the broker goes
/// on serving logins at other providers.
#[tokio::test]
async fn oversized_token_response() {
    let (bed, outcome, audit) = outcome_with(Fault::OversizedTokenResponse, None).await;
    assert_eq!(
        outcome.params["error"], "server_error",
        "{:?}",
        outcome.params
    );
    let description = &outcome.params["error_description"];
    assert!(
        description.contains("too large") && description.contains("262144 bytes"),
        "{description}"
    );
    let event = ended_with(&audit, "upstream.failed");
    assert_eq!(event["error"], "server_error");
    bed.login(
        &AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "qc-sqin"),
        "qc-sqin",
    )
    .await;
}

/// Before the person is sent there, the provider cannot be reached (its discovery fails): the
/// login ends at once, with the error at the service and `upstream.failed` in the trail, both
/// when the provider was named by `idp_hint` and when the person chose it on the picker. The
/// picker's pending login is dropped: posting the choice again finds nothing.
#[tokio::test]
async fn provider_down() {
    let audit = AuditLog::capture();
    // The registry points Alberta at a port where nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let bed = start(Options {
        edit_registry: Some(Box::new(move |text: String| {
            let start = text.find("issuer = \"http://127.0.0.1:").unwrap();
            let end = text[start..].find('\n').unwrap() + start;
            format!(
                "{}issuer = \"http://127.0.0.1:{port}\"{}",
                &text[..start],
                &text[end..]
            )
        })),
        ..Options::default()
    })
    .await;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let r = bed.http.get(req.url(&bed.broker_url)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let q = query(&location(&r));
    assert_eq!(q["error"], "temporarily_unavailable", "{q:?}");
    assert_eq!(q["state"], req.state);
    assert_eq!(audit.names(), ["policy.decided", "upstream.failed"]);
    let failed = audit.one("upstream.failed");
    assert_eq!(failed["txn"], audit.one("policy.decided")["txn"]);
    assert_eq!(failed["provider"], "ab-account");
    assert_eq!(failed["error"], "temporarily_unavailable");
    assert_eq!(
        failed["reason"].as_str(),
        Some(q["error_description"].as_str())
    );

    // Through the picker.
    let req = AuthRequest::new(RP, RP_REDIRECT);
    let picker = bed.page(req.url(&bed.broker_url)).await;
    let form = [
        ("txn", e2e::rp::hidden(&picker, "txn").unwrap()),
        ("csrf", e2e::rp::hidden(&picker, "csrf").unwrap()),
        ("lang", "en".to_owned()),
        ("provider", "ab-account".to_owned()),
    ];
    let choose = || {
        bed.http
            .post(format!("{}/authorize/select", bed.broker_url))
            .form(&form)
            .send()
    };
    let r = choose().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(query(&location(&r))["error"], "temporarily_unavailable");
    assert_eq!(
        audit.names()[2..],
        ["policy.decided", "provider.chosen", "upstream.failed"]
    );
    let events = audit.events();
    assert!(events[2..].iter().all(|e| e["txn"] == events[2]["txn"]));
    let r = choose().await.unwrap();
    assert_eq!(r.status(), 400, "the failed login's pending state is gone");
}

/// Not a fault: a provider that rotated its key after the broker cached its JWKS. The first
/// token signed with the new key makes the broker fetch the JWKS again, and the login succeeds;
/// so does the next one, from the refreshed cache.
#[tokio::test]
async fn a_provider_key_rotation_is_followed_at_once() {
    let bed = start(Options {
        faults: HashMap::from([("ab-account", Fault::KeyRotatedAfterFirstJwks)]),
        ..Options::default()
    })
    .await;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    for _ in 0..2 {
        let claims = bed.login(&req, "ab-account").await;
        assert!(claims.contains_key("sub"), "{claims:?}");
    }
}

/// RFC 9207: an authorization response whose `iss` names another provider (a mix-up attack,
/// or a response misrouted) ends the login, in the audit trail too, and spends its state: the
/// genuine response arriving after it cannot complete the login either.
#[tokio::test]
async fn a_response_naming_another_issuer_is_refused_and_audited() {
    let audit = AuditLog::capture();
    let bed = start(Options::default()).await;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let genuine = url::Url::parse(&bed.callback_from(&req, "ab-account").await).unwrap();
    let params: HashMap<String, String> = genuine.query_pairs().into_owned().collect();
    assert_eq!(params["iss"], bed.providers["ab-account"]);

    let mut forged = genuine.clone();
    forged
        .query_pairs_mut()
        .clear()
        .append_pair("code", &params["code"])
        .append_pair("state", &params["state"])
        .append_pair("iss", &bed.providers["bc-services-card"]);
    let r = bed.http.get(forged).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let back = query(&location(&r));
    assert_eq!(back["error"], "server_error", "{back:?}");
    assert!(
        back["error_description"].contains(&bed.providers["bc-services-card"]),
        "{back:?}"
    );
    assert_eq!(back["state"], req.state);
    assert!(!back.contains_key("code"));
    let event = ended_with(&audit, "upstream.failed");
    assert_eq!(event["error"], "server_error");
    assert_eq!(event["reason"], back["error_description"].as_str());

    let r = bed.http.get(genuine).send().await.unwrap();
    assert_eq!(r.status(), 400, "the spent state is refused");
    assert!(r.text().await.unwrap().contains("expired"));
    assert_eq!(audit.names().len(), 3, "{:?}", audit.names());
}

/// A service that asks for a fresh sign-in (`prompt=login`, or `max_age`) has the demand
/// forwarded to the provider, and gets a code only if the provider's `auth_time` meets it: a
/// provider that kept an old session, or does not say when it signed the person in, ends the
/// login with `unmet_authentication_requirements` and `release.refused`. Without the demand,
/// the same old session is accepted and its `auth_time` passed on, and a missing one is not
/// made up.
#[tokio::test]
async fn a_fresh_sign_in_asked_for_is_one_the_provider_vouches_for() {
    let hinted = || AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let now = || NOW.unix_timestamp();

    // The demand goes to the provider as max_age (which makes auth_time a required claim),
    // with prompt=login for 0.
    let bed = start(Options::default()).await;
    for (req, prompt, max_age) in [
        (hinted().with("prompt", "login"), Some("login"), Some("0")),
        (hinted().with("max_age", "0"), Some("login"), Some("0")),
        (hinted().with("max_age", "300"), None, Some("300")),
        (
            hinted()
                .with("max_age", "300")
                .with("prompt", "login consent"),
            Some("login"),
            Some("0"),
        ),
        (hinted(), None, None),
    ] {
        let r = bed.http.get(req.url(&bed.broker_url)).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let upstream = query(&location(&r));
        assert_eq!(upstream.get("prompt").map(String::as_str), prompt);
        assert_eq!(upstream.get("max_age").map(String::as_str), max_age);
    }
    // A provider that signs the person in again meets it.
    let claims = bed
        .login(&hinted().with("prompt", "login"), "ab-account")
        .await;
    let auth_time = claims["auth_time"].as_i64().unwrap();
    assert!((now() - auth_time).abs() <= 5, "auth_time {auth_time}");
    // A max_age that is not a whole number of seconds goes back as invalid_request (an empty
    // one is no parameter at all, RFC 6749 3.1).
    for bad in ["-1", "1.5", "soon", "99999999999"] {
        let outcome = bed
            .browse(&hinted().with("max_age", bad), "ab-account")
            .await;
        assert_eq!(
            outcome.params["error"], "invalid_request",
            "max_age={bad:?}"
        );
        assert!(outcome.params["error_description"].contains("max_age"));
    }

    for (fault, mentions) in [
        (Fault::StaleAuthTime, "3600 s"),
        (Fault::NoAuthTime, "no auth_time"),
    ] {
        let bed = start(Options {
            faults: HashMap::from([("ab-account", fault.clone())]),
            ..Options::default()
        })
        .await;
        for req in [
            hinted().with("prompt", "login"),
            hinted().with("max_age", "600"),
        ] {
            let audit = AuditLog::capture();
            let outcome = bed.browse(&req, "ab-account").await;
            assert_eq!(
                outcome.params["error"], "unmet_authentication_requirements",
                "{fault:?}: {:?}",
                outcome.params
            );
            assert!(!outcome.params.contains_key("code"));
            assert!(
                outcome.params["error_description"].contains(mentions),
                "{:?}",
                outcome.params
            );
            let event = ended_with(&audit, "release.refused");
            assert!(
                event["refusal"].as_str().unwrap().contains(mentions),
                "{event}"
            );
        }
        // Not asked for: the provider's session is good enough, and its age is told; an age
        // the provider did not tell is not made up.
        let claims = bed.login(&hinted(), "ab-account").await;
        match fault {
            Fault::StaleAuthTime => {
                let auth_time = claims["auth_time"].as_i64().unwrap();
                assert!((now() - 3600 - auth_time).abs() <= 5, "{auth_time}");
            }
            _ => assert!(!claims.contains_key("auth_time"), "{claims:?}"),
        }
    }
}
