use super::*;
use crate::jose::{KeyPair, hs256_jws};

const NOW: i64 = 1_750_000_000;

fn expected() -> Expected<'static> {
    Expected {
        issuer: "http://broker.test",
        client_id: "svc",
        now: NOW,
    }
}

fn claims() -> Map<String, Value> {
    json!({
        "iss": "http://broker.test", "aud": "svc", "iat": NOW, "exp": NOW + 120,
        "jti": "jti-1", "sid": "sid-1", "sub": "pairwise-1",
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    })
    .as_object()
    .cloned()
    .unwrap()
}

fn key() -> (Value, KeyPair) {
    let pair = KeyPair::generate("ES256").unwrap();
    let mut public = pair.public_jwk();
    public.insert("kid".into(), "k1".into());
    (json!({ "keys": [public] }), pair)
}

fn sign_typed(claims: &Map<String, Value>, typ: Option<&str>, signer: &KeyPair) -> String {
    let mut header = json!({ "alg": signer.alg(), "kid": "k1" });
    if let Some(typ) = typ {
        header["typ"] = typ.into();
    }
    signer
        .sign_jws(&header, &serde_json::to_vec(claims).unwrap())
        .unwrap()
}

fn sign(claims: &Map<String, Value>, signer: &KeyPair) -> String {
    sign_typed(claims, Some("logout+jwt"), signer)
}

fn with(name: &str, value: Value) -> Map<String, Value> {
    let mut claims = claims();
    claims.insert(name.into(), value);
    claims
}

fn without(name: &str) -> Map<String, Value> {
    let mut claims = claims();
    claims.remove(name);
    claims
}

#[test]
fn a_valid_logout_token_verifies() {
    let (jwks, signer) = key();
    let verified = verify_logout_token(&sign(&claims(), &signer), &jwks, expected()).unwrap();
    assert_eq!(
        verified,
        VerifiedLogout {
            sid: Some("sid-1".into()),
            sub: Some("pairwise-1".into()),
            jti: "jti-1".into(),
            iat: NOW,
        }
    );
    // sid alone, sub alone, an audience array, the media type spelled in full.
    for claims in [
        without("sub"),
        without("sid"),
        with("aud", json!(["other", "svc"])),
    ] {
        verify_logout_token(&sign(&claims, &signer), &jwks, expected()).unwrap();
    }
    let full = sign_typed(&claims(), Some("application/logout+jwt"), &signer);
    verify_logout_token(&full, &jwks, expected()).unwrap();
}

#[test]
fn forged_and_malformed_tokens_are_refused() {
    let (jwks, signer) = key();
    let (_, other) = key();
    let check = |token: &str| verify_logout_token(token, &jwks, expected());
    assert_eq!(
        check(&sign(&claims(), &other)),
        Err(LogoutTokenError::Token(IdTokenError::Signature))
    );
    let payload = serde_json::to_vec(&claims()).unwrap();
    let hmac = hs256_jws(
        &json!({ "alg": "HS256", "kid": "k1", "typ": "logout+jwt" }),
        &payload,
        b"0123456789abcdef0123456789abcdef",
    );
    assert!(matches!(
        check(&hmac),
        Err(LogoutTokenError::Token(IdTokenError::AlgNotAllowed(_)))
    ));
    assert_eq!(
        check("not.a.token"),
        Err(LogoutTokenError::Token(IdTokenError::Malformed))
    );
    // An ID token (typ JWT) of the same broker is not a logout token.
    assert_eq!(
        check(&sign_typed(&claims(), Some("JWT"), &signer)),
        Err(LogoutTokenError::NotTyped)
    );
    assert_eq!(
        check(&sign_typed(&claims(), None, &signer)),
        Err(LogoutTokenError::NotTyped)
    );
}

