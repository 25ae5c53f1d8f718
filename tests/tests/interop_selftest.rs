//! The interop peers work on their own: the oidc-provider upstream and the
//! openid-client relying party complete a single-hop login, with no broker.

use e2e::interop::{UpstreamProvider, run_rp};
use serde_json::json;

const SECRET: &str = "interop-selftest-secret-0123456789abcdef";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn config() -> serde_json::Value {
    json!({
        "clients": [{
            "client_id": "selftest-rp",
            "client_secret": SECRET,
            "redirect_uris": [REDIRECT],
        }],
        "acr_values": ["urn:test:loa2", "urn:test:loa3"],
        "accounts": {
            "alice": {
                "given_name": "Alice",
                "family_name": "Tremblay",
                "birthdate": "1980-04-01",
                "address": { "locality": "Edmonton", "region": "AB", "country": "CA" },
                "health_card_number": "AB-123",
            },
            "bob": { "given_name": "Bob", "family_name": "Gagnon" },
        },
        "default_account": "alice",
    })
}

#[tokio::test]
async fn rp_logs_in_at_the_upstream_provider_directly() {
    let provider = UpstreamProvider::start(config())
        .await
        .expect("provider starts");
    let issuer = provider.issuer.clone();
    let base = [
        "--issuer",
        issuer.as_str(),
        "--client-id",
        "selftest-rp",
        "--client-secret",
        SECRET,
        "--redirect-uri",
        REDIRECT,
    ];

    // Default account, the first requested acr the provider supports.
    let mut args = base.to_vec();
    args.extend([
        "--scope",
        "openid profile address",
        "--acr-values",
        "urn:unknown urn:test:loa3",
    ]);
    let out = run_rp(&args).await.expect("rp runs");
    let claims = &out["id_token_claims"];
    assert_eq!(
        claims["given_name"],
        "Alice",
        "{out:#}\n{}",
        provider.stderr_log()
    );
    assert_eq!(claims["acr"], "urn:test:loa3", "{out:#}");
    assert_eq!(claims["iss"], issuer.as_str(), "{out:#}");
    assert_eq!(claims["address"]["locality"], "Edmonton", "{out:#}");
    assert_eq!(out["userinfo"]["family_name"], "Tremblay", "{out:#}");
    assert_eq!(out["id_token_header"]["alg"], "RS256", "{out:#}");
    assert_eq!(
        out["authorization_response"]["iss"],
        issuer.as_str(),
        "{out:#}"
    );

    // login_hint selects the account; a custom claim through the claims parameter;
    // no acr requested gives the provider's first; client_secret_post.
    let mut args = base.to_vec();
    args.extend([
        "--scope",
        "openid",
        "--login-hint",
        "bob",
        "--auth",
        "client_secret_post",
    ]);
    let out = run_rp(&args).await.expect("rp runs");
    assert_eq!(out["id_token_claims"]["sub"], "bob", "{out:#}");
    assert_eq!(out["id_token_claims"]["acr"], "urn:test:loa2", "{out:#}");
    assert!(
        out["id_token_claims"].get("given_name").is_none(),
        "{out:#}"
    );

    let mut args = base.to_vec();
    args.extend([
        "--scope",
        "openid",
        "--extra",
        r#"claims={"id_token":{"health_card_number":null,"given_name":{"essential":true}}}"#,
    ]);
    let out = run_rp(&args).await.expect("rp runs");
    assert_eq!(
        out["id_token_claims"]["health_card_number"], "AB-123",
        "{out:#}"
    );
    assert_eq!(out["id_token_claims"]["given_name"], "Alice", "{out:#}");

    // An error in the authorization response comes back as JSON.
    let mut args = base.to_vec();
    args.extend(["--extra", "prompt=none"]);
    let out = run_rp(&args).await.expect("rp runs");
    assert_eq!(out["error"], "login_required", "{out:#}");

    // A wrong secret fails at the token endpoint.
    let mut args = base.to_vec();
    args[5] = "not-the-secret";
    let out = run_rp(&args).await.expect("rp runs");
    assert_eq!(out["error"], "invalid_client", "{out:#}");

    provider.stop().await.expect("provider stops");
}
