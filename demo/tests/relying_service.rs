//! The demo relying service signing in through the demo provider acting as its "broker" (the
//! provider is a valid OpenID Provider), over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers stop at the first failure

mod common;

use common::*;
use demo::provider::{ClientConfig, Fault};
use demo::relying_service::{RelyingServiceConfig, ServiceClient};

const BASIC: &str = "esdc-employment-insurance";
const POST: &str = "ab-student-aid";

struct Setup {
    issuer: String,
    rp: String,
}

async fn start(fault: Option<Fault>) -> Setup {
    let (rp_listener, rp) = bind().await;
    let (provider_listener, issuer) = bind().await;
    let clients = [(BASIC, "client_secret_basic"), (POST, "client_secret_post")];
    let mut config = provider_config(&issuer, fault);
    config.clients = clients
        .iter()
        .map(|(id, _)| ClientConfig {
            client_id: id.to_string(),
            client_secret: format!("secret-of-{id}"),
            redirect_uris: vec![format!("{rp}/callback/{id}")],
        })
        .collect();
    spawn_provider(provider_listener, config);
    let service = RelyingServiceConfig {
        broker_issuer: issuer.clone(),
        public_url: rp.clone(),
        clients: clients
            .iter()
            .map(|(id, method)| ServiceClient {
                client_id: id.to_string(),
                client_secret: format!("secret-of-{id}"),
                auth_method: method.to_string(),
                redirect_uri: format!("{rp}/callback/{id}"),
                name_en: format!("Service {id}"),
                name_fr: format!("Service {id} (fr)"),
            })
            .collect(),
    };
    tokio::spawn(demo::relying_service::serve(
        rp_listener,
        service,
        std::future::pending(),
    ));
    Setup { issuer, rp }
}

/// GET `url`, expecting a redirect; returns its target.
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

fn pending_id(html: &str) -> String {
    html.split("name=\"pending\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn sign_in_through_the_login_page() {
    let s = start(None).await;
    let http = browser();
    let index = http.get(format!("{}/", s.rp)).send().await.unwrap();
    assert_eq!(index.status(), 200);
    assert!(
        index.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = index.text().await.unwrap();
    assert!(html.contains("Service esdc-employment-insurance"));
    assert!(html.contains("urn:pctf:loa:4"));
    assert!(html.contains(&format!("action=\"/login/{BASIC}\"")));
    assert!(html.contains("<label for=\"acr-0\">"));

    let authorize = follow(
        &http,
        &format!(
            "{}/login/{BASIC}?acr_values=urn%3Aab%3Aaca%3Averified",
            s.rp
        ),
    )
    .await;
    assert!(
        authorize.starts_with(&format!("{}/authorize?", s.issuer)),
        "{authorize}"
    );
    let q = query_of(&authorize);
    assert_eq!(q["client_id"], BASIC);
    assert_eq!(q["redirect_uri"], format!("{}/callback/{BASIC}", s.rp));
    assert_eq!(q["scope"], "openid profile address email");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["ui_locales"], "en");
    assert_eq!(q["acr_values"], "urn:ab:aca:verified");
    assert!(q["state"].len() >= 43 && q["nonce"].len() >= 43 && q["code_challenge"].len() == 43);
    assert!(
        !q.contains_key("idp_hint"),
        "empty fields are not passed on"
    );

    let page = http
        .get(&authorize)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = http
        .post(format!("{}/login", s.issuer))
        .form(&[
            ("pending", pending_id(&page).as_str()),
            ("person", "ab-amelie-tremblay"),
        ])
        .send()
        .await
        .unwrap();
    let callback = location(&response);
    assert!(
        callback.starts_with(&format!("{}/callback/{BASIC}?", s.rp)),
        "{callback}"
    );
    let result = follow(&http, &callback).await;
    assert_eq!(result, "/result?lang=en");
    let page = http.get(format!("{}{result}", s.rp)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("You are signed in"), "{html}");
    assert!(html.contains("Amélie"), "the verified given name");
    assert!(html.contains("Tremblay"));
    assert!(
        html.contains("10215 97 Street NW<br>Edmonton AB  T5J 2N9<br>Canada"),
        "{html}"
    );
    assert!(html.contains("urn:ab:aca:verified"), "the acr");
    assert!(html.contains("ab-amelie-tremblay"), "the sub");
    assert!(
        html.contains("&quot;alg&quot;: &quot;ES256&quot;"),
        "the decoded header"
    );
    assert!(!html.contains("secret-of-"), "no secret");
    assert!(!html.contains("eyJ"), "no raw token");

    // The result page in French.
    let french = http
        .get(format!("{}/result?lang=fr", s.rp))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        french.contains("<html lang=\"fr\">")
            && french.contains("Connexion réussie")
            && french.contains("Prénom")
    );

    // The callback is one-time.
    let replay = http.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), 400);
}

