//! Rotation of the broker's signing keys while logins are in flight: no login fails, and every
//! ID token verifies against the JWKS a relying party fetched before the rotation and against
//! the one published after it.

use std::sync::Arc;

use crate::common::*;
use broker::admin::auth::{Principal, Role};
use serde_json::Value;

const APPROVER: &str = "approver-token-for-rotation-tests";
const AUDITOR: &str = "auditor-token-for-rotation-tests";

fn verify_with(jwks: &Value, token: &str) -> Result<String, String> {
    let header = demo::jose::unverified_header(token).map_err(|e| e.to_string())?;
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .ok_or_else(|| format!("kid {kid} not in the JWKS"))?;
    demo::jose::verify_with_jwk(token, key.as_object().unwrap(), &["ES256"])
        .map_err(|e| e.to_string())?;
    Ok(kid)
}

async fn jwks(bed: &TestBed) -> Value {
    let r = http()
        .get(format!("{}/jwks.json", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["cache-control"].to_str().unwrap(),
        "public, max-age=300"
    );
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_while_logins_are_in_flight() {
    let bed = Arc::new(
        start(Options {
            admins: vec![
                Principal::new("bob", APPROVER, [Role::Approver]),
                Principal::new("carol", AUDITOR, [Role::Auditor]),
            ],
            ..Options::default()
        })
        .await,
    );
    let before = jwks(&bed).await;
    let admin = http();
    let listed: Value = admin
        .get(format!("{}/admin/keys", bed.broker_url))
        .bearer_auth(AUDITOR)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let es = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alg"] == "ES256")
        .unwrap()
        .clone();
    let (old_kid, next_kid) = (es["signing_kid"].clone(), es["next_kid"].clone());

    // Only an approver rotates.
    let r = admin
        .post(format!("{}/admin/keys/rotate", bed.broker_url))
        .bearer_auth(AUDITOR)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Eight relying-party sessions, each logging in three times; the rotation lands between.
    // Every session's second login has its code before the rotation and redeems it after.
    let codes_held = Arc::new(tokio::sync::Barrier::new(9));
    let (rotated_tx, rotated_rx) = tokio::sync::watch::channel(false);
    let mut sessions = Vec::new();
    for i in 0..8 {
        let bed = bed.clone();
        let codes_held = codes_held.clone();
        let mut rotated = rotated_rx.clone();
        sessions.push(tokio::spawn(async move {
            // Each session is its own browser: one cookie jar per person.
            let http = browser();
            let mut tokens = Vec::new();
            for round in 0..3 {
                let req = AuthRequest::new(RP, RP_REDIRECT);
                let provider = ["ab-account", "bc-services-card", "qc-sqin"][(i + round) % 3];
                let walk = e2e::rp::Walk {
                    provider: provider.into(),
                    login_hint: Some(bed.persons[provider].clone()),
                    ..e2e::rp::Walk::default()
                };
                let outcome = e2e::rp::browse(&http, &bed.broker_url, &req, &walk)
                    .await
                    .unwrap();
                let code =
                    outcome.params.get("code").cloned().unwrap_or_else(|| {
                        panic!("login {i}/{round} failed: {:?}", outcome.params)
                    });
                if round == 1 {
                    codes_held.wait().await;
                    rotated.wait_for(|r| *r).await.unwrap();
                }
                let (status, body) = bed.redeem(&req, &code, RP_SECRET).await;
                assert_eq!(status, 200, "{body}");
                tokens.push(body["id_token"].as_str().unwrap().to_owned());
            }
            tokens
        }));
    }
    codes_held.wait().await;
    let r = admin
        .post(format!("{}/admin/keys/rotate", bed.broker_url))
        .bearer_auth(APPROVER)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    let es = report["rotated"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["alg"] == "ES256")
        .unwrap();
    assert_eq!(es["promoted"], true);
    assert_eq!(
        es["signing_kid"], next_kid,
        "the published next key now signs"
    );
    rotated_tx.send(true).unwrap();

    let mut tokens = Vec::new();
    for s in sessions {
        tokens.extend(s.await.unwrap());
    }
    assert_eq!(tokens.len(), 24);
    let after = jwks(&bed).await;
    let mut kids = std::collections::BTreeSet::new();
    for t in &tokens {
        let k = verify_with(&before, t).unwrap();
        assert_eq!(verify_with(&after, t).unwrap(), k);
        kids.insert(k);
    }
    assert!(kids.contains(next_kid.as_str().unwrap()), "{kids:?}");
    assert!(kids.contains(old_kid.as_str().unwrap()), "{kids:?}");
    let after_kids: Vec<&Value> = after["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["kid"])
        .collect();
    assert!(
        after_kids.contains(&&old_kid),
        "the old key stays published"
    );
    // A new next key was published, not yet signing.
    assert_ne!(es["next_kid"], next_kid);
    assert!(after_kids.contains(&&es["next_kid"]));
}
