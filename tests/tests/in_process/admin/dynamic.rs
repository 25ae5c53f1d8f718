//! Dynamic registration (RFC 7591) with a jurisdiction's software statement.

use super::*;

fn statement(
    key: &TestKey,
    kid: &str,
    iss: &str,
    jti: &str,
    software_id: &str,
    redirect: &str,
    extra: Value,
) -> String {
    let now = NOW.unix_timestamp();
    let mut claims = serde_json::Map::new();
    for (k, v) in [
        ("iss", json!(iss)),
        ("jti", json!(jti)),
        ("iat", json!(now)),
        ("exp", json!(now + 600)),
        ("software_id", json!(software_id)),
        ("client_name", json!("Nova Scotia fishing licences (test)")),
        (
            "client_name#fr",
            json!("Permis de pêche de la Nouvelle-Écosse (essai)"),
        ),
        ("redirect_uris", json!([redirect])),
        ("sector_identifier", json!("novascotia.ca")),
    ] {
        claims.insert(k.into(), v);
    }
    claims.extend(extra.as_object().cloned().unwrap_or_default());
    key.sign(kid, &Value::Object(claims))
}

/// A broker with a registry store and Bob the approver, trusting Nova Scotia's statement
/// key `ns-2026` (`trusted`, the key pair that signs the statements).
struct NovaScotia {
    bed: TestBed,
    http: reqwest::Client,
    trusted: TestKey,
    _dir: tempfile::TempDir,
}

impl NovaScotia {
    async fn start() -> Self {
        let trusted = TestKey::es256();
        let public = Value::Object(trusted.public(None)).to_string();
        let dir = tempfile::tempdir().unwrap();
        let bed = start(Options {
            admins: vec![Principal::new("bob", BOB, [Role::Approver])],
            edit_registry: Some(Box::new(move |t: String| {
                format!("{t}\n[[statement_keys]]\njurisdiction = \"CA-NS\"\nkid = \"ns-2026\"\njwk = {}\n", toml_inline(&public))
            })),
            ..Options::default()
        })
        .await;
        Self {
            bed,
            http: http(),
            trusted,
            _dir: dir,
        }
    }

