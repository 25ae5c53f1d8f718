//! Rate limits and size limits over real HTTP: refused with 429 and Retry-After (or 413, 431,
//! 400), recovered after the window, and the broker healthy afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use broker::limits::Limits;
use common::*;
use serde_json::Value;

fn limited(per_address: u64, per_client: u64) -> Options {
    Options {
        // A 2-second window: 150 a minute is 5 a window, 60 a minute is 2.
        limits: Some(Limits {
            per_address_per_minute: per_address,
            per_client_per_minute: per_client,
            window_seconds: 2,
            ..Limits::default()
        }),
        ..Options::default()
    }
}

#[tokio::test]
async fn rate_limit_per_address_reached_and_recovered() {
    let bed = start(limited(150, 0)).await;
    let discovery = format!("{}/.well-known/openid-configuration", bed.broker_url);
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(http.get(&discovery).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200; 5]);
    let r = http.get(&discovery).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");

    // A person's browser gets the bilingual page, with the same status and header.
    let r = http
        .get(AuthRequest::new(RP, RP_REDIRECT).url(&bed.broker_url))
        .header("accept-language", "fr-CA")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let page = r.text().await.unwrap();
    assert!(page.contains("lang=\"fr\""), "{page}");

    // Probes are never limited.
    let health = http
        .get(format!("{}/healthz", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // After the window, service resumes.
    tokio::time::sleep(Duration::from_secs(retry) + Duration::from_millis(200)).await;
    assert_eq!(http.get(&discovery).send().await.unwrap().status(), 200);
    let outcome = bed
        .browse(&AuthRequest::new(RP, RP_REDIRECT), "ab-account")
        .await;
    assert!(outcome.params.contains_key("code"), "{:?}", outcome.params);
}

#[tokio::test]
async fn rate_limit_per_client_reached_and_recovered() {
    let bed = start(limited(0, 60)).await;
    let push = || async {
        reqwest::Client::new()
            .post(format!("{}/par", bed.broker_url))
            .basic_auth(RP, Some(RP_SECRET))
            .form(&AuthRequest::new(RP, RP_REDIRECT).pairs())
            .send()
            .await
            .unwrap()
    };
    assert_eq!(push().await.status(), 201);
    assert_eq!(push().await.status(), 201);
    let r = push().await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("client")
    );
    // Another service is not affected by this one's limit.
    let other = reqwest::Client::new()
        .post(format!("{}/par", bed.broker_url))
        .form(
            &[
                AuthRequest::new(
                    "ab-student-aid",
                    "http://127.0.0.1:8490/callback/ab-student-aid",
                )
                .pairs(),
                vec![("client_secret".into(), RP_SECRET.into())],
            ]
            .concat(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 201, "{}", other.text().await.unwrap());
    tokio::time::sleep(Duration::from_secs(retry) + Duration::from_millis(200)).await;
    assert_eq!(push().await.status(), 201);
}

#[tokio::test]
async fn oversized_inputs_are_refused_and_the_broker_stays_healthy() {
    let bed = start(Options::default()).await;
    let http = reqwest::Client::new();
    // A body over 64 KiB: 413.
    let r = http
        .post(format!("{}/token", bed.broker_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("code={}", "a".repeat(70 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Headers over the limit: 431.
    let r = http
        .get(format!("{}/healthz", bed.broker_url))
        .header("x-padding", "p".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    // A parameter over its own limit: 400, as an error page (nothing is trusted yet).
    let req = AuthRequest::new(RP, RP_REDIRECT).with("state", &"s".repeat(600));
    let r = http.get(req.url(&bed.broker_url)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("longer than 512 bytes"));
    // The same at the token endpoint: 400 JSON.
    let r = http
        .post(format!("{}/token", bed.broker_url))
        .basic_auth(RP, Some(RP_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &"c".repeat(3000)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    // Healthy afterwards: a whole login.
    let claims = bed
        .login(&AuthRequest::new(RP, RP_REDIRECT), "qc-sqin")
        .await;
    assert!(claims.contains_key("sub"));
}
