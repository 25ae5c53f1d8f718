//! A provider that misbehaves never gets a token issued: the relying party receives a clean
//! OAuth error, with the reason in `error_description`.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use demo::provider::Fault;

async fn outcome_with(fault: Fault, timeout: Option<Duration>) -> (TestBed, Outcome) {
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
    (bed, outcome)
}

async fn expect(fault: Fault, error: &str, description_mentions: &str) {
    let (_bed, outcome) = outcome_with(fault, None).await;
    assert_eq!(outcome.params["error"], error, "{:?}", outcome.params);
    let description = outcome.params["error_description"].to_lowercase();
    assert!(
        description.contains(description_mentions),
        "{description:?} should mention {description_mentions:?}"
    );
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
    let (_bed, outcome) = outcome_with(
        Fault::SlowToken(Duration::from_secs(5)),
        Some(Duration::from_secs(1)),
    )
    .await;
    assert_eq!(
        outcome.params["error"], "temporarily_unavailable",
        "{:?}",
        outcome.params
    );
}

#[tokio::test]
async fn provider_down() {
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