    /// `POST /register` with a software statement: the status and the JSON answer.
    async fn register(&self, ssa: String) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/register", self.bed.broker_url))
            .json(&json!({ "software_statement": ssa }))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    }

    /// Bob approves a registered service.
    async fn approve(&self, service: &str) {
        let r = self
            .http
            .post(format!(
                "{}/admin/services/{service}/approve",
                self.bed.broker_url
            ))
            .bearer_auth(BOB)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn a_service_registers_itself_with_a_jurisdictions_software_statement() {
    let ns = NovaScotia::start().await;
    let (bed, http, trusted) = (&ns.bed, &ns.http, &ns.trusted);
    let untrusted = TestKey::es256();
    let post = |ssa: String| ns.register(ssa);
    let redirect = "https://fishing.novascotia.example/callback";
    let good = statement(
        trusted,
        "ns-2026",
        "CA-NS",
        "jti-1",
        "ns-fishing",
        redirect,
        json!({}),
    );
    let (status, body) = post(good.clone()).await;
    assert_eq!(status, 201, "{body}");
    let secret = body["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(body["status"], "pending");
    // The secret is kept only as a hash.
    let stored = bed
        .broker
        .registry()
        .relying_party("ns-fishing")
        .unwrap()
        .auth
        .clone();
    assert!(format!("{stored:?}").contains("sha256:***"));
    assert!(!format!("{:?}", bed.broker.registry().source()).contains(&secret));

    // Replayed, bad signature, untrusted key, wrong issuer, bad redirect: clear errors, no change.
    let (status, body) = post(good).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_software_statement")),
        "{body}"
    );
    let forged = statement(
        &untrusted,
        "ns-2026",
        "CA-NS",
        "jti-2",
        "ns-other",
        redirect,
        json!({}),
    );
    assert_eq!(post(forged).await.1["error"], "invalid_software_statement");
    let unknown = statement(
        &untrusted,
        "someone",
        "CA-NS",
        "jti-3",
        "ns-other",
        redirect,
        json!({}),
    );
    assert_eq!(
        post(unknown).await.1["error"],
        "unapproved_software_statement"
    );
    let other_jurisdiction = statement(
        trusted,
        "ns-2026",
        "CA-ON",
        "jti-4",
        "ns-other",
        redirect,
        json!({}),
    );
    assert_eq!(
        post(other_jurisdiction).await.1["error"],
        "unapproved_software_statement"
    );
    let http_redirect = statement(
        trusted,
        "ns-2026",
        "CA-NS",
        "jti-5",
        "ns-other",
        "http://evil.example/cb",
        json!({}),
    );
    assert_eq!(post(http_redirect).await.1["error"], "invalid_redirect_uri");
    assert!(bed.broker.registry().relying_party("ns-other").is_none());

    // Approved by an approver, the client authenticates with the secret it was given.
    ns.approve("ns-fishing").await;
    let r = http
        .post(format!("{}/token", bed.broker_url))
        .basic_auth("ns-fishing", Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", redirect),
            ("code_verifier", &"v".repeat(43)),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"], "invalid_grant",
        "authenticated, then refused the made-up code: {body}"
    );
    let r = http
        .post(format!("{}/token", bed.broker_url))
        .basic_auth("ns-fishing", Some("wrong"))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// A service vouched for by its jurisdiction registers its public keys (RFC 7591 `jwks`) for
/// private_key_jwt: no secret is issued, private key material is refused, and once approved
/// the client authenticates at /token with an assertion signed by its key.
#[tokio::test]
async fn a_private_key_jwt_service_registers_its_public_keys() {
    let ns = NovaScotia::start().await;
    let (bed, http, trusted) = (&ns.bed, &ns.http, &ns.trusted);
    let register = |ssa: String| ns.register(ssa);
    let redirect = "https://fishing.novascotia.example/callback";
    let client_key = TestKey::es256();
    let client_public = client_key.public(Some("fishing-1"));
    let with_keys = |jti: &str, id: &str, jwks: Value| {
        statement(
            trusted,
            "ns-2026",
            "CA-NS",
            jti,
            id,
            redirect,
            json!({ "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks }),
        )
    };

    // The private key instead of the public one: refused, nothing registered.
    let leaked = json!({ "keys": [Value::Object(client_key.private(Some("fishing-1")))] });
    let (status, body) = register(with_keys("jti-k1", "ns-leaky", leaked)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client_metadata")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("private key material")),
        "{body}"
    );
    assert!(bed.broker.registry().relying_party("ns-leaky").is_none());

    let jwks = json!({ "keys": [Value::Object(client_public)] });
    let (status, body) = register(with_keys("jti-k2", "ns-fishing-keys", jwks)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["token_endpoint_auth_method"], "private_key_jwt");
    assert!(body.get("client_secret").is_none(), "{body}");

    ns.approve("ns-fishing-keys").await;

    let now = NOW.unix_timestamp();
    let assertion = |key: &TestKey| {
        let claims = json!({
            "iss": "ns-fishing-keys", "sub": "ns-fishing-keys", "aud": bed.broker_url,
            "iat": now, "exp": now + 60, "jti": format!("a-{}", rand_token()),
        });
        key.sign("fishing-1", &claims)
    };
    let token = |assertion: String| {
        let http = http.clone();
        let url = format!("{}/token", bed.broker_url);
        async move {
            let r = http
                .post(url)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", "x"),
                    ("redirect_uri", redirect),
                    ("code_verifier", &"v".repeat(43)),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (_, body) = token(assertion(&client_key)).await;
    assert_eq!(
        body["error"], "invalid_grant",
        "authenticated by its registered key, then refused the made-up code: {body}"
    );
    let stranger = TestKey::es256();
    let (status, body) = token(assertion(&stranger)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
}

/// A JWK as a TOML inline table.
fn toml_inline(json_text: &str) -> String {
    let v: serde_json::Map<String, Value> = serde_json::from_str(json_text).unwrap();
    let parts: Vec<String> = v
        .iter()
        .map(|(k, v)| format!("{k} = \"{}\"", v.as_str().unwrap()))
        .collect();
    format!("{{ {} }}", parts.join(", "))
}
