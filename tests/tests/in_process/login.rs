//! A brokered login over real HTTP: scripted relying party -> broker -> demo provider.
//! Test names follow the OpenID Foundation's OP certification tests where one applies.

use crate::common::audit::AuditLog;
use crate::common::*;
use serde_json::Value;

#[tokio::test]
async fn oidcc_discovery_and_jwks() {
    let bed = start(Options::default()).await;
    let d: Value = http()
        .get(format!(
            "{}/.well-known/openid-configuration",
            bed.broker_url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], bed.broker_url);
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        d["subject_types_supported"],
        serde_json::json!(["pairwise"])
    );
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert!(
        d["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a != "none" && !a.as_str().unwrap().starts_with("HS"))
    );
    let jwks: Value = http()
        .get(format!("{}/jwks.json", bed.broker_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in jwks["keys"].as_array().unwrap() {
        assert!(
            key.get("d").is_none() && key.get("p").is_none(),
            "private member published: {key}"
        );
        assert!(key["kid"].is_string());
    }
}

#[tokio::test]
async fn oidcc_server_rotate_free_full_login_through_the_picker() {
    let bed = start(Options::default()).await;
    let req = AuthRequest::new(RP, RP_REDIRECT);
    let claims = bed.login(&req, "ab-account").await;
    assert_eq!(claims["iss"], bed.broker_url);
    assert_eq!(claims["aud"], RP);
    assert_eq!(claims["nonce"], req.nonce.as_str());
    assert_eq!(claims["acr"], "urn:pctf:loa:2");
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    assert!(claims["txn"].is_string());
    assert_eq!(
        claims["sub"].as_str().unwrap().len(),
        43,
        "pairwise subject"
    );
    // Agreed and requested: released. Not requested (email) or not agreed (gender): absent.
    for c in ["given_name", "family_name", "birthdate", "address"] {
        assert!(claims.contains_key(c), "{c} missing from {claims:?}");
    }
    for c in ["email", "gender", "middle_name"] {
        assert!(
            !claims.contains_key(c),
            "{c} released without agreement or request"
        );
    }
    let v = &claims["verified_claims"];
    assert_eq!(v["verification"]["trust_framework"], "ca_pctf");
    assert_eq!(v["verification"]["attesting_jurisdiction"], "CA-AB");
    assert_eq!(v["claims"]["given_name"], claims["given_name"]);
}

#[tokio::test]
async fn idp_hint_skips_the_picker_and_claims_are_mapped() {
    let bed = start(Options::default()).await;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "CA-QC");
    let r = bed.http.get(req.url(&bed.broker_url)).send().await.unwrap();
    assert_eq!(
        r.status(),
        303,
        "a hint naming one provider goes straight upstream"
    );
    assert!(location(&r).starts_with(&bed.providers["qc-sqin"]));
    let claims = bed.login(&req, "qc-sqin").await;
    // Quebec's provider says "prenom"; the relying party sees given_name.
    assert!(claims["given_name"].is_string());
    assert!(!claims.contains_key("prenom"));
    assert_eq!(
        claims["verified_claims"]["verification"]["attesting_provider"],
        "qc-sqin"
    );
}

#[tokio::test]
async fn subjects_are_pairwise_per_sector() {
    let bed = start(Options::default()).await;
    let ei = bed
        .login(
            &AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account"),
            "ab-account",
        )
        .await;
    let again = bed
        .login(
            &AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account"),
            "ab-account",
        )
        .await;
    assert_eq!(ei["sub"], again["sub"], "stable for one service");
    let library = AuthRequest::new(
        "vpl-library-card",
        "http://127.0.0.1:8490/callback/vpl-library-card",
    )
    .with("idp_hint", "ab-account");
    let lib = bed.login(&library, "ab-account").await;
    assert_ne!(ei["sub"], lib["sub"], "two sectors must not correlate");
}

#[tokio::test]
async fn each_relying_party_gets_its_algorithm() {
    let bed = start(Options::default()).await;
    for (client, alg) in [
        ("vpl-library-card", "EdDSA"),
        ("cra-my-account", "RS256"),
        (RP, "ES256"),
    ] {
        let req = AuthRequest::new(client, &format!("http://127.0.0.1:8490/callback/{client}"))
            .with("idp_hint", "ab-account");
        let outcome = bed.browse(&req, "ab-account").await;
        let (status, body) = bed.redeem(&req, &outcome.params["code"], RP_SECRET).await;
        assert_eq!(status, 200, "{body}");
        let (_, header) = bed
            .verify_id_token(body["id_token"].as_str().unwrap())
            .await;
        assert_eq!(header["alg"], alg, "{client}");
    }
}

#[tokio::test]
async fn client_secret_post_for_the_client_that_registered_it() {
    let bed = start(Options::default()).await;
    let req = AuthRequest::new(
        "ab-student-aid",
        "http://127.0.0.1:8490/callback/ab-student-aid",
    )
    .with("idp_hint", "ab-account");
    let outcome = bed.browse(&req, "ab-account").await;
    let code = outcome.params["code"].clone();
    let http = http();
    let form = |secret: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("redirect_uri", req.redirect_uri.clone()),
            ("code_verifier", req.verifier.clone()),
            ("client_id", req.client_id.clone()),
            ("client_secret", secret.to_owned()),
        ]
    };
    // Basic is not the method this client registered: refused, and the code survives.
    let r = http
        .post(format!("{}/token", bed.broker_url))
        .basic_auth(&req.client_id, Some(RP_SECRET))
        .form(&form("")[..4])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(format!("{}/token", bed.broker_url))
        .form(&form(RP_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let (_, header) = bed
        .verify_id_token(body["id_token"].as_str().unwrap())
        .await;
    assert_eq!(header["alg"], "PS256");
}

#[tokio::test]
async fn oidcc_codereuse_a_code_is_redeemed_once() {
    let bed = start(Options::default()).await;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let outcome = bed.browse(&req, "ab-account").await;
    let code = &outcome.params["code"];
    assert_eq!(bed.redeem(&req, code, RP_SECRET).await.0, 200);
    let (status, body) = bed.redeem(&req, code, RP_SECRET).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn token_errors_follow_rfc6749_5_2() {
    let audit = AuditLog::capture();
    let bed = start(Options::default()).await;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let outcome = bed.browse(&req, "ab-account").await;
    let code = outcome.params["code"].clone();
    // Wrong secret: invalid_client, 401, and the code is not consumed by a failed authentication.
    let (status, body) = bed.redeem(&req, &code, "wrong").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // Wrong verifier: invalid_grant, and the code is gone (one try).
    let mut wrong = req.clone();
    wrong.verifier = rand_token();
    let (status, body) = bed.redeem(&wrong, &code, RP_SECRET).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("code_verifier")
    );
    assert_eq!(
        bed.redeem(&req, &code, RP_SECRET).await.1["error"],
        "invalid_grant"
    );

    // Wrong redirect_uri at the token endpoint.
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let outcome = bed.browse(&req, "ab-account").await;
    let mut other = req.clone();
    other.redirect_uri = "http://127.0.0.1:8490/elsewhere".into();
    let (status, body) = bed.redeem(&other, &outcome.params["code"], RP_SECRET).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Each spent code ends its login in the trail with the refusal: a wrong verifier may be
    // a stolen code. A failed authentication or a replay spends nothing and ends nothing.
    let first = audit.all("policy.decided")[0]["txn"].clone();
    let second = audit.all("policy.decided")[1]["txn"].clone();
    let refused = audit.all("token.refused");
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(refused[0]["txn"], first);
    assert_eq!(refused[0]["client"], RP);
    assert_eq!(refused[0]["error"], "invalid_grant");
    assert_eq!(
        refused[0]["reason"],
        "code_verifier does not match the code_challenge"
    );
    assert_eq!(refused[1]["txn"], second);
    assert_eq!(
        refused[1]["reason"],
        "redirect_uri does not match the authorization request"
    );
    assert!(audit.all("token.issued").is_empty());

    // Unsupported grant type and missing authentication.
    let http = http();
    let r = http
        .post(format!("{}/token", bed.broker_url))
        .basic_auth(RP, Some(RP_SECRET))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    let r = http
        .post(format!("{}/token", bed.broker_url))
        .form(&[("grant_type", "authorization_code")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn userinfo_needs_a_valid_access_token() {
    let bed = start(Options::default()).await;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "bc-services-card");
    let outcome = bed.browse(&req, "bc-services-card").await;
    let (_, body) = bed.redeem(&req, &outcome.params["code"], RP_SECRET).await;
    let (claims, _) = bed
        .verify_id_token(body["id_token"].as_str().unwrap())
        .await;
    let http = http();
    let info: Value = http
        .get(format!("{}/userinfo", bed.broker_url))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], claims["sub"]);
    // BC's provider calls it birth_date; the broker releases birthdate.
    assert_eq!(info["birthdate"], claims["birthdate"]);
    assert!(info["birthdate"].is_string());
    let r = http
        .get(format!("{}/userinfo", bed.broker_url))
        .bearer_auth("forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

async fn authorize(bed: &TestBed, url: String) -> reqwest::Response {
    bed.http.get(url).send().await.unwrap()
}

#[tokio::test]
async fn authorize_errors_before_the_client_is_trusted_are_pages_never_redirects() {
    let bed = start(Options::default()).await;
    let cases = [
        AuthRequest::new("nobody", RP_REDIRECT).url(&bed.broker_url),
        AuthRequest::new(
            RP,
            "https://attacker.example/cb\"><script>alert(1)</script>",
        )
        .url(&bed.broker_url),
        AuthRequest::new(RP, &format!("{RP_REDIRECT}/extra")).url(&bed.broker_url),
        format!(
            "{}&client_id={RP}",
            AuthRequest::new(RP, RP_REDIRECT).url(&bed.broker_url)
        ),
        format!("{}/authorize?response_type=code", bed.broker_url),
    ];
    for url in cases {
        let r = authorize(&bed, url.clone()).await;
        assert!(r.status().is_client_error(), "{url}: {}", r.status());
        assert!(r.headers().get("location").is_none(), "{url} redirected");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Sign-in stopped") && html.contains("lang=\"en\""),
            "{html}"
        );
        assert!(
            !html.contains("<script"),
            "input reflected unescaped into the page"
        );
    }
    // French when the browser prefers it.
    let r = bed
        .http
        .get(AuthRequest::new("nobody", RP_REDIRECT).url(&bed.broker_url))
        .header("accept-language", "fr-CA,fr;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Connexion interrompue"));
}

