//! The code redemption at a provider's token endpoint (RFC 6749 4.1.3 with PKCE, RFC 7636
//! 4.5), and the request parameters of the authorization request that precedes it (OpenID
//! Connect Core 3.1.2.1).
//!
//! Both are a handful of form parameters; building them here instead of through
//! openidconnect's `Client` saves a copy of the provider's whole metadata and a parse of
//! every endpoint URL on each login, and reading the token response as the few members used
//! saves decoding the ID token into openidconnect's claim types (it is verified by
//! `super::validation`).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;

use super::{AuthorizationRequest, CodeRedemption, UpstreamError};

/// The authorization request's parameters (`trust_framework::upstream`, shared with the
/// conformance suite), appended to the provider's authorization endpoint (which may carry a
/// query of its own).
pub fn authorization_url(
    endpoint: &url::Url,
    client_id: &str,
    request: &AuthorizationRequest,
) -> url::Url {
    let mut url = endpoint.clone();
    let challenge = pkce_challenge(&request.pkce_verifier);
    url.query_pairs_mut()
        .extend_pairs(request.parameters(client_id, &challenge));
    url
}

/// RFC 7636 4.2: `BASE64URL(SHA256(verifier))`.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(crate::crypto::sha256(verifier.as_bytes()))
}

/// The form body of the code redemption.
pub fn redemption_body(redemption: &CodeRedemption<'_>) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", redemption.code)
        .append_pair("redirect_uri", redemption.redirect_uri)
        .append_pair("code_verifier", redemption.pkce_verifier)
        .finish()
}

/// `client_secret_basic` (RFC 6749 2.3.1): the id and the secret are form-urlencoded, then
/// joined by a colon and base64-encoded.
pub fn basic_authorization(client_id: &str, secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(client_id), encode(secret)))
    )
}

/// The members of a successful token response the broker uses (RFC 6749 5.1, OpenID Connect
/// Core 3.1.3.3). Debug shows neither token.
#[derive(Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: String,
    pub id_token: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("token_type", &self.token_type)
            .finish_non_exhaustive()
    }
}

/// An error response (RFC 6749 5.2).
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    error_description: Option<String>,
}

