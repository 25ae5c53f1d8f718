//! Sessions and logout in the demo, over real HTTP: the provider's `sid`, its end-session
//! endpoint (RP-Initiated Logout 1.0, as the OP) and its back-channel logout tokens; the
//! relying service's sign-out through its "broker" and its back-channel logout receiver.
//!
//! As in `relying_service.rs`, a demo provider plays the broker for the relying service where a
//! whole exchange is tested (it is a valid OpenID Provider, and its logout tokens are signed as
//! the broker's are); a test JWKS plays it where tokens must be forged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers stop at the first failure

mod common;

use axum::Json;
use axum::routing::get;
use common::*;
use demo::jose::KeyPair;
use demo::provider::{ClientConfig, Fault};
use demo::relying_service::{RelyingServiceConfig, ServiceClient};
use serde_json::{Value, json};

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The post-logout redirect URI the test client's redirect URI (`…/callback`) allows.
const POST_LOGOUT: &str = "https://client.example/logout/callback";
const PERSON: &str = "ab-amelie-tremblay";

async fn id_token(issuer: &str) -> String {
    tokens_for(issuer, PERSON).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn sid_of(token: &str) -> String {
    decode(token).1["sid"].as_str().unwrap().to_owned()
}

async fn sessions_page(issuer: &str) -> String {
    http()
        .get(format!("{issuer}/sessions"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn logout_url(issuer: &str, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{issuer}/logout")).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

#[tokio::test]
async fn provider_id_tokens_carry_a_sid_per_sign_in_and_discovery_states_logout() {
    let issuer = start_provider(None).await;
    let d: Value = http()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["end_session_endpoint"], format!("{issuer}/logout"));
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);
    assert!(
        d["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&"sid".into())
    );

    let (first, second) = (id_token(&issuer).await, id_token(&issuer).await);
    assert!(verifies_with(&first, &jwks(&issuer).await));
    let (a, b) = (sid_of(&first), sid_of(&second));
    assert_eq!(a.len(), 43);
    assert_ne!(a, b, "each sign-in is a session of its own");
    let page = sessions_page(&issuer).await;
    assert!(page.contains(&a) && page.contains(&b), "{page}");
    assert!(page.contains("Amélie Tremblay"));
}

#[tokio::test]
async fn provider_end_session_redirects_with_state_and_ends_the_session() {
    let issuer = start_provider(None).await;
    let token = id_token(&issuer).await;
    let sid = sid_of(&token);
    let response = browser()
        .get(logout_url(
            &issuer,
            &[
                ("id_token_hint", token.as_str()),
                ("client_id", CLIENT_ID),
                ("post_logout_redirect_uri", POST_LOGOUT),
                ("state", "st-1"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("{POST_LOGOUT}?state=st-1"));
    assert!(
        !sessions_page(&issuer).await.contains(&sid),
        "the session ended"
    );

    // POST, without client_id (the hint names it) or a redirect: a page, in French.
    let token = id_token(&issuer).await;
    let sid = sid_of(&token);
    let response = browser()
        .post(format!("{issuer}/logout"))
        .form(&[("id_token_hint", token.as_str()), ("ui_locales", "fr-CA")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Votre session chez ce fournisseur est fermée"),
        "{html}"
    );
    assert!(!sessions_page(&issuer).await.contains(&sid));
}

#[tokio::test]
async fn provider_end_session_accepts_its_own_expired_hint() {
    let issuer = start_provider(Some(Fault::Expired)).await;
    let token = id_token(&issuer).await;
    assert!(decode(&token).1["exp"].as_i64().unwrap() < now());
    let response = browser()
        .get(logout_url(
            &issuer,
            &[
                ("id_token_hint", token.as_str()),
                ("post_logout_redirect_uri", POST_LOGOUT),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), POST_LOGOUT);
}

#[tokio::test]
async fn provider_end_session_refuses_an_unregistered_post_logout_redirect_uri() {
    let issuer = start_provider(None).await;
    let token = id_token(&issuer).await;
    let sid = sid_of(&token);
    for uri in [
        "https://attacker.example/",
        "https://client.example/logout/callback/more",
        "https://client.example/logout/callback?x=1",
        REDIRECT_URI,
    ] {
        let response = browser()
            .get(logout_url(
                &issuer,
                &[
                    ("id_token_hint", token.as_str()),
                    ("client_id", CLIENT_ID),
                    ("post_logout_redirect_uri", uri),
                    ("state", "st"),
                ],
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{uri}");
        assert!(response.headers().get("location").is_none(), "{uri}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("not registered for this service"),
            "{uri}: {html}"
        );
    }
    assert!(sessions_page(&issuer).await.contains(&sid), "nothing ended");
}

#[tokio::test]
async fn provider_end_session_refuses_a_bad_hint() {
    let issuer = start_provider(None).await;
    let other = start_provider(None).await;
    let token = id_token(&issuer).await;
    let sid = sid_of(&token);
    let foreign = id_token(&other).await;
    let mut tampered = token.clone();
    tampered.push('A');
    let mut parts = token.split('.');
    let (header, payload) = (parts.next().unwrap(), parts.next().unwrap());
    let unsigned = format!("{header}.{payload}.");
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("client_id", CLIENT_ID)], "no id_token_hint"),
        (&[("id_token_hint", foreign.as_str())], "did not issue"),
        (&[("id_token_hint", tampered.as_str())], "did not issue"),
        (&[("id_token_hint", unsigned.as_str())], "did not issue"),
        (&[("id_token_hint", "garbage")], "did not issue"),
        (
            &[
                ("id_token_hint", token.as_str()),
                ("client_id", "another-client"),
            ],
            "other than the one",
        ),
    ];
    for (params, message) in cases {
        let mut params = params.to_vec();
        params.push(("post_logout_redirect_uri", POST_LOGOUT));
        let response = browser()
            .get(logout_url(&issuer, &params))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{params:?}");
        assert!(response.headers().get("location").is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{params:?}: {html}");
    }
    // Bilingual: the same refusal in French.
    let html = browser()
        .get(logout_url(
            &issuer,
            &[("id_token_hint", foreign.as_str()), ("ui_locales", "fr")],
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("que ce fournisseur n&#39;a pas émise"),
        "{html}"
    );
    // A repeated parameter.
    let url = format!(
        "{}&state=a&state=b",
        logout_url(&issuer, &[("id_token_hint", token.as_str())])
    );
    assert_eq!(browser().get(url).send().await.unwrap().status(), 400);
    assert!(sessions_page(&issuer).await.contains(&sid), "nothing ended");
}

// --- the relying service, with a demo provider as its broker ---------------------------------

const SERVICE: &str = "esdc-employment-insurance";

struct Setup {
    issuer: String,
    rp: String,
}

async fn start_pair() -> Setup {
    let (rp_listener, rp) = bind().await;
    let (provider_listener, issuer) = bind().await;
    let mut config = provider_config(&issuer, None);
    config.clients = vec![ClientConfig {
        client_id: SERVICE.into(),
        client_secret: "secret-of-service".into(),
        redirect_uris: vec![format!("{rp}/callback/{SERVICE}")],
    }];
    spawn_provider(provider_listener, config);
    start_rp(rp_listener, &rp, &issuer);
    Setup { issuer, rp }
}

fn start_rp(listener: tokio::net::TcpListener, rp: &str, broker: &str) {
    let config = RelyingServiceConfig {
        broker_issuer: broker.to_owned(),
        public_url: rp.to_owned(),
        clients: vec![ServiceClient {
            client_id: SERVICE.into(),
            client_secret: "secret-of-service".into(),
            auth_method: "client_secret_basic".into(),
            redirect_uri: format!("{rp}/callback/{SERVICE}"),
            name_en: "Employment Insurance".into(),
            name_fr: "Assurance-emploi".into(),
        }],
    };
    tokio::spawn(demo::relying_service::serve(
        listener,
        config,
        std::future::pending(),
    ));
}

async fn follow(http: &reqwest::Client, url: &str) -> String {
    let response = http.get(url).send().await.unwrap();
    assert_eq!(
        response.status(),
        303,
        "{url}: {}",
        response.text().await.unwrap_or_default()
    );
    location(&response)
}

/// Signs in at the relying service with `login_hint`; returns the result page.
async fn sign_in(s: &Setup, http: &reqwest::Client) -> String {
    let authorize = follow(
        http,
        &format!("{}/login/{SERVICE}?login_hint={PERSON}", s.rp),
    )
    .await;
    let callback = follow(http, &authorize).await;
    let result = follow(http, &callback).await;
    http.get(format!("{}{result}", s.rp))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The `sid` the provider's sessions page lists (the only one).
async fn only_sid(issuer: &str) -> String {
    let page = sessions_page(issuer).await;
    let mut sids = page
        .split("name=\"sid\" value=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned());
    let sid = sids.next().expect("a session");
    assert!(sids.next().is_none(), "{page}");
    sid
}

#[tokio::test]
async fn rp_initiated_logout_through_the_broker_and_back() {
    let s = start_pair().await;
    let http = browser();
    let result = sign_in(&s, &http).await;
    assert!(
        result.contains(&format!("action=\"/logout/{SERVICE}\"")),
        "{result}"
    );
    assert!(!result.contains("eyJ"), "no raw token on the page");
    let sid = only_sid(&s.issuer).await;

    let response = http
        .post(format!("{}/logout/{SERVICE}", s.rp))
        .form(&[("lang", "fr")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let end_session = location(&response);
    assert!(
        end_session.starts_with(&format!("{}/logout?", s.issuer)),
        "{end_session}"
    );
    let q = query_of(&end_session);
    assert_eq!(q["client_id"], SERVICE);
    assert_eq!(
        q["post_logout_redirect_uri"],
        format!("{}/signed-out/{SERVICE}", s.rp)
    );
    assert_eq!(q["ui_locales"], "fr");
    assert!(q["state"].len() >= 43);
    assert_eq!(sid_of(&q["id_token_hint"]), sid, "the hint is the ID token");
    // The service's own session is over at once.
    assert_eq!(
        http.get(format!("{}/result", s.rp))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    let back = follow(&http, &end_session).await;
    assert_eq!(
        back,
        format!("{}/signed-out/{SERVICE}?state={}", s.rp, q["state"])
    );
    assert!(
        !sessions_page(&s.issuer).await.contains(&sid),
        "the provider's session ended"
    );
    // Another browser cannot use this state.
    let other = browser().get(&back).send().await.unwrap();
    assert_eq!(other.status(), 400);

    // The state was spent by the other browser's attempt: sign in and out again.
    sign_in(&s, &http).await;
    let response = http
        .post(format!("{}/logout/{SERVICE}", s.rp))
        .form(&[("lang", "fr")])
        .send()
        .await
        .unwrap();
    let back = follow(&http, &location(&response)).await;
    let page = http.get(&back).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"fr\">") && html.contains("Votre session est fermée"),
        "{html}"
    );
    assert!(html.contains("Assurance-emploi"));
    // One-time.
    assert_eq!(http.get(&back).send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn sign_out_at_the_provider_reaches_the_service_by_the_back_channel() {
    let s = start_pair().await;
    let http = browser();
    let result = sign_in(&s, &http).await;
    assert!(result.contains("You are signed in"), "{result}");
    let sid = only_sid(&s.issuer).await;

    let response = http
        .post(format!("{}/sessions/sign-out", s.issuer))
        .form(&[("sid", sid.as_str()), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("The service was told"), "{html}");

    let received = http
        .get(format!("{}/backchannel-logout/{SERVICE}/received", s.rp))
        .send()
        .await
        .unwrap();
    assert_eq!(received.headers()["cache-control"], "no-store");
    let received: Value = received.json().await.unwrap();
    let events = received["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{received}");
    assert_eq!(events[0]["sid"], sid.as_str());
    assert_eq!(events[0]["sub"], PERSON);
    assert!(events[0]["jti"].is_string() && events[0]["iat"].is_i64());

    let page = http
        .get(format!("{}/result", s.rp))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Signed out by the broker"), "{page}");
    assert!(!page.contains("Amélie"), "{page}");

    // The session is gone: signing it out again ends nothing and tells no one.
    let again = http
        .post(format!("{}/sessions/sign-out", s.issuer))
        .form(&[("sid", sid.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
}

#[tokio::test]
async fn an_undeliverable_logout_token_is_not_fatal() {
    let (provider_listener, issuer) = bind().await;
    let (dead, dead_url) = bind().await;
    drop(dead);
    let mut config = provider_config(&issuer, None);
    config.clients[0].redirect_uris = vec![format!("{dead_url}/callback")];
    spawn_provider(provider_listener, config);
    let http = browser();
    let request = AuthRequest::valid().set("redirect_uri", &format!("{dead_url}/callback"));
    let response = http
        .get(request.clone().set("login_hint", PERSON).url(&issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let sid = only_sid(&issuer).await;
    let response = http
        .post(format!("{issuer}/sessions/sign-out"))
        .form(&[("sid", sid.as_str()), ("lang", "fr")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("n&#39;a pas pu être avisé"), "{html}");
    assert!(html.contains("/backchannel-logout"), "{html}");
    assert!(!sessions_page(&issuer).await.contains(&sid), "ended anyway");
}

// --- the relying service's receiver, against a test broker whose key the test holds --------

struct TestBroker {
    issuer: String,
    key: KeyPair,
    rp: String,
}

async fn start_test_broker() -> TestBroker {
    let (listener, issuer) = bind().await;
    let key = KeyPair::generate("ES256").unwrap();
    let mut public = key.public_jwk();
    public.insert("kid".into(), "broker-1".into());
    let discovery = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks.json"),
        "end_session_endpoint": format!("{issuer}/logout"),
    });
    let jwks = json!({ "keys": [public] });
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route("/jwks.json", get(move || async move { Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (rp_listener, rp) = bind().await;
    start_rp(rp_listener, &rp, &issuer);
    TestBroker { issuer, key, rp }
}

impl TestBroker {
    fn claims(&self, jti: &str) -> Value {
        json!({
            "iss": self.issuer, "aud": SERVICE, "iat": now(), "exp": now() + 120,
            "jti": jti, "sid": "broker-sid-1", "sub": "pairwise-1",
            "events": { EVENT: {} },
        })
    }

    fn sign_with(&self, key: &KeyPair, claims: &Value) -> String {
        key.sign_jws(
            &json!({ "alg": "ES256", "typ": "logout+jwt", "kid": "broker-1" }),
            &serde_json::to_vec(claims).unwrap(),
        )
        .unwrap()
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_with(&self.key, claims)
    }

    async fn post(&self, token: &str) -> reqwest::Response {
        http()
            .post(format!("{}/backchannel-logout/{SERVICE}", self.rp))
            .form(&[("logout_token", token)])
            .send()
            .await
            .unwrap()
    }
}

async fn refused(response: reqwest::Response, description: &str) {
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    let text = body["error_description"].as_str().unwrap();
    assert!(text.contains(description), "{text}");
}

#[tokio::test]
async fn the_service_accepts_a_valid_logout_token_once() {
    let b = start_test_broker().await;
    let token = b.sign(&b.claims("jti-1"));
    let response = b.post(&token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    refused(b.post(&token).await, "received before").await;

    let received: Value = http()
        .get(format!("{}/backchannel-logout/{SERVICE}/received", b.rp))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(received["events"].as_array().unwrap().len(), 1);
    assert_eq!(received["events"][0]["sid"], "broker-sid-1");
    assert_eq!(received["events"][0]["sub"], "pairwise-1");
    assert_eq!(received["events"][0]["jti"], "jti-1");
}

#[tokio::test]
async fn the_service_refuses_forged_foreign_and_malformed_logout_tokens() {
    let b = start_test_broker().await;
    let forger = KeyPair::generate("ES256").unwrap();
    refused(
        b.post(&b.sign_with(&forger, &b.claims("f-1"))).await,
        "signature",
    )
    .await;

    let mut wrong_aud = b.claims("f-2");
    wrong_aud["aud"] = json!("cra-my-account");
    refused(b.post(&b.sign(&wrong_aud)).await, "aud").await;

    let mut with_nonce = b.claims("f-3");
    with_nonce["nonce"] = json!("n");
    refused(b.post(&b.sign(&with_nonce)).await, "nonce").await;

    let mut wrong_iss = b.claims("f-4");
    wrong_iss["iss"] = json!("http://impostor.example");
    refused(b.post(&b.sign(&wrong_iss)).await, "iss").await;

    let mut no_event = b.claims("f-5");
    no_event["events"] = json!({});
    refused(b.post(&b.sign(&no_event)).await, "event").await;

    let mut old = b.claims("f-6");
    old["iat"] = json!(now() - 3600);
    refused(b.post(&b.sign(&old)).await, "iat").await;

    let id_token = b
        .key
        .sign_jws(
            &json!({ "alg": "ES256", "typ": "JWT", "kid": "broker-1" }),
            &serde_json::to_vec(&b.claims("f-7")).unwrap(),
        )
        .unwrap();
    refused(b.post(&id_token).await, "logout+jwt").await;

    let missing = http()
        .post(format!("{}/backchannel-logout/{SERVICE}", b.rp))
        .form(&[("other", "x")])
        .send()
        .await
        .unwrap();
    refused(missing, "logout_token is required").await;

    let unknown = http()
        .post(format!("{}/backchannel-logout/nobody", b.rp))
        .form(&[("logout_token", b.sign(&b.claims("f-8")).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    // Nothing refused was recorded; a refused jti is still usable by the real token.
    let received: Value = http()
        .get(format!("{}/backchannel-logout/{SERVICE}/received", b.rp))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(received["events"], json!([]));
    assert_eq!(b.post(&b.sign(&b.claims("f-2"))).await.status(), 200);
}