#[tokio::test]
async fn authorize_errors_after_the_client_is_trusted_are_redirected_with_state_and_iss() {
    let bed = start(Options::default()).await;
    let base = AuthRequest::new(RP, RP_REDIRECT);
    let cases: Vec<(String, &str)> = vec![
        (
            base.url(&bed.broker_url)
                .replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            base.url(&bed.broker_url).replace(
                "&code_challenge_method=S256",
                "&code_challenge_method=plain",
            ),
            "invalid_request",
        ),
        (
            base.url(&bed.broker_url)
                .replace("&code_challenge_method=S256", ""),
            "invalid_request",
        ),
        (
            base.url(&bed.broker_url)
                .replace("&code_challenge=", "&ignored="),
            "invalid_request",
        ),
        (
            base.url(&bed.broker_url).replace("&nonce=", "&ignored="),
            "invalid_request",
        ),
        (
            base.url(&bed.broker_url)
                .replace("scope=openid", "scope=xopenid"),
            "invalid_scope",
        ),
        (
            base.clone()
                .with("request", "eyJ.e30.")
                .url(&bed.broker_url),
            "request_not_supported",
        ),
        (
            base.clone()
                .with("acr_values", "urn:pctf:loa:4")
                .url(&bed.broker_url),
            "unmet_authentication_requirements",
        ),
        (
            base.clone().with("idp_hint", "CA-XX").url(&bed.broker_url),
            "invalid_request",
        ),
        (
            base.clone().with("prompt", "none").url(&bed.broker_url),
            "login_required",
        ),
    ];
    for (url, expected) in cases {
        let r = authorize(&bed, url.clone()).await;
        assert_eq!(r.status(), 303, "{url}");
        let to = location(&r);
        assert!(to.starts_with(RP_REDIRECT), "{to}");
        let q = query(&to);
        assert_eq!(q["error"], expected, "{url}: {q:?}");
        assert_eq!(q["state"], base.state);
        assert_eq!(q["iss"], bed.broker_url);
        assert!(!q["error_description"].is_empty());
        assert!(!q.contains_key("code"));
    }
}