/// Reads the token endpoint's answer: the tokens of a 200 in JSON with a Bearer access token
/// and an ID token, or the provider's refusal (`Rejected`, naming its error code) from an
/// RFC 6749 error response; anything else is a provider that does not follow the protocol.
pub fn read_answer(
    status: reqwest::StatusCode,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Tokens, UpstreamError> {
    let invalid = |why: String| UpstreamError::InvalidIdToken(format!("token response: {why}"));
    if status != reqwest::StatusCode::OK {
        return match serde_json::from_slice::<ErrorAnswer>(body) {
            Ok(e) => Err(UpstreamError::Rejected(format!(
                "token endpoint: {}{}",
                e.error,
                e.error_description
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ))),
            Err(_) => Err(invalid(format!(
                "the token endpoint answered {status} without an OAuth error"
            ))),
        };
    }
    let json = content_type
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(invalid(format!(
            "the content type is {}, not application/json",
            content_type.unwrap_or("missing")
        )));
    }
    let tokens: Tokens =
        serde_json::from_slice(body).map_err(|e| invalid(format!("not a token response: {e}")))?;
    if !tokens.token_type.eq_ignore_ascii_case("bearer") {
        return Err(invalid(format!(
            "the token type is {:?}, not Bearer",
            tokens.token_type
        )));
    }
    if tokens.id_token.is_none() {
        return Err(UpstreamError::InvalidIdToken(
            "the token response has no id_token".into(),
        ));
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    /// RFC 7636 appendix B.
    #[test]
    fn the_pkce_challenge_is_the_rfc_example() {
        assert_eq!(
            super::pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    use super::*;

    #[test]
    fn the_authorization_request_says_everything_once() {
        let request = AuthorizationRequest {
            redirect_uri: "https://broker.example/callback".into(),
            state: "st".into(),
            nonce: "no".into(),
            pkce_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
            scopes: vec!["openid".into(), "profile".into(), "profile".into()],
            acr_values: vec!["urn:a".into(), "urn:b".into()],
            claims: Some(serde_json::json!({"id_token": {"given_name": null}})),
            login_hint: Some("amélie".into()),
            ui_locales: vec!["fr-CA".into(), "en-CA".into()],
            max_age: Some(0),
        };
        let endpoint = url::Url::parse("https://idp.example/auth?tenant=ab").unwrap();
        let url = authorization_url(&endpoint, "broker at idp", &request);
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| {
            let all: Vec<&str> = pairs
                .iter()
                .filter(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(all.len(), 1, "{k} in {pairs:?}");
            all[0].to_owned()
        };
        assert_eq!(get("tenant"), "ab");
        assert_eq!(get("response_type"), "code");
        assert_eq!(get("client_id"), "broker at idp");
        assert_eq!(get("redirect_uri"), "https://broker.example/callback");
        assert_eq!(get("scope"), "openid profile");
        assert_eq!(get("state"), "st");
        assert_eq!(get("nonce"), "no");
        // RFC 7636 appendix B.
        assert_eq!(
            get("code_challenge"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(get("code_challenge_method"), "S256");
        assert_eq!(get("acr_values"), "urn:a urn:b");
        assert_eq!(get("ui_locales"), "fr-CA en-CA");
        assert_eq!(get("login_hint"), "amélie");
        assert_eq!(get("claims"), r#"{"id_token":{"given_name":null}}"#);
        assert_eq!(get("prompt"), "login");
        assert_eq!(get("max_age"), "0");
        assert_eq!(url.path(), "/auth");

        let plain = AuthorizationRequest {
            max_age: Some(300),
            ..AuthorizationRequest::default()
        };
        let url = authorization_url(&endpoint, "c", &plain);
        let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        for absent in ["acr_values", "ui_locales", "login_hint", "claims", "prompt"] {
            assert!(!names.iter().any(|n| n == absent), "{absent} in {names:?}");
        }
        assert!(url.query_pairs().any(|(k, v)| k == "max_age" && v == "300"));
        assert!(
            url.query_pairs()
                .any(|(k, v)| k == "scope" && v == "openid")
        );
    }

    #[test]
    fn the_redemption_is_form_encoded_with_basic_credentials() {
        let body = redemption_body(&CodeRedemption {
            redirect_uri: "https://broker.example/callback",
            code: "c&d=e",
            pkce_verifier: "v",
            nonce: "n",
        });
        assert_eq!(
            body,
            "grant_type=authorization_code&code=c%26d%3De&redirect_uri=https%3A%2F%2Fbroker.example%2Fcallback&code_verifier=v"
        );
        // RFC 6749 2.3.1: form-urlencoded before base64 (a space is '+', a colon escaped).
        let header = basic_authorization("broker id", "s:cret");
        let decoded = STANDARD
            .decode(header.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(decoded, b"broker+id:s%3Acret");
    }

    #[test]
    fn token_answers_are_read_strictly() {
        let ok = reqwest::StatusCode::OK;
        let json = Some("application/json; charset=utf-8");
        let tokens = read_answer(
            ok,
            json,
            br#"{"access_token":"at","token_type":"bearer","id_token":"a.b.c","expires_in":60}"#,
        )
        .unwrap();
        assert_eq!(tokens.id_token.as_deref(), Some("a.b.c"));
        assert!(!format!("{tokens:?}").contains("at\""));

        let refused = read_answer(
            reqwest::StatusCode::BAD_REQUEST,
            json,
            br#"{"error":"invalid_grant","error_description":"code used"}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&refused, UpstreamError::Rejected(m) if m == "token endpoint: invalid_grant: code used"),
            "{refused}"
        );
        for (status, content_type, body, says) in [
            (
                reqwest::StatusCode::INTERNAL_SERVER_ERROR,
                json,
                &b"<html>oops</html>"[..],
                "without an OAuth error",
            ),
            (ok, Some("text/html"), &br#"{}"#[..], "text/html"),
            (ok, None, &br#"{}"#[..], "missing"),
            (ok, json, &b"[]"[..], "not a token response"),
            (
                ok,
                json,
                &br#"{"access_token":"at","token_type":"mac","id_token":"x"}"#[..],
                "not Bearer",
            ),
            (
                ok,
                json,
                &br#"{"access_token":"at","token_type":"Bearer"}"#[..],
                "no id_token",
            ),
        ] {
            let e = read_answer(status, content_type, body).unwrap_err();
            assert!(
                matches!(&e, UpstreamError::InvalidIdToken(m) if m.contains(says)),
                "{e} should say {says:?}"
            );
        }
    }
}
