//! Sessions and logout over real HTTP: a person confirmed once is not sent back to the
//! provider for the next service (unless the level, `max_age`, `prompt=login` or the browser
//! say otherwise), `prompt=none` answers as OpenID Connect Core 3.1.2.1 says, signing out ends
//! the session and tells every service it served (logout tokens to a receiver over HTTP,
//! verified with the broker's published keys), and a replayed code revokes its access token.
//! Test names follow the OpenID Foundation's OP certification tests where one applies.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use crate::common::audit::AuditLog;
use crate::common::*;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What a test service receives at its back-channel logout URI.
#[derive(Clone, Default)]
struct Receiver {
    tokens: Arc<Mutex<Vec<(String, String)>>>,
    /// How many of the next posts to each service fail with 500.
    failures: Arc<Mutex<std::collections::HashMap<String, u32>>>,
}

async fn receive(
    State(r): State<Receiver>,
    Path(client): Path<String>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> StatusCode {
    if let Some(n) = r.failures.lock().unwrap().get_mut(&client)
        && *n > 0
    {
        *n -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let Some(token) = form.get("logout_token") else {
        return StatusCode::BAD_REQUEST;
    };
    r.tokens.lock().unwrap().push((client, token.clone()));
    StatusCode::OK
}

impl Receiver {
    /// Serves `/logout/{client}` on loopback; returns its base URL.
    async fn serve(&self) -> String {
        let app = axum::Router::new()
            .route("/logout/{client}", axum::routing::post(receive))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    fn for_client(&self, client: &str) -> Vec<String> {
        self.tokens
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _)| c == client)
            .map(|(_, t)| t.clone())
            .collect()
    }

    /// Waits (a few seconds at most) for `n` tokens to `client`.
    async fn wait_for(&self, client: &str, n: usize) -> Vec<String> {
        for _ in 0..100 {
            let got = self.for_client(client);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{client} did not receive {n} logout tokens: {:?}",
            self.for_client(client)
        );
    }
}

/// A bed whose services post their logout tokens to `receiver`.
async fn bed_with_receiver(receiver: &Receiver) -> TestBed {
    let base = receiver.serve().await;
    start(Options {
        edit_registry: Some(Box::new(move |text: String| {
            text.replace(
                "http://127.0.0.1:8490/backchannel-logout/",
                &format!("{base}/logout/"),
            )
        })),
        ..Options::default()
    })
    .await
}

/// Signs in for `req` at `provider` (the picker or not) and redeems the code: the token
/// response.
async fn sign_in(bed: &TestBed, req: &AuthRequest, provider: &str) -> Value {
    let outcome = bed.browse(req, provider).await;
    assert_eq!(outcome.params.get("error"), None, "{:?}", outcome.params);
    let (status, body) = bed.redeem(req, &outcome.params["code"], RP_SECRET).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn id_claims(bed: &TestBed, tokens: &Value) -> serde_json::Map<String, Value> {
    bed.verify_id_token(tokens["id_token"].as_str().unwrap())
        .await
        .0
}

/// `/authorize` for `req`, not followed.
async fn authorize(bed: &TestBed, req: &AuthRequest) -> reqwest::Response {
    bed.http.get(req.url(&bed.broker_url)).send().await.unwrap()
}

#[tokio::test]
async fn a_second_login_is_served_from_the_session_without_the_provider() {
    let audit = AuditLog::capture();
    let bed = start(Options::default()).await;
    let first = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let tokens = sign_in(&bed, &first, "ab-account").await;
    let claims = id_claims(&bed, &tokens).await;
    let sid = claims["sid"].as_str().unwrap().to_owned();
    assert_eq!(sid.len(), 43);

    // The same browser, minutes later: the consent page at once (a session is not consent),
    // neither the picker nor the provider.
    bed.clock.advance(Duration::from_secs(300));
    let again = AuthRequest::new(RP, RP_REDIRECT);
    let r = authorize(&bed, &again).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("action=\"/consent\""), "{page}");
    let tokens = sign_in(&bed, &again, "ab-account").await;
    let second = id_claims(&bed, &tokens).await;
    assert_eq!(second["sid"], sid.as_str(), "the same session");
    assert_eq!(second["sub"], claims["sub"], "the same person");
    assert_eq!(
        second["auth_time"], claims["auth_time"],
        "the session's sign-in"
    );
    assert_eq!(second["acr"], claims["acr"]);
    assert_eq!(second["nonce"], again.nonce.as_str());
    // Two reuses: the page fetched above, then the login that went on.
    let reused = audit.all("session.reused");
    assert_eq!(reused.len(), 2);
    assert!(reused.iter().all(|e| e["sid"] == sid.as_str()));
    assert_eq!(audit.all("session.started").len(), 1);
    let scrape = bed.page(format!("{}/metrics", bed.broker_url)).await;
    assert!(
        scrape.contains("broker_sessions_reused_total 2"),
        "{scrape}"
    );
}

#[tokio::test]
async fn oidcc_prompt_none_answers_from_the_session_or_says_what_is_needed() {
    let bed = start(Options::default()).await;
    // No session: login_required, to the service, with its state and iss.
    let none = AuthRequest::new(RP, RP_REDIRECT)
        .with("prompt", "none")
        .with("idp_hint", "ab-account");
    let r = authorize(&bed, &none).await;
    assert_eq!(r.status(), 303);
    let q = query(&location(&r));
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["state"], none.state);
    assert_eq!(q["iss"], bed.broker_url);

    // prompt=none with another value is invalid.
    let both = AuthRequest::new(RP, RP_REDIRECT).with("prompt", "none login");
    let q = query(&location(&authorize(&bed, &both).await));
    assert_eq!(q["error"], "invalid_request");

    // A session, but no remembered consent: consent_required.
    let first = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let outcome = bed.browse(&first, "ab-account").await;
    assert!(outcome.params.contains_key("code"));
    let none = AuthRequest::new(RP, RP_REDIRECT).with("prompt", "none");
    let q = query(&location(&authorize(&bed, &none).await));
    assert_eq!(q["error"], "consent_required", "{q:?}");

    // Consent remembered: a code, with no page at all.
    let remember = AuthRequest::new(RP, RP_REDIRECT);
    let walk = e2e::rp::Walk {
        provider: "ab-account".into(),
        remember: true,
        ..e2e::rp::Walk::default()
    };
    let outcome = e2e::rp::browse(&bed.http, &bed.broker_url, &remember, &walk)
        .await
        .unwrap();
    assert!(outcome.params.contains_key("code"));
    let none = AuthRequest::new(RP, RP_REDIRECT).with("prompt", "none");
    let r = authorize(&bed, &none).await;
    let q = query(&location(&r));
    assert!(q.contains_key("code"), "{q:?}");
    let (status, body) = bed.redeem(&none, &q["code"], RP_SECRET).await;
    assert_eq!(status, 200, "{body}");

    // Another browser has no session: login_required.
    let elsewhere = browser();
    let none = AuthRequest::new(RP, RP_REDIRECT).with("prompt", "none");
    let r = elsewhere
        .get(none.url(&bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(query(&location(&r))["error"], "login_required");
}

#[tokio::test]
async fn oidcc_prompt_login_and_max_age_send_the_person_back_to_the_provider() {
    let audit = AuditLog::capture();
    let bed = start(Options::default()).await;
    let first = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let claims = id_claims(&bed, &sign_in(&bed, &first, "ab-account").await).await;
    let to_provider = |r: &reqwest::Response| {
        r.status() == 303 && location(r).starts_with(&bed.providers["ab-account"])
    };

    let login = AuthRequest::new(RP, RP_REDIRECT)
        .with("prompt", "login")
        .with("idp_hint", "ab-account");
    assert!(to_provider(&authorize(&bed, &login).await));
    assert_eq!(audit.one("session.not_reused")["reason"], "prompt_login");

    bed.clock.advance(Duration::from_secs(120));
    let fresh_enough = AuthRequest::new(RP, RP_REDIRECT).with("max_age", "600");
    assert_eq!(authorize(&bed, &fresh_enough).await.status(), 200);
    let too_old = AuthRequest::new(RP, RP_REDIRECT)
        .with("max_age", "60")
        .with("idp_hint", "ab-account");
    assert!(to_provider(&authorize(&bed, &too_old).await));

    // A new sign-in of the same person renews the session: same sid, newer auth_time.
    let renewed = AuthRequest::new(RP, RP_REDIRECT)
        .with("prompt", "login")
        .with("idp_hint", "ab-account");
    let again = id_claims(&bed, &sign_in(&bed, &renewed, "ab-account").await).await;
    assert_eq!(again["sid"], claims["sid"]);
    assert!(again["auth_time"].as_i64() > claims["auth_time"].as_i64());
}

#[tokio::test]
async fn a_level_2_session_is_not_reused_for_a_level_3_service() {
    let audit = AuditLog::capture();
    let bed = start(Options::default()).await;
    let first = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let claims = id_claims(&bed, &sign_in(&bed, &first, "ab-account").await).await;
    assert_eq!(claims["acr"], "urn:pctf:loa:2");
    let cra = AuthRequest::new(
        "cra-my-account",
        "http://127.0.0.1:8490/callback/cra-my-account",
    )
    .with("idp_hint", "ab-account");
    let r = authorize(&bed, &cra).await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with(&bed.providers["ab-account"]));
    assert_eq!(audit.one("session.not_reused")["reason"], "level_too_low");
}

#[tokio::test]
async fn a_session_is_never_reused_in_another_browser() {
    let bed = start(Options::default()).await;
    let first = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let callback = bed.callback_from(&first, "ab-account").await;
    let r = bed.http.get(&callback).send().await.unwrap();
    let session_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("pcb_session="))
        .and_then(|v| v.split(';').next())
        .expect("the callback starts a session")
        .to_owned();
    assert!(r.text().await.unwrap().contains("action=\"/consent\""));

    // The session's own cookie, in a browser with another binding cookie: not reused.
    let thief = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let r = thief
        .get(req.url(&bed.broker_url))
        .header(
            "cookie",
            format!("{session_cookie}; pcb_browser={}", rand_token()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with(&bed.providers["ab-account"]));
    // Nor without any binding cookie.
    let r = thief
        .get(req.url(&bed.broker_url))
        .header("cookie", session_cookie.clone())
        .send()
        .await
        .unwrap();
    assert!(location(&r).starts_with(&bed.providers["ab-account"]));
    // In the browser it started in, it is.
    assert_eq!(authorize(&bed, &req).await.status(), 200);
}

#[tokio::test]
async fn rp_initiated_logout_with_a_hint_ends_the_session_and_tells_every_service() {
    let audit = AuditLog::capture();
    let receiver = Receiver::default();
    let bed = bed_with_receiver(&receiver).await;
    let ei = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let tokens = sign_in(&bed, &ei, "ab-account").await;
    let claims = id_claims(&bed, &tokens).await;
    // The same session serves the library too (a second service, client_secret_basic).
    let access = tokens["access_token"].as_str().unwrap().to_owned();

    let back = "http://127.0.0.1:8490/signed-out/esdc-employment-insurance";
    let logout = format!(
        "{}/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
        bed.broker_url,
        tokens["id_token"].as_str().unwrap(),
        urlencoding(back)
    );
    let mut r = bed.http.get(&logout).send().await.unwrap();
    // Through the provider's sign-out, if it has one, and back to the service.
    for _ in 0..4 {
        if r.status() == 303 && location(&r).starts_with(back) {
            break;
        }
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        r = bed.http.get(location(&r)).send().await.unwrap();
    }
    assert_eq!(query(&location(&r))["state"], "bye");
    let ended = audit.one("session.ended");
    assert_eq!(ended["cause"], "logout");
    assert_eq!(ended["sid"], claims["sid"]);

    let got = receiver.wait_for(RP, 1).await;
    let (token, header) = bed.verify_id_token(&got[0]).await;
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(token["iss"], bed.broker_url);
    assert_eq!(token["aud"], RP);
    assert_eq!(token["sid"], claims["sid"]);
    assert_eq!(token["sub"], claims["sub"]);
    assert!(token["events"][EVENT].is_object());
    assert!(token.get("nonce").is_none());
    assert!(token["jti"].is_string());
    audit.one("logout.delivered");

    // Signed out: the next login goes back to the provider, and the access token still
    // works (logout ends the session, not what a service already holds).
    let next = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let r = authorize(&bed, &next).await;
    assert!(location(&r).starts_with(&bed.providers["ab-account"]));
    let info = http()
        .get(format!("{}/userinfo", bed.broker_url))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn logout_without_a_hint_asks_first_and_a_forged_form_changes_nothing() {
    let bed = start(Options::default()).await;
    let ei = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    sign_in(&bed, &ei, "ab-account").await;
    let page = bed.page(format!("{}/logout", bed.broker_url)).await;
    assert!(page.contains("action=\"/logout/confirm\""), "{page}");
    assert!(
        page.contains("Employment Insurance"),
        "names the services: {page}"
    );
    let csrf = e2e::rp::hidden(&page, "csrf").unwrap();

    // A forged answer: refused, and the session still serves.
    let r = bed
        .http
        .post(format!("{}/logout/confirm", bed.broker_url))
        .form(&[("csrf", "forged"), ("decision", "sign_out")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let still = AuthRequest::new(RP, RP_REDIRECT);
    assert_eq!(
        authorize(&bed, &still).await.status(),
        200,
        "still signed in"
    );

    // "Stay signed in" changes nothing either.
    let r = bed
        .http
        .post(format!("{}/logout/confirm", bed.broker_url))
        .form(&[("csrf", csrf.as_str()), ("decision", "stay")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(authorize(&bed, &still).await.status(), 200);

    // The person's own answer signs them out.
    let mut r = bed
        .http
        .post(format!("{}/logout/confirm", bed.broker_url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("decision", "sign_out"),
            ("lang", "fr"),
        ])
        .send()
        .await
        .unwrap();
    while r.status() == 303 {
        r = bed.http.get(location(&r)).send().await.unwrap();
    }
    let text = r.text().await.unwrap();
    assert!(text.contains("Votre session est fermée"), "{text}");
    let after = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    assert_eq!(authorize(&bed, &after).await.status(), 303);
}

#[tokio::test]
async fn a_forged_hint_or_an_unregistered_return_is_refused_and_ends_nothing() {
    let audit = AuditLog::capture();
    let bed = start(Options::default()).await;
    let ei = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let tokens = sign_in(&bed, &ei, "ab-account").await;
    let claims = id_claims(&bed, &tokens).await;
    // The same claims, signed by someone else.
    let forged = TestKey::es256().sign("forger", &Value::Object(claims.clone()));
    let outside = e2e::rp::browser().unwrap();
    for url in [
        format!("{}/logout?id_token_hint={forged}", bed.broker_url),
        format!(
            "{}/logout?id_token_hint={}&post_logout_redirect_uri={}",
            bed.broker_url,
            tokens["id_token"].as_str().unwrap(),
            urlencoding("https://attacker.example/")
        ),
        format!(
            "{}/logout?client_id=vpl-library-card&id_token_hint={}",
            bed.broker_url,
            tokens["id_token"].as_str().unwrap()
        ),
        format!(
            "{}/logout?post_logout_redirect_uri={}",
            bed.broker_url,
            urlencoding("http://127.0.0.1:8490/signed-out/esdc-employment-insurance")
        ),
    ] {
        for client in [&bed.http, &outside] {
            let r = client.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 400, "{url}");
            assert!(r.headers().get("location").is_none());
        }
    }
    assert!(audit.all("session.ended").is_empty());
    assert!(!audit.all("logout.refused").is_empty());
    // Nothing changed: not even the browser that sent the refused requests is signed out
    // (a link on another site cannot sign anyone out).
    let another = AuthRequest::new(RP, RP_REDIRECT);
    assert_eq!(
        authorize(&bed, &another).await.status(),
        200,
        "still signed in"
    );
}

#[tokio::test]
async fn a_dead_service_does_not_hold_up_the_others_and_a_retry_delivers() {
    let audit = AuditLog::capture();
    let receiver = Receiver::default();
    receiver.failures.lock().unwrap().insert(RP.into(), 1);
    let bed = bed_with_receiver(&receiver).await;
    let ei = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let tokens = sign_in(&bed, &ei, "ab-account").await;
    let r = bed
        .http
        .get(format!(
            "{}/logout?id_token_hint={}",
            bed.broker_url,
            tokens["id_token"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status() == 303 || r.status() == 200);
    // The first try failed (500); the retry is due five seconds later by the broker's clock.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.for_client(RP).is_empty());
    bed.clock.advance(Duration::from_secs(6));
    receiver.wait_for(RP, 1).await;
    assert_eq!(audit.one("logout.delivered")["attempt"], 2);
}

#[tokio::test]
async fn forged_or_foreign_provider_logout_tokens_end_nothing() {
    let audit = AuditLog::capture();
    let bed = start(Options::default()).await;
    let ei = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    sign_in(&bed, &ei, "ab-account").await;
    let now = NOW.unix_timestamp();
    let forged = TestKey::es256().sign(
        "not-the-providers",
        &serde_json::json!({
            "iss": bed.providers["ab-account"], "aud": "pan-canadian-broker", "iat": now,
            "jti": "j1", "sub": "anyone", "events": { EVENT: {} },
        }),
    );
    let foreign = TestKey::es256().sign(
        "k",
        &serde_json::json!({
            "iss": "https://unknown.example", "aud": "pan-canadian-broker", "iat": now,
            "jti": "j2", "sub": "anyone", "events": { EVENT: {} },
        }),
    );
    for body in [
        format!("logout_token={forged}"),
        format!("logout_token={foreign}"),
        "logout_token=not-a-jwt".to_owned(),
        String::new(),
        format!("logout_token={forged}&logout_token={forged}"),
    ] {
        let r = http()
            .post(format!("{}/backchannel-logout", bed.broker_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"], "invalid_request");
    }
    assert!(audit.all("session.ended").is_empty());
    assert_eq!(audit.all("provider.logout.refused").len(), 5);
    let again = AuthRequest::new(RP, RP_REDIRECT);
    assert_eq!(
        authorize(&bed, &again).await.status(),
        200,
        "still signed in"
    );
}

#[tokio::test]
async fn oidcc_codereuse_revokes_the_access_token_of_the_first_redemption() {
    let audit = AuditLog::capture();
    let bed = start(Options::default()).await;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let outcome = bed.browse(&req, "ab-account").await;
    let code = outcome.params["code"].clone();
    let (status, body) = bed.redeem(&req, &code, RP_SECRET).await;
    assert_eq!(status, 200);
    let access = body["access_token"].as_str().unwrap().to_owned();
    let userinfo = || {
        http()
            .get(format!("{}/userinfo", bed.broker_url))
            .bearer_auth(&access)
            .send()
    };
    assert_eq!(userinfo().await.unwrap().status(), 200);
    let (status, body) = bed.redeem(&req, &code, RP_SECRET).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(userinfo().await.unwrap().status(), 401);
    audit.one("token.revoked");
}

#[tokio::test]
async fn a_store_failure_in_the_middle_of_a_logout_leaves_the_person_signed_out() {
    let store = Arc::new(crate::common::failing_store::FailingStore::default());
    let bed = start(Options {
        store: Some(store.clone()),
        ..Options::default()
    })
    .await;
    let ei = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let tokens = sign_in(&bed, &ei, "ab-account").await;
    // The session is taken, then the logout tokens cannot be queued.
    store.fail_writes_of(broker::store::Kind::LogoutDelivery);
    let r = bed
        .http
        .get(format!(
            "{}/logout?id_token_hint={}&ui_locales=fr",
            bed.broker_url,
            tokens["id_token"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let cleared = r.headers().get_all("set-cookie").iter().any(|v| {
        v.to_str().unwrap().starts_with("pcb_session=;")
            && v.to_str().unwrap().contains("Max-Age=0")
    });
    assert!(
        cleared,
        "the session cookie is cleared whatever the store said"
    );
    let page = r.text().await.unwrap();
    assert!(page.contains("Votre session est fermée"), "{page}");
    store.heal();
    // Signed out: never signed in again by the session.
    let next = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let r = authorize(&bed, &next).await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with(&bed.providers["ab-account"]));
}

#[tokio::test]
async fn a_sign_out_at_the_provider_ends_the_brokers_session_and_tells_its_services() {
    let audit = AuditLog::capture();
    let receiver = Receiver::default();
    let bed = bed_with_receiver(&receiver).await;
    let ei = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let tokens = sign_in(&bed, &ei, "ab-account").await;
    let claims = id_claims(&bed, &tokens).await;
    // The provider's own page of its sessions: signing out there sends the broker a logout
    // token for the provider's session, signed with the provider's key.
    let provider = &bed.providers["ab-account"];
    let page = bed.page(format!("{provider}/sessions")).await;
    let sid = e2e::rp::hidden(&page, "sid").unwrap();
    let r = bed
        .http
        .post(format!("{provider}/sessions/sign-out"))
        .form(&[("sid", sid.as_str()), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().is_redirection());
    let ended = audit.one("session.ended");
    assert_eq!(ended["cause"], "provider_logout");
    assert_eq!(ended["sid"], claims["sid"]);
    assert_eq!(audit.one("provider.logout")["sessions"], 1);
    let got = receiver.wait_for(RP, 1).await;
    let (token, _) = bed.verify_id_token(&got[0]).await;
    assert_eq!(token["sid"], claims["sid"]);
    // The broker's session is gone: prompt=none finds none.
    let none = AuthRequest::new(RP, RP_REDIRECT).with("prompt", "none");
    assert_eq!(
        query(&location(&authorize(&bed, &none).await))["error"],
        "login_required"
    );
}
