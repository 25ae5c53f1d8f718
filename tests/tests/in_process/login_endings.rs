//! How a login's trail ends when the login does not: abandoned at any step, or stopped by a
//! state store that fails in the middle.

use crate::common::audit::AuditLog;
use crate::common::*;
use serde_json::Value;

/// The demo service's request naming its provider by `idp_hint`.
fn hinted(provider: &str) -> AuthRequest {
    AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", provider)
}

/// Every login's trail ends: one left at the picker, at the provider, on the consent page or
/// with its code unredeemed ends with `login.abandoned` once its step has expired, on the next
/// sweep, and a login finished in time does not.
#[tokio::test]
async fn logins_left_unfinished_end_in_the_trail_as_abandoned() {
    let audit = AuditLog::capture();
    let bed = start(Options {
        limits: Some(broker::http::limits::Limits {
            login_seconds: 1,
            code_seconds: 1,
            ..broker::http::limits::Limits::default()
        }),
        sessions: without_reuse(),
        ..Options::default()
    })
    .await;
    // The picker is shown and nobody chooses.
    let r = bed
        .http
        .get(AuthRequest::new(RP, RP_REDIRECT).url(&bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Sent to the provider, never back.
    let r = bed
        .http
        .get(hinted("ab-account").url(&bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // Back from the provider; the consent page is shown and nobody decides.
    let callback = bed.callback_from(&hinted("qc-sqin"), "qc-sqin").await;
    let r = bed.http.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Finished in time.
    bed.login(&hinted("ab-account"), "ab-account").await;
    // Back from the provider too late: refused, and abandoned all the same.
    let late = bed.callback_from(&hinted("ab-account"), "ab-account").await;
    // A code the service never redeems, and one it redeems too late.
    let unredeemed = bed
        .browse(&hinted("bc-services-card"), "bc-services-card")
        .await;
    assert!(
        unredeemed.params.contains_key("code"),
        "{:?}",
        unredeemed.params
    );
    let late_request = hinted("qc-sqin");
    let redeemed_late = bed.browse(&late_request, "qc-sqin").await;
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let r = bed.http.get(&late).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    let (status, body) = bed
        .redeem(&late_request, &redeemed_late.params["code"], RP_SECRET)
        .await;
    assert_eq!(
        (status, &body["error"]),
        (400, &Value::from("invalid_grant"))
    );

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while audit.all("login.abandoned").len() < 6 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // One more sweep's worth: nothing is written twice.
    tokio::time::sleep(broker::login::abandoned::SWEEP_EVERY).await;
    let txns: Vec<Value> = audit
        .all("policy.decided")
        .iter()
        .map(|e| e["txn"].clone())
        .collect();
    assert_eq!(txns.len(), 7);
    let mut abandoned: Vec<(Value, Value, Value)> = audit
        .all("login.abandoned")
        .iter()
        .map(|e| {
            assert_eq!(e["client"], RP);
            (e["txn"].clone(), e["stage"].clone(), e["provider"].clone())
        })
        .collect();
    abandoned.sort_by_key(|(txn, ..)| txns.iter().position(|t| t == txn));
    assert_eq!(
        abandoned,
        [
            (txns[0].clone(), "choosing_provider".into(), Value::Null),
            (txns[1].clone(), "at_provider".into(), "ab-account".into()),
            (txns[2].clone(), "consent".into(), "qc-sqin".into()),
            (txns[4].clone(), "at_provider".into(), "ab-account".into()),
            (
                txns[5].clone(),
                "code_redemption".into(),
                "bc-services-card".into()
            ),
            (txns[6].clone(), "code_redemption".into(), "qc-sqin".into()),
        ]
    );
    assert!(audit.all("token.refused").is_empty());
    assert!(
        audit
            .all("token.issued")
            .iter()
            .any(|e| e["txn"] == txns[3])
    );
    let metrics = bed.page(format!("{}/metrics", bed.broker_url)).await;
    for (stage, n) in [
        ("choosing_provider", 1),
        ("at_provider", 2),
        ("consent", 1),
        ("code_redemption", 2),
    ] {
        let line = format!("broker_logins_abandoned_total{{stage=\"{stage}\"}} {n}");
        assert!(metrics.contains(&line), "{line} not in\n{metrics}");
    }
}

/// A state store that fails in the middle of a login ends it in the trail with `login.failed`,
/// under the login's txn, wherever the step was: the picker, the consent page, the code.
#[tokio::test]
async fn a_store_failure_mid_login_ends_it_in_the_trail() {
    use crate::common::failing_store::FailingStore;
    use broker::store::Kind;
    let audit = AuditLog::capture();
    let store = std::sync::Arc::new(FailingStore::default());
    let bed = start(Options {
        store: Some(store.clone()),
        ..Options::default()
    })
    .await;
    let trail_of = |txn: &Value| -> Vec<String> {
        audit
            .events()
            .iter()
            .filter(|e| &e["txn"] == txn)
            .map(|e| e["event"].as_str().unwrap().to_owned())
            .collect()
    };

    // The picker cannot be kept.
    store.fail_writes_of(Kind::Choosing);
    let r = bed
        .http
        .get(AuthRequest::new(RP, RP_REDIRECT).url(&bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let txn = audit.all("policy.decided")[0]["txn"].clone();
    assert_eq!(trail_of(&txn), ["policy.decided", "login.failed"]);
    let failed = audit.one("login.failed");
    assert_eq!(failed["error"], "temporarily_unavailable");
    store.heal();

    // The consent page cannot be kept.
    let callback = bed.callback_from(&hinted("ab-account"), "ab-account").await;
    store.fail_writes_of(Kind::AwaitingConsent);
    let r = bed.http.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let txn = audit.all("policy.decided")[1]["txn"].clone();
    assert_eq!(
        trail_of(&txn),
        [
            "policy.decided",
            "upstream.sent",
            "release.granted",
            "session.started",
            "login.failed"
        ]
    );
    store.heal();

    // The code cannot be kept: the service gets the error.
    let callback = bed.callback_from(&hinted("qc-sqin"), "qc-sqin").await;
    let consent = bed.page(&callback).await;
    store.fail_writes_of(Kind::Code);
    let form = [
        ("txn", e2e::rp::hidden(&consent, "txn").unwrap()),
        ("csrf", e2e::rp::hidden(&consent, "csrf").unwrap()),
        ("lang", "en".to_owned()),
        ("decision", "share".to_owned()),
    ];
    let r = bed
        .http
        .post(format!("{}/consent", bed.broker_url))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let q = query(&location(&r));
    assert_eq!(q["error"], "temporarily_unavailable", "{q:?}");
    assert!(!q.contains_key("code"));
    let txn = audit.all("policy.decided")[2]["txn"].clone();
    let trail = trail_of(&txn);
    assert_eq!(trail.first().map(String::as_str), Some("policy.decided"));
    assert_eq!(
        trail[trail.len() - 2..],
        ["consent.given".to_owned(), "login.failed".to_owned()],
        "{trail:?}"
    );
    assert_eq!(audit.all("login.failed").len(), 3);
    store.heal();

    // And the broker goes on once the store is back.
    bed.login(&hinted("ab-account"), "ab-account").await;
}
