//! Rate limits, size limits and the body deadline over real HTTP: refused with 429 and
//! Retry-After (or 413, 431, 400, 408) in the caller's form and with the security headers,
//! recovered after the window, and the broker healthy afterwards.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::common::audit::AuditLog;
use crate::common::*;
use broker::http::limits::Limits;
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
    let audit = AuditLog::capture();
    let bed = start(limited(150, 0)).await;
    let discovery = format!("{}/.well-known/openid-configuration", bed.broker_url);
    let http = http();
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
    // The first refusal of the window is in the audit trail, with the address and the limit;
    // the second is counted in the metrics only, so that hammering cannot flood the log.
    let refused = audit.one("rate.limited");
    assert_eq!(refused["scope"], "address");
    assert_eq!(refused["address"], "127.0.0.1");
    assert_eq!(refused["limit"], 5);
    assert_eq!(refused["window_seconds"], 2);

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
    let audit = AuditLog::capture();
    let bed = start(limited(0, 60)).await;
    let push = || async {
        http()
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
    let other = http()
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
    assert_eq!(push().await.status(), 201);
    assert_eq!(push().await.status(), 429);
    assert_eq!(push().await.status(), 429);
    // One audit event per window that went over the limit, however many requests it refused.
    let refused = audit.all("rate.limited");
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|e| e["scope"] == "client" && e["client"] == RP && e["limit"] == 2),
        "{refused:?}"
    );
}

