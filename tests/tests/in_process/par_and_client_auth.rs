//! Pushed authorization requests (RFC 9126) and `private_key_jwt` client authentication
//! (RFC 7523), over real HTTP against the broker and demo providers. Names follow the FAPI 2.0
//! conformance tests where one applies.

use std::time::Duration;

use crate::common::*;
use broker::store::Kind;
use serde_json::{Map, Value, json};

/// A relying party key and the registry text that registers its public half.
struct ClientKey {
    kid: String,
    key: TestKey,
    public: Map<String, Value>,
}

impl ClientKey {
    fn new(kid: &str) -> Self {
        let key = TestKey::es256();
        let public = key.public(Some(kid));
        Self {
            kid: kid.to_owned(),
            key,
            public,
        }
    }

    fn toml(&self) -> String {
        let p = |m: &str| self.public[m].as_str().unwrap().to_owned();
        format!(
            "jwks = {{ keys = [{{ kty = \"EC\", crv = \"P-256\", x = \"{}\", y = \"{}\", kid = \"{}\" }}] }}",
            p("x"),
            p("y"),
            p("kid")
        )
    }

    fn sign(&self, claims: Value) -> String {
        self.key.sign(&self.kid, &claims)
    }
}

fn now() -> i64 {
    NOW.unix_timestamp()
}

fn claims(aud: &str) -> Value {
    json!({
        "iss": RP, "sub": RP, "aud": aud,
        "iat": now(), "exp": now() + 60, "jti": rand_token(),
    })
}

/// The example's Employment Insurance service, switched to private_key_jwt (and PAR if asked).
fn with_key(key: &ClientKey, require_par: bool) -> Options {
    let auth = format!(
        "token_endpoint_auth_method = \"private_key_jwt\"\n{}\n{}",
        key.toml(),
        if require_par {
            "require_pushed_authorization_requests = true"
        } else {
            ""
        }
    );
    Options {
        edit_registry: Some(Box::new(move |text: String| {
            text.replace(
                "token_endpoint_auth_method = \"client_secret_basic\"\nclient_secret = { env = \"DEMO_RP_ESDC_EMPLOYMENT_INSURANCE_SECRET\" }",
                &auth,
            )
        })),
        ..Options::default()
    }
}

fn assertion_form(assertion: &str) -> Vec<(String, String)> {
    vec![
        (
            "client_assertion_type".into(),
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
        ),
        ("client_assertion".into(), assertion.into()),
    ]
}