#[test]
fn each_claim_is_checked() {
    let (jwks, signer) = key();
    let cases = [
        (
            with("iss", json!("http://impostor.test")),
            LogoutTokenError::Issuer("http://impostor.test".into()),
        ),
        (
            with("aud", json!("another-service")),
            LogoutTokenError::Audience,
        ),
        (with("aud", json!(["a", "b"])), LogoutTokenError::Audience),
        (without("iat"), LogoutTokenError::IssuedAt),
        (
            with("iat", json!(NOW + SKEW_SECS + 1)),
            LogoutTokenError::IssuedAt,
        ),
        (
            with("iat", json!(NOW - MAX_AGE_SECS - 1)),
            LogoutTokenError::IssuedAt,
        ),
        (without("exp"), LogoutTokenError::Expired),
        (
            with("exp", json!(NOW - SKEW_SECS)),
            LogoutTokenError::Expired,
        ),
        (without("jti"), LogoutTokenError::NoJti),
        (with("jti", json!("")), LogoutTokenError::NoJti),
        (without("events"), LogoutTokenError::NoEvent),
        (
            with("events", json!({ "other": {} })),
            LogoutTokenError::NoEvent,
        ),
        (
            with("events", json!({ BACKCHANNEL_LOGOUT_EVENT: "yes" })),
            LogoutTokenError::NoEvent,
        ),
        (with("nonce", json!("n-1")), LogoutTokenError::Nonce),
        (
            {
                let mut c = without("sid");
                c.remove("sub");
                c
            },
            LogoutTokenError::NoSessionOrSubject,
        ),
    ];
    for (claims, error) in cases {
        assert_eq!(
            verify_logout_token(&sign(&claims, &signer), &jwks, expected()),
            Err(error),
            "{claims:?}"
        );
    }
}

#[test]
fn a_jti_is_accepted_once_per_service_and_a_full_cache_fails_closed() {
    let received = Received::new(2);
    let token = |jti: &str| VerifiedLogout {
        sid: Some("sid-1".into()),
        sub: None,
        jti: jti.into(),
        iat: NOW,
    };
    let first = received.record("svc", token("a"), NOW).unwrap();
    assert_eq!(first.received_at, NOW);
    assert_eq!(
        received.record("svc", token("a"), NOW + 10),
        Err(LogoutTokenError::Replayed)
    );
    received.record("other", token("a"), NOW).unwrap();
    assert_eq!(
        received.record("svc", token("b"), NOW),
        Err(LogoutTokenError::Busy)
    );
    // Once a token would be refused as too old, its jti may be forgotten.
    let later = NOW + MAX_AGE_SECS + SKEW_SECS + 1;
    received.record("svc", token("b"), later).unwrap();
    // The list keeps the latest tokens only.
    let jtis = |client: &str| {
        received
            .for_client(client)
            .into_iter()
            .map(|e| e.jti)
            .collect::<Vec<_>>()
    };
    assert_eq!(jtis("svc"), ["b"]);
    assert_eq!(jtis("other"), ["a"]);
}

#[test]
fn a_token_ends_its_session_by_sid_else_earlier_sign_ins_of_its_subject() {
    let received = Received::new(10);
    let by_sid = VerifiedLogout {
        sid: Some("sid-1".into()),
        sub: Some("p".into()),
        jti: "1".into(),
        iat: NOW,
    };
    received.record("svc", by_sid, NOW).unwrap();
    assert!(
        received
            .ended("svc", Some("sid-1"), Some("p"), NOW)
            .is_some()
    );
    assert!(
        received
            .ended("svc", Some("sid-2"), Some("p"), NOW - 100)
            .is_none()
    );
    assert!(
        received
            .ended("other", Some("sid-1"), Some("p"), NOW)
            .is_none()
    );

    let by_sub = VerifiedLogout {
        sid: None,
        sub: Some("q".into()),
        jti: "2".into(),
        iat: NOW,
    };
    received.record("svc", by_sub, NOW).unwrap();
    assert!(
        received
            .ended("svc", Some("sid-9"), Some("q"), NOW - 5)
            .is_some()
    );
    assert!(
        received
            .ended("svc", Some("sid-9"), Some("q"), NOW + 5)
            .is_none(),
        "a later sign-in is a new session"
    );
}
