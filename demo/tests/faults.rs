//! Each provider fault produces exactly the tampered answer it names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers stop at the first failure

mod common;

use std::time::{Duration, Instant};

use common::*;
use demo::provider::Fault;
use serde_json::Value;

/// The ID token a faulty provider issues for Amélie, with the provider's issuer.
async fn faulty_id_token(fault: Fault) -> (String, String) {
    let issuer = start_provider(Some(fault)).await;
    let tokens = tokens_for(&issuer, "ab-amelie-tremblay").await;
    (issuer, tokens["id_token"].as_str().unwrap().to_owned())
}

/// The claims that must stay as a correct provider issues them.
fn assert_valid_claims(claims: &Value, issuer: &str) {
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["sub"], "ab-amelie-tremblay");
    let now = now();
    assert!(claims["exp"].as_i64().unwrap() > now);
    assert!(claims["iat"].as_i64().unwrap() <= now + 1);
}

#[tokio::test]
async fn bad_signature_flips_one_signature_byte() {
    let (issuer, token) = faulty_id_token(Fault::BadSignature).await;
    let keys = jwks(&issuer).await;
    let (header, claims, signature) = decode(&token);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], keys["keys"][0]["kid"]);
    assert_valid_claims(&claims, &issuer);
    assert_eq!(signature.len(), 64);
    assert!(!verifies_with(&token, &keys));
    // Flipping the byte back gives a valid token: only the signature was touched.
    let mut repaired = signature.clone();
    repaired[7] ^= 0x01;
    let (input, _) = token.rsplit_once('.').unwrap();
    let repaired = format!(
        "{input}.{}",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, repaired)
    );
    assert!(verifies_with(&repaired, &keys));
}

#[tokio::test]
async fn alg_none_has_an_empty_signature() {
    let (issuer, token) = faulty_id_token(Fault::AlgNone).await;
    assert!(token.ends_with('.'));
    let (header, claims, signature) = decode(&token);
    assert_eq!(header["alg"], "none");
    assert!(signature.is_empty());
    assert_valid_claims(&claims, &issuer);
}

#[tokio::test]
async fn hmac_with_client_secret_verifies_with_the_secret() {
    let (issuer, token) = faulty_id_token(Fault::HmacWithClientSecret).await;
    let (header, claims, _) = decode(&token);
    assert_eq!(header["alg"], "HS256");
    assert_valid_claims(&claims, &issuer);
    let (message, signature) = token.rsplit_once('.').unwrap();
    let key = jsonwebtoken::DecodingKey::from_secret(CLIENT_SECRET.as_bytes()).unwrap();
    let alg = jsonwebtoken::Algorithm::HS256;
    assert!(jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, alg).unwrap());
}

#[tokio::test]
async fn unknown_kid_signs_with_an_unpublished_key() {
    let (issuer, token) = faulty_id_token(Fault::UnknownKid).await;
    let keys = jwks(&issuer).await;
    let (header, claims, signature) = decode(&token);
    assert_eq!(header["alg"], "ES256");
    assert_ne!(header["kid"], keys["keys"][0]["kid"]);
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    assert_eq!(signature.len(), 64);
    assert_valid_claims(&claims, &issuer);
}

#[tokio::test]
async fn claim_faults_alter_only_their_claim() {
    let cases: [(Fault, &str); 6] = [
        (Fault::WrongIssuer, "iss"),
        (Fault::WrongAudience, "aud"),
        (Fault::WrongNonce, "nonce"),
        (Fault::Expired, "exp"),
        (Fault::IssuedInFuture, "iat"),
        (Fault::AcrOverride("urn:ab:aca:forged".into()), "acr"),
    ];
    for (fault, claim) in cases {
        let (issuer, token) = faulty_id_token(fault.clone()).await;
        assert!(
            verifies_with(&token, &jwks(&issuer).await),
            "{fault:?}: the signature stays valid"
        );
        let (_, claims, _) = decode(&token);
        let now = now();
        match claim {
            "iss" => assert_ne!(claims["iss"], issuer),
            "aud" => assert_ne!(claims["aud"], CLIENT_ID),
            "nonce" => assert_ne!(claims["nonce"], "nonce-456"),
            "exp" => assert!(claims["exp"].as_i64().unwrap() < now - 600),
            "iat" => assert!(claims["iat"].as_i64().unwrap() > now + 600),
            _ => assert_eq!(claims["acr"], "urn:ab:aca:forged"),
        }
        for other in ["iss", "aud", "nonce"] {
            if other != claim {
                let expected = match other {
                    "iss" => issuer.as_str(),
                    "aud" => CLIENT_ID,
                    _ => "nonce-456",
                };
                assert_eq!(claims[other], expected, "{fault:?} must not alter {other}");
            }
        }
        assert_eq!(claims["sub"], "ab-amelie-tremblay");
        assert_eq!(claims["azp"], CLIENT_ID);
    }
}

#[tokio::test]
async fn error_response_redirects_with_access_denied() {
    let issuer = start_provider(Some(Fault::ErrorResponse)).await;
    let request = AuthRequest::valid().set("login_hint", "ab-amelie-tremblay");
    let response = browser().get(request.url(&issuer)).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let answer = query_of(&location(&response));
    assert_eq!(answer["error"], "access_denied");
    assert_eq!(answer["state"], request.state);
    assert_eq!(answer["iss"], issuer);
    assert!(!answer.contains_key("code"));
}

#[tokio::test]
async fn token_endpoint_error_is_invalid_grant() {
    let issuer = start_provider(Some(Fault::TokenEndpointError)).await;
    let http = browser();
    let request = AuthRequest::valid();
    let answer = sign_in_with_hint(&http, &issuer, &request, "ab-amelie-tremblay").await;
    let response = redeem(&http, &issuer, &answer["code"], &request.verifier).await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn slow_token_answers_late_but_correctly() {
    let delay = Duration::from_millis(1200);
    let issuer = start_provider(Some(Fault::SlowToken(delay))).await;
    let http = browser();
    let request = AuthRequest::valid();
    let answer = sign_in_with_hint(&http, &issuer, &request, "ab-amelie-tremblay").await;
    let started = Instant::now();
    let response = redeem(&http, &issuer, &answer["code"], &request.verifier).await;
    assert!(started.elapsed() >= delay);
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    assert!(verifies_with(
        tokens["id_token"].as_str().unwrap(),
        &jwks(&issuer).await
    ));
}