#[tokio::test]
async fn a_higher_level_leaves_only_providers_certified_for_it() {
    let bed = start(Options::default()).await;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("acr_values", "urn:pctf:loa:3");
    let html = bed.page(req.url(&bed.broker_url)).await;
    assert!(html.contains("value=\"ab-account\"") && html.contains("value=\"qc-sqin\""));
    assert!(
        !html.contains("value=\"bc-services-card\""),
        "BC is certified at level 2 only"
    );
    let claims = bed.login(&req, "qc-sqin").await;
    assert_eq!(claims["acr"], "urn:pctf:loa:3");
}

#[tokio::test]
async fn the_callback_state_is_one_time_and_bound_to_the_browser() {
    let audit = AuditLog::capture();
    let bed = start(Options::default()).await;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let callback = bed.callback_from(&req, "ab-account").await;
    // Another browser presenting the callback gets a page and no code...
    let stranger = browser();
    let r = stranger.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    // ...and the state was consumed, so the right browser cannot finish either: fail closed.
    let r = bed.http.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400);
    // The login ends in the audit trail where the other browser presented it.
    assert_eq!(
        audit.names(),
        ["policy.decided", "upstream.sent", "callback.refused"]
    );
    let events = audit.events();
    assert_eq!(events[2]["txn"], events[0]["txn"]);
    assert_eq!(events[2]["reason"], "another browser");
}