#[tokio::test]
async fn oversized_inputs_are_refused_and_the_broker_stays_healthy() {
    let bed = start(Options::default()).await;
    let http = http();
    // A body over 64 KiB: 413.
    let r = http
        .post(format!("{}/token", bed.broker_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("code={}", "a".repeat(70 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.headers()["connection"], "close");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        body["error_description"],
        "the request body is larger than 64 KiB"
    );
    // Headers over the limit: 431, saying why.
    let r = http
        .get(format!("{}/healthz", bed.broker_url))
        .header("x-padding", "p".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error_description"],
        "the request headers are larger than 16 KiB"
    );
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

/// Opens a plain connection to the broker and sends `head` (and whatever body follows it).
async fn raw(bed: &TestBed, head: &str) -> TcpStream {
    let addr = bed.broker_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Reads until the broker closes the connection; panics if it has not within `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut answer))
        .await
        .expect("the broker kept the connection open")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_body_trickled_too_slowly_is_refused_with_408_and_the_connection_closed() {
    let bed = start(Options {
        limits: Some(Limits {
            body_timeout_ms: 600,
            ..Limits::default()
        }),
        ..Options::default()
    })
    .await;
    let started = std::time::Instant::now();
    let mut stream = raw(
        &bed,
        "POST /token HTTP/1.1\r\nHost: broker\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n\
         grant_type=",
    )
    .await;
    // A byte every 100 ms: never idle for long, but 200 bytes would take 20 s.
    let (mut reader, mut writer) = stream.split();
    let trickle = async {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if writer.write_all(b"a").await.is_err() {
                break;
            }
        }
    };
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), reader.read_to_end(&mut answer));
    let (read, ()) = tokio::join!(read, trickle);
    let _ = read.expect("the broker kept the connection open");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(answer.contains("\"error\":\"invalid_request\""), "{answer}");
    assert!(answer.contains("did not arrive within 600 ms"), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(600));

    // A person's consent form that stops arriving: the page says what to check, in French here.
    let mut stream = raw(
        &bed,
        "POST /consent HTTP/1.1\r\nHost: broker\r\nAccept-Language: fr-CA\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 50\r\n\r\ntxn=",
    )
    .await;
    let answer = read_until_closed(&mut stream, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("Connexion interrompue"), "{answer}");
    assert!(answer.contains("Vérifiez votre connexion"), "{answer}");

    // A whole body in time is read as usual (the token endpoint answers about the grant).
    let r = bed
        .http
        .post(format!("{}/token", bed.broker_url))
        .basic_auth(RP, Some(RP_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "unknown"),
            ("redirect_uri", RP_REDIRECT),
            ("code_verifier", &"v".repeat(43)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");
    // And the broker is healthy: a whole login.
    let claims = bed
        .login(&AuthRequest::new(RP, RP_REDIRECT), "qc-sqin")
        .await;
    assert!(claims.contains_key("sub"));
}

/// The security headers a refusal must carry like any other answer.
fn assert_secured(r: &reqwest::Response) {
    let h = r.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"),
        "{h:?}"
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
}

#[tokio::test]
async fn oversized_heads_are_refused_with_a_reason_for_programs_people_and_the_admin_api() {
    let bed = start(Options::default()).await;
    // A person's browser that has piled up cookies: the bilingual page says why, in French here.
    let r = bed
        .http
        .get(AuthRequest::new(RP, RP_REDIRECT).url(&bed.broker_url))
        .header("accept-language", "fr-CA")
        .header("cookie", format!("crumbs={}", "c".repeat(20 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    assert_eq!(r.headers()["connection"], "close");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_secured(&r);
    let page = r.text().await.unwrap();
    assert!(page.contains("Connexion interrompue"), "{page}");
    assert!(page.contains("dépassent 16\u{a0}Kio"), "{page}");
    // What the person can do about it, in their language.
    assert!(page.contains("Effacez les témoins de ce site"), "{page}");

    // A program with too many header lines, each small: the OAuth error.
    let mut request = bed.http.post(format!("{}/token", bed.broker_url));
    for i in 0..70 {
        request = request.header(format!("x-h{i}"), "1");
    }
    let r = request.send().await.unwrap();
    assert_eq!(r.status(), 431);
    assert_secured(&r);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        body["error_description"],
        "the request has more than 64 header lines"
    );

    // The admin API answers in its own form.
    let r = bed
        .http
        .get(format!("{}/admin/providers", bed.broker_url))
        .header("x-padding", "p".repeat(17 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "too_large");
    assert_eq!(
        body["message"],
        "the request headers are larger than 16 KiB"
    );

    // Beyond hyper's backstop (32 KiB), hyper refuses alone, before any of the broker's code.
    let mut stream = raw(
        &bed,
        &format!(
            "GET /healthz HTTP/1.1\r\nHost: broker\r\nX-Padding: {}\r\n\r\n",
            "p".repeat(40 * 1024)
        ),
    )
    .await;
    let answer = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    // A head just within the bound is served, and the broker is healthy afterwards.
    let r = bed
        .http
        .get(format!("{}/healthz", bed.broker_url))
        .header("x-padding", "p".repeat(15 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let claims = bed
        .login(&AuthRequest::new(RP, RP_REDIRECT), "qc-sqin")
        .await;
    assert!(claims.contains_key("sub"));
}

#[tokio::test]
async fn refusals_before_any_handler_carry_the_security_headers() {
    let bed = start(limited(60, 0)).await;
    let authorize = AuthRequest::new(RP, RP_REDIRECT).url(&bed.broker_url);
    // 413 at the token endpoint, for a program.
    let r = bed
        .http
        .post(format!("{}/token", bed.broker_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("c".repeat(70 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_secured(&r);
    // 429 for a person's browser, once the address has used its two requests of the window.
    let mut last = None;
    for _ in 0..3 {
        last = Some(bed.http.get(&authorize).send().await.unwrap());
    }
    let r = last.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_secured(&r);
}

#[tokio::test]
async fn oversized_chunked_bodies_are_refused_for_programs_people_and_the_admin_api() {
    let bed = start(Options::default()).await;
    // No declared length: chunks of 8 KiB, nine of them, counted as they come.
    let chunk = format!("2000\r\n{}\r\n", "a".repeat(0x2000));
    let mut stream = raw(
        &bed,
        &format!(
            "POST /par HTTP/1.1\r\nHost: broker\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n{}0\r\n\r\n",
            chunk.repeat(9)
        ),
    )
    .await;
    let answer = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"error\":\"invalid_request\""), "{answer}");

    // A person's browser posting the consent form: the bilingual error page, in French here.
    let r = bed
        .http
        .post(format!("{}/consent", bed.broker_url))
        .header("accept-language", "fr-CA")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("txn={}", "t".repeat(70 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let page = r.text().await.unwrap();
    assert!(page.contains("Connexion interrompue"), "{page}");
    // The technical detail too, in French.
    assert!(page.contains("dépasse 64\u{a0}Kio"), "{page}");
    assert!(!page.contains("larger than"), "{page}");

    // The admin API answers in its own form.
    let r = bed
        .http
        .post(format!("{}/admin/providers", bed.broker_url))
        .header("content-type", "application/json")
        .body(format!("{{\"id\":\"{}\"}}", "p".repeat(70 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "too_large");

    let r = bed
        .http
        .get(format!("{}/healthz", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn connections_beyond_the_bound_wait_to_be_accepted() {
    let bed = start(Options {
        limits: Some(Limits {
            max_connections: 2,
            ..Limits::default()
        }),
        ..Options::default()
    })
    .await;
    let healthz = "GET /healthz HTTP/1.1\r\nHost: broker\r\nConnection: close\r\n\r\n";
    // Two connections hold both slots, sending nothing yet.
    let mut first = raw(&bed, "").await;
    let second = raw(&bed, "").await;
    // A third is queued: its request gets no answer while both are open.
    let mut third = raw(&bed, healthz).await;
    let mut answer = Vec::new();
    let waited =
        tokio::time::timeout(Duration::from_millis(500), third.read_to_end(&mut answer)).await;
    assert!(waited.is_err(), "answered beyond the bound: {answer:?}");
    // One closes: the third is served.
    drop(second);
    let answer = read_until_closed(&mut third, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The first still works.
    first.write_all(healthz.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut first, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