#[tokio::test]
async fn sign_in_with_login_hint_in_french_and_client_secret_post() {
    let s = start(None).await;
    let http = browser();
    let authorize = follow(
        &http,
        &format!(
            "{}/login/{POST}?lang=fr&login_hint=ab-daniel-okafor&idp_hint=CA-AB",
            s.rp
        ),
    )
    .await;
    let q = query_of(&authorize);
    assert_eq!(q["ui_locales"], "fr");
    assert_eq!(q["idp_hint"], "CA-AB");
    assert_eq!(q["login_hint"], "ab-daniel-okafor");
    let callback = follow(&http, &authorize).await;
    let result = follow(&http, &callback).await;
    assert_eq!(result, "/result?lang=fr");
    let html = http
        .get(format!("{}{result}", s.rp))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"fr\">"));
    assert!(
        html.contains("Daniel") && html.contains("Service ab-student-aid (fr)"),
        "{html}"
    );
}

#[tokio::test]
async fn a_refusal_from_the_broker_is_shown() {
    let s = start(Some(Fault::ErrorResponse)).await;
    let http = browser();
    let authorize = follow(&http, &format!("{}/login/{BASIC}", s.rp)).await;
    let callback = follow(&http, &authorize).await;
    let page = http.get(&callback).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Sign-in not completed") && html.contains("access_denied"),
        "{html}"
    );
}

#[tokio::test]
async fn a_tampered_id_token_is_refused() {
    for fault in [
        Fault::BadSignature,
        Fault::WrongNonce,
        Fault::AlgNone,
        Fault::UnknownKid,
        Fault::WrongAudience,
        Fault::Expired,
    ] {
        let s = start(Some(fault.clone())).await;
        let http = browser();
        let authorize = follow(
            &http,
            &format!("{}/login/{BASIC}?login_hint=ab-amelie-tremblay", s.rp),
        )
        .await;
        let callback = follow(&http, &authorize).await;
        let page = http.get(&callback).send().await.unwrap();
        assert_eq!(page.status(), 400, "{fault:?}");
        let html = page.text().await.unwrap();
        assert!(html.contains("could not be verified"), "{fault:?}: {html}");
        assert!(!html.contains("Amélie"), "{fault:?}");
    }
}

#[tokio::test]
async fn state_cookie_and_iss_are_checked() {
    let s = start(None).await;
    let http = browser();
    let authorize = follow(
        &http,
        &format!("{}/login/{BASIC}?login_hint=ab-amelie-tremblay", s.rp),
    )
    .await;
    let callback = follow(&http, &authorize).await;
    // Another browser (no state cookie) cannot finish this sign-in.
    let other = browser().get(&callback).send().await.unwrap();
    assert_eq!(other.status(), 400);
    assert!(other.text().await.unwrap().contains("another browser"));

    // A response whose iss is not the broker (RFC 9207 mix-up defence).
    let authorize = follow(
        &http,
        &format!("{}/login/{BASIC}?login_hint=ab-amelie-tremblay", s.rp),
    )
    .await;
    let callback = follow(&http, &authorize).await;
    let forged = callback.replace("iss=http", "iss=https");
    let page = http.get(&forged).send().await.unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("(iss)"));

    let unknown = http
        .get(format!("{}/login/nobody", s.rp))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let no_session = browser()
        .get(format!("{}/result", s.rp))
        .send()
        .await
        .unwrap();
    assert_eq!(no_session.status(), 400);
}

#[tokio::test]
async fn an_unreachable_broker_is_a_clear_page() {
    let (rp_listener, rp) = bind().await;
    let (dead, dead_url) = bind().await;
    drop(dead);
    let config = RelyingServiceConfig {
        broker_issuer: dead_url,
        public_url: rp.clone(),
        clients: vec![ServiceClient {
            client_id: "svc".into(),
            client_secret: "s".into(),
            auth_method: "client_secret_basic".into(),
            redirect_uri: format!("{rp}/callback/svc"),
            name_en: "Service".into(),
            name_fr: "Service".into(),
        }],
    };
    tokio::spawn(demo::relying_service::serve(
        rp_listener,
        config,
        std::future::pending(),
    ));
    let page = browser()
        .get(format!("{rp}/login/svc?lang=fr"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 502);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Le courtier d&#39;identité est injoignable")
    );
}
