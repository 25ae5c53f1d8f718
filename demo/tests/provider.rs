//! The demo provider over real HTTP. Test names follow the OpenID Foundation's OP conformance
//! tests (oidcc-*) where one matches.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers stop at the first failure

mod common;

use common::*;
use demo::provider::{ProviderConfig, router};
use serde_json::Value;

#[tokio::test]
async fn oidcc_discovery_states_issuer_and_capabilities() {
    let issuer = start_provider(None).await;
    let response = common::http()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let d: Value = response.json().await.unwrap();
    assert_eq!(d["issuer"], issuer.as_str());
    assert_eq!(d["authorization_endpoint"], format!("{issuer}/authorize"));
    assert_eq!(d["token_endpoint"], format!("{issuer}/token"));
    assert_eq!(d["userinfo_endpoint"], format!("{issuer}/userinfo"));
    assert_eq!(d["jwks_uri"], format!("{issuer}/jwks"));
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(d["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(d["acr_values_supported"], serde_json::json!(ACR_VALUES));
    assert_eq!(d["claims_parameter_supported"], true);
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert!(
        d["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&"authorization_code".into())
    );
    assert!(
        d["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&"openid".into())
    );
    assert!(
        d["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&"given_name".into())
    );

    let keys = jwks(&issuer).await;
    let key = &keys["keys"][0];
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("EC"), Some("P-256"), Some("ES256"))
    );
    assert!(key["kid"].is_string());
    assert!(
        key.get("d").is_none(),
        "the JWKS must not publish the private key"
    );
}

#[tokio::test]
async fn claims_supported_uses_the_providers_claim_names() {
    let (listener, issuer) = bind().await;
    let mut config = provider_config(&issuer, None);
    config
        .claim_names
        .insert("given_name".into(), "prenom".into());
    spawn_provider(listener, config);
    let d: Value = common::http()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let claims = d["claims_supported"].as_array().unwrap();
    assert!(claims.contains(&"prenom".into()));
    assert!(!claims.contains(&"given_name".into()));
}

#[tokio::test]
async fn oidcc_server_code_flow_with_login_hint() {
    let issuer = start_provider(None).await;
    let http = browser();
    let request = AuthRequest::valid().set("acr_values", "urn:unknown urn:ab:aca:verified");
    let answer = sign_in_with_hint(&http, &issuer, &request, "ab-amelie-tremblay").await;
    assert_eq!(answer["state"], request.state);
    assert_eq!(answer["iss"], issuer);
    let response = redeem(&http, &issuer, &answer["code"], &request.verifier).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["expires_in"].as_i64().unwrap() > 0);
    let id_token = tokens["id_token"].as_str().unwrap();
    assert!(verifies_with(id_token, &jwks(&issuer).await));
    let (header, claims, _) = decode(id_token);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["sub"], "ab-amelie-tremblay");
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["azp"], CLIENT_ID);
    assert_eq!(claims["nonce"], request.nonce);
    assert_eq!(claims["acr"], "urn:ab:aca:verified");
    let now = now();
    assert!((now - 5..=now + 5).contains(&claims["iat"].as_i64().unwrap()));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert!(claims["auth_time"].is_i64());
    assert_eq!(claims["given_name"], "Amélie");
    assert_eq!(claims["address"]["locality"], "Edmonton");
    assert_eq!(claims["email"], "amelie.tremblay@example.ca");
    assert!(
        claims.get("phone_number").is_none(),
        "phone was not requested"
    );

    // oidcc-userinfo-get and oidcc-userinfo-post-header
    let access_token = tokens["access_token"].as_str().unwrap();
    for post in [false, true] {
        let url = format!("{issuer}/userinfo");
        let builder = if post {
            http.post(&url)
        } else {
            http.get(&url)
        };
        let userinfo: Value = builder
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(userinfo["sub"], "ab-amelie-tremblay");
        assert_eq!(userinfo["family_name"], "Tremblay");
    }
    let refused = http
        .get(format!("{issuer}/userinfo"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(
        refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
}

#[tokio::test]
async fn code_flow_through_the_login_page() {
    let issuer = start_provider(None).await;
    let http = browser();
    let request = AuthRequest::valid().set("ui_locales", "fr-CA");
    let page = http.get(request.url(&issuer)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"fr\">"),
        "ui_locales=fr-CA gives French"
    );
    assert!(html.contains("Compte Alberta.ca (test)"));
    assert!(html.contains("Se connecter en tant que"));
    assert!(html.contains("ab-daniel-okafor"));
    assert!(
        !html.contains(&request.state),
        "the raw parameters stay on the server"
    );
    assert!(!html.contains("<script"));
    let pending = html
        .split("name=\"pending\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

    // The same page in English.
    let english = http
        .get(format!("{issuer}/login?pending={pending}&lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("<html lang=\"en\">") && english.contains("Sign in as"));
    let style = http
        .get(format!("{issuer}/style.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(style.headers()["content-type"], "text/css; charset=utf-8");

    let response = http
        .post(format!("{issuer}/login"))
        .form(&[
            ("pending", pending.as_str()),
            ("person", "ab-daniel-okafor"),
            ("lang", "fr"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let answer = query_of(&location(&response));
    assert_eq!(answer["state"], request.state);
    assert_eq!(answer["iss"], issuer);
    let tokens: Value = redeem(&http, &issuer, &answer["code"], &request.verifier)
        .await
        .json()
        .await
        .unwrap();
    let (_, claims, _) = decode(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "ab-daniel-okafor");
    assert_eq!(claims["acr"], ACR_VALUES[0], "no acr_values: the weakest");

    // The pending request is one-time.
    let again = http
        .post(format!("{issuer}/login"))
        .form(&[
            ("pending", pending.as_str()),
            ("person", "ab-daniel-okafor"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
}

#[tokio::test]
async fn cancel_on_the_login_page_returns_access_denied() {
    let issuer = start_provider(None).await;
    let http = browser();
    let request = AuthRequest::valid();
    let html = http
        .get(request.url(&issuer))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let pending = html
        .split("name=\"pending\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let response = http
        .post(format!("{issuer}/login"))
        .form(&[("pending", pending.as_str()), ("cancel", "1")])
        .send()
        .await
        .unwrap();
    let answer = query_of(&location(&response));
    assert_eq!(answer["error"], "access_denied");
    assert_eq!(answer["state"], request.state);
    assert_eq!(answer["iss"], issuer);
}

#[tokio::test]
async fn oidcc_ensure_registered_redirect_uri_shown_as_a_page() {
    let issuer = start_provider(None).await;
    let http = browser();
    for request in [
        AuthRequest::valid().set("redirect_uri", "https://attacker.example/callback"),
        AuthRequest::valid().set("redirect_uri", &format!("{REDIRECT_URI}/")),
        AuthRequest::valid().without("redirect_uri"),
        AuthRequest::valid().set("client_id", "unknown-client"),
    ] {
        let response = http.get(request.url(&issuer)).send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert!(response.headers().get("location").is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("Request refused") && html.contains("<html lang=\"en\">"));
    }
}

#[tokio::test]
async fn missing_or_plain_pkce_is_refused() {
    let issuer = start_provider(None).await;
    let http = browser();
    for request in [
        AuthRequest::valid().without("code_challenge"),
        AuthRequest::valid().without("code_challenge_method"),
        AuthRequest::valid().set("code_challenge_method", "plain"),
        AuthRequest::valid().without("nonce"),
    ] {
        let response = http
            .get(request.set("login_hint", "ab-amelie-tremblay").url(&issuer))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        let answer = query_of(&location(&response));
        assert_eq!(answer["error"], "invalid_request");
        assert_eq!(answer["state"], "state-123");
        assert_eq!(answer["iss"], issuer);
        assert!(!answer.contains_key("code"));
    }
    let no_openid = AuthRequest::valid().set("scope", "profile");
    let answer = query_of(&location(
        &http.get(no_openid.url(&issuer)).send().await.unwrap(),
    ));
    assert_eq!(answer["error"], "invalid_scope");
    let token = AuthRequest::valid().set("response_type", "token");
    let answer = query_of(&location(
        &http.get(token.url(&issuer)).send().await.unwrap(),
    ));
    assert_eq!(answer["error"], "unsupported_response_type");
}

#[tokio::test]
async fn oidcc_codereuse_is_refused() {
    let issuer = start_provider(None).await;
    let http = browser();
    let request = AuthRequest::valid();
    let answer = sign_in_with_hint(&http, &issuer, &request, "ab-sarah-cardinal").await;
    assert_eq!(
        redeem(&http, &issuer, &answer["code"], &request.verifier)
            .await
            .status(),
        200
    );
    let replay = redeem(&http, &issuer, &answer["code"], &request.verifier).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(replay.headers()["cache-control"], "no-store");
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn wrong_pkce_verifier_is_refused_and_burns_the_code() {
    let issuer = start_provider(None).await;
    let http = browser();
    let request = AuthRequest::valid();
    let answer = sign_in_with_hint(&http, &issuer, &request, "ab-amelie-tremblay").await;
    let wrong = redeem(
        &http,
        &issuer,
        &answer["code"],
        "another-verifier-0123456789-0123456789-0123",
    )
    .await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let right = redeem(&http, &issuer, &answer["code"], &request.verifier).await;
    assert_eq!(
        right.status(),
        400,
        "a code is taken once, whatever the outcome"
    );
}

#[tokio::test]
async fn redirect_uri_must_match_at_the_token_endpoint() {
    let issuer = start_provider(None).await;
    let http = browser();
    let request = AuthRequest::valid();
    let answer = sign_in_with_hint(&http, &issuer, &request, "ab-amelie-tremblay").await;
    let response = http
        .post(format!("{issuer}/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &answer["code"]),
            ("redirect_uri", "https://client.example/other"),
            ("code_verifier", &request.verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn bad_client_secret_is_refused() {
    let issuer = start_provider(None).await;
    let http = browser();
    let request = AuthRequest::valid();
    let answer = sign_in_with_hint(&http, &issuer, &request, "ab-amelie-tremblay").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", answer["code"].as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", request.verifier.as_str()),
    ];
    let basic = http
        .post(format!("{issuer}/token"))
        .basic_auth(CLIENT_ID, Some("wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert!(
        basic.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(
        basic.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let mut posted = form.to_vec();
    posted.extend([("client_id", CLIENT_ID), ("client_secret", "wrong")]);
    let post = http
        .post(format!("{issuer}/token"))
        .form(&posted)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 401);
    assert_eq!(
        post.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let none = http
        .post(format!("{issuer}/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
}

#[tokio::test]
async fn oidcc_client_secret_post_is_accepted() {
    let issuer = start_provider(None).await;
    let http = browser();
    let request = AuthRequest::valid();
    let answer = sign_in_with_hint(&http, &issuer, &request, "ab-amelie-tremblay").await;
    let response = http
        .post(format!("{issuer}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", answer["code"].as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", request.verifier.as_str()),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn oidcc_claims_parameter_and_mapped_claim_names() {
    let (listener, issuer) = bind().await;
    let mut config: ProviderConfig = provider_config(&issuer, None);
    config
        .claim_names
        .insert("given_name".into(), "prenom".into());
    config
        .claim_names
        .insert("phone_number".into(), "telephone".into());
    spawn_provider(listener, config);
    let http = browser();
    let claims = r#"{"id_token":{"prenom":{"essential":true},"acr":{"values":["urn:ab:aca:verified-mfa"]}},"userinfo":{"telephone":null}}"#;
    let request = AuthRequest::valid()
        .set("scope", "openid")
        .set("claims", claims);
    let answer = sign_in_with_hint(&http, &issuer, &request, "ab-daniel-okafor").await;
    let tokens: Value = redeem(&http, &issuer, &answer["code"], &request.verifier)
        .await
        .json()
        .await
        .unwrap();
    let (_, id, _) = decode(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["prenom"], "Daniel");
    assert_eq!(id["telephone"], "+1 403 555 0187");
    assert_eq!(id["acr"], "urn:ab:aca:verified-mfa");
    assert!(
        id.get("given_name").is_none() && id.get("family_name").is_none(),
        "{id}"
    );
    let userinfo: Value = http
        .get(format!("{issuer}/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["telephone"], "+1 403 555 0187");
    assert_eq!(userinfo["sub"], "ab-daniel-okafor");
}

#[tokio::test]
async fn repeated_parameters_and_bad_configs_are_refused() {
    let issuer = start_provider(None).await;
    let url = format!("{}&state=again", AuthRequest::valid().url(&issuer));
    let response = browser().get(url).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());

    let mut config = provider_config("http://127.0.0.1:1/", None);
    assert!(router(config.clone()).is_err(), "trailing slash");
    config.issuer = "http://127.0.0.1:1".into();
    config.persons.push(config.persons[0].clone());
    assert!(router(config).is_err(), "duplicate person");
}