async fn post(url: String, form: &[(String, String)]) -> (u16, Value) {
    let r = http().post(url).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn push(bed: &TestBed, req: &AuthRequest, assertion: &str) -> (u16, Value) {
    let mut form = req.pairs();
    form.extend(assertion_form(assertion));
    post(format!("{}/par", bed.broker_url), &form).await
}

async fn redeem(bed: &TestBed, req: &AuthRequest, code: &str, assertion: &str) -> (u16, Value) {
    let mut form = vec![
        ("grant_type".into(), "authorization_code".into()),
        ("code".into(), code.into()),
        ("redirect_uri".into(), req.redirect_uri.clone()),
        ("code_verifier".into(), req.verifier.clone()),
    ];
    form.extend(assertion_form(assertion));
    post(format!("{}/token", bed.broker_url), &form).await
}

fn handle(request_uri: &str) -> &str {
    request_uri
        .strip_prefix("urn:ietf:params:oauth:request_uri:")
        .unwrap()
}

#[tokio::test]
async fn fapi2_par_then_login_with_private_key_jwt() {
    let key = ClientKey::new("rp-1");
    let bed = start(with_key(&key, true)).await;
    let discovery: Value = http()
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
    assert_eq!(
        discovery["pushed_authorization_request_endpoint"],
        format!("{}/par", bed.broker_url)
    );
    assert!(
        discovery["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("private_key_jwt"))
    );

    let mut req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let (status, body) = push(&bed, &req, &key.sign(claims(&bed.broker_url))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["expires_in"], 60);
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    req.request_uri = Some(request_uri.clone());
    let outcome = bed.browse(&req, "ab-account").await;
    assert_eq!(outcome.params.get("error"), None, "{:?}", outcome.params);
    assert_eq!(outcome.params["state"], req.state);
    let code = &outcome.params["code"];
    let token_aud = bed.broker_url.clone();
    let (status, body) = redeem(&bed, &req, code, &key.sign(claims(&token_aud))).await;
    assert_eq!(status, 200, "{body}");
    let (id, _) = bed
        .verify_id_token(body["id_token"].as_str().unwrap())
        .await;
    assert_eq!(id["nonce"], req.nonce.as_str());
    assert_eq!(id["aud"], RP);

    // The request_uri was used once: a second use finds nothing, and is a page, not a redirect.
    let r = bed.http.get(req.url(&bed.broker_url)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("invalid_request_uri"), "{page}");
}

#[tokio::test]
async fn fapi2_par_required_and_missing() {
    let key = ClientKey::new("rp-1");
    let bed = start(with_key(&key, true)).await;
    let req = AuthRequest::new(RP, RP_REDIRECT);
    let r = bed.http.get(req.url(&bed.broker_url)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let back = query(&location(&r));
    assert_eq!(back["error"], "invalid_request");
    assert!(back["error_description"].contains("/par"), "{back:?}");
    assert_eq!(back["state"], req.state);
    assert_eq!(back["iss"], bed.broker_url);
}

#[tokio::test]
async fn par_request_uri_expired_or_pushed_by_another_client() {
    let key = ClientKey::new("rp-1");
    let bed = start(with_key(&key, false)).await;
    let mut req = AuthRequest::new(RP, RP_REDIRECT);
    let (status, body) = push(&bed, &req, &key.sign(claims(&bed.broker_url))).await;
    assert_eq!(status, 201, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();

    // Expired: the stored request is put back with a lifetime that has run out by the time the
    // browser arrives, through the store's own expiry.
    let store = &bed.broker.store.0;
    let stored = store
        .take(Kind::PushedRequest, handle(&request_uri))
        .await
        .unwrap()
        .unwrap();
    store
        .put(
            Kind::PushedRequest,
            handle(&request_uri),
            stored,
            Duration::from_millis(1),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    req.request_uri = Some(request_uri);
    let r = bed.http.get(req.url(&bed.broker_url)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("invalid_request_uri"));

    // Pushed by Employment Insurance, presented as Student Aid.
    let (_, body) = push(&bed, &req, &key.sign(claims(&bed.broker_url))).await;
    let other = AuthRequest {
        client_id: "ab-student-aid".into(),
        request_uri: Some(body["request_uri"].as_str().unwrap().to_owned()),
        ..req.clone()
    };
    let r = bed
        .http
        .get(other.url(&bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("invalid_request_uri"));
    // A request_uri not issued by the broker.
    req.request_uri = Some("https://attacker.example/request.jwt".into());
    let r = bed.http.get(req.url(&bed.broker_url)).send().await.unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn par_checks_the_request_like_authorize_and_answers_json() {
    let key = ClientKey::new("rp-1");
    let bed = start(with_key(&key, false)).await;
    let aud = bed.broker_url.clone();
    let cases: Vec<(AuthRequest, &str)> = vec![
        (
            AuthRequest::new(RP, "http://127.0.0.1:8490/elsewhere"),
            "invalid_request",
        ),
        (
            AuthRequest::new(RP, RP_REDIRECT).with("code_challenge_method", "plain"),
            "invalid_request",
        ),
        (
            AuthRequest::new(RP, RP_REDIRECT).with("request_uri", "urn:x"),
            "invalid_request",
        ),
        (
            AuthRequest::new(RP, RP_REDIRECT).with("response_type", "token"),
            "unsupported_response_type",
        ),
    ];
    for (req, code) in cases {
        let (status, body) = push(&bed, &req, &key.sign(claims(&aud))).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], code, "{body}");
        assert!(
            !body["error_description"]
                .as_str()
                .unwrap()
                .contains("repeated")
        );
        assert!(body["error_description"].is_string());
    }
    // Without client authentication nothing is pushed.
    let (status, body) = post(
        format!("{}/par", bed.broker_url),
        &AuthRequest::new(RP, RP_REDIRECT).pairs(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn par_with_client_secret_basic() {
    let bed = start(Options::default()).await;
    let mut req = AuthRequest::new(RP, RP_REDIRECT);
    let r = http()
        .post(format!("{}/par", bed.broker_url))
        .basic_auth(RP, Some(RP_SECRET))
        .form(&req.pairs())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    req.request_uri = Some(body["request_uri"].as_str().unwrap().to_owned());
    let claims = bed.login(&req, "bc-services-card").await;
    assert_eq!(claims["nonce"], req.nonce.as_str());
}

#[tokio::test]
async fn private_key_jwt_refusals() {
    let key = ClientKey::new("rp-1");
    let bed = start(with_key(&key, false)).await;
    let aud = bed.broker_url.clone();
    let req = AuthRequest::new(RP, RP_REDIRECT);
    let outcome = bed.browse(&req, "ab-account").await;
    let code = outcome.params["code"].clone();

    let refused = |(status, body): (u16, Value)| {
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "invalid_client", "{body}");
        body["error_description"].as_str().unwrap().to_owned()
    };
    // A key the client never registered, under the registered kid.
    let stranger = ClientKey::new("rp-1");
    let d = refused(redeem(&bed, &req, &code, &stranger.sign(claims(&aud))).await);
    assert!(d.contains("signature"), "{d}");
    // Expired.
    let mut c = claims(&aud);
    c["iat"] = json!(now() - 200);
    c["exp"] = json!(now() - 100);
    let d = refused(redeem(&bed, &req, &code, &key.sign(c)).await);
    assert!(d.contains("expired"), "{d}");
    // A lifetime beyond five minutes.
    let mut c = claims(&aud);
    c["exp"] = json!(now() + 3600);
    let d = refused(redeem(&bed, &req, &code, &key.sign(c)).await);
    assert!(d.contains("longer"), "{d}");
    // Another server's audience.
    let d = refused(
        redeem(
            &bed,
            &req,
            &code,
            &key.sign(claims("https://other.example")),
        )
        .await,
    );
    assert!(d.contains("aud"), "{d}");
    // Audience injection: the token endpoint, or a list naming the broker among others.
    let token_endpoint = format!("{aud}/token");
    refused(redeem(&bed, &req, &code, &key.sign(claims(&token_endpoint))).await);
    let mut c = claims(&aud);
    c["aud"] = json!([aud.clone(), "https://other.example"]);
    refused(redeem(&bed, &req, &code, &key.sign(c)).await);
    // Another client's identity.
    let mut c = claims(&aud);
    c["sub"] = json!("ab-student-aid");
    refused(redeem(&bed, &req, &code, &key.sign(c)).await);
    // An algorithm outside the allow-list, with a correct RS256 signature.
    let rsa = demo::jose::KeyPair::generate("RS256").unwrap();
    let rs = rsa
        .sign_jws(
            &json!({ "typ": "JWT", "alg": "RS256", "kid": "rp-1" }),
            claims(&aud).to_string().as_bytes(),
        )
        .unwrap();
    let d = refused(redeem(&bed, &req, &code, &rs).await);
    assert!(d.contains("RS256"), "{d}");
    // A client secret where a key is registered.
    let (status, _, _) = e2e::rp::redeem(&bed.broker_url, &req, &code, RP_SECRET)
        .await
        .unwrap();
    assert_eq!(status, 401);

    // None of these consumed the code; a good assertion redeems it, and its replay is refused.
    let good = key.sign(claims(&aud));
    let (status, body) = redeem(&bed, &req, &code, &good).await;
    assert_eq!(status, 200, "{body}");
    let again = bed.browse(&req, "ab-account").await;
    let d = refused(redeem(&bed, &req, &again.params["code"], &good).await);
    assert!(d.contains("replay"), "{d}");
    let (status, _) = redeem(&bed, &req, &again.params["code"], &key.sign(claims(&aud))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn private_key_jwt_with_a_jwks_uri_is_fetched_and_cached() {
    let old = ClientKey::new("rp-old");
    let new = ClientKey::new("rp-new");
    let served = std::sync::Arc::new(std::sync::Mutex::new(json!({
        "keys": [Value::Object(old.public.clone())]
    })));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_uri = format!("http://{}/jwks", listener.local_addr().unwrap());
    let s = served.clone();
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let s = s.clone();
            async move { axum::Json(s.lock().unwrap().clone()) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let uri = jwks_uri.clone();
    let bed = start(Options {
        edit_registry: Some(Box::new(move |text: String| {
            text.replace(
                "token_endpoint_auth_method = \"client_secret_basic\"\nclient_secret = { env = \"DEMO_RP_ESDC_EMPLOYMENT_INSURANCE_SECRET\" }",
                &format!("token_endpoint_auth_method = \"private_key_jwt\"\njwks_uri = \"{uri}\""),
            )
        })),
        ..Options::default()
    })
    .await;
    let aud = bed.broker_url.clone();
    let req = AuthRequest::new(RP, RP_REDIRECT);
    let code = bed.browse(&req, "ab-account").await.params["code"].clone();
    let (status, body) = redeem(&bed, &req, &code, &old.sign(claims(&aud))).await;
    assert_eq!(status, 200, "{body}");
    // The client publishes its new key; the cached JWKS does not have it, and the cache is
    // refreshed at most once a minute, so the new key is refused until then.
    *served.lock().unwrap() = json!({ "keys": [Value::Object(new.public.clone())] });
    let code = bed.browse(&req, "ab-account").await.params["code"].clone();
    let (status, _) = redeem(&bed, &req, &code, &new.sign(claims(&aud))).await;
    assert_eq!(status, 401);
    let (status, _) = redeem(&bed, &req, &code, &old.sign(claims(&aud))).await;
    assert_eq!(status, 200, "the cached key still verifies");
}
