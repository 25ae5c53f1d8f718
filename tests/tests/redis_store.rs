//! Shared state on real Redis: replicas, faults, cluster. Every Redis here is a
//! `redis-server` process this test started on a free loopback port.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use e2e::broker::{BrokerProcess, BrokerSpec, free_port, generate_keys};
use e2e::postgres::PgServer;
use e2e::provider::{DemoProvider, EXAMPLE};
use e2e::redis::{RedisCluster, RedisServer};
use e2e::rp::{AuthRequest, Walk, browse, browser, redeem, verify_id_token};

const RP: &str = "esdc-employment-insurance";
const RP_SECRET: &str = "rp-secret-for-redis-tests";
const RP_REDIRECT: &str = "http://127.0.0.1:8490/callback/esdc-employment-insurance";
const UPSTREAM_SECRET: &str = "upstream-secret-for-redis-tests";
const PERSON: &str = "ab-amelie-tremblay";
const ENV: &[(&str, &str)] = &[
    ("BROKER_IDP_AB_ACCOUNT_SECRET", UPSTREAM_SECRET),
    ("DEMO_RP_ESDC_EMPLOYMENT_INSURANCE_SECRET", RP_SECRET),
];

/// Alberta's demo provider, in this test process, answering to `callbacks`.
async fn provider(callbacks: Vec<String>) -> DemoProvider {
    DemoProvider::start("ab-account", UPSTREAM_SECRET, callbacks)
        .await
        .unwrap()
}

fn redis_store(url: &str) -> String {
    format!("[store]\nbackend = \"redis\"\nurl = \"{url}\"\ntimeout_ms = 300\n")
}

fn walk() -> Walk {
    Walk {
        provider: "ab-account".into(),
        login_hint: Some(PERSON.into()),
        ..Walk::default()
    }
}

fn request() -> AuthRequest {
    AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account")
}

#[tokio::test]
async fn two_replicas_share_one_redis() {
    let redis = RedisServer::start().await.unwrap();
    let (port_a, port_b) = (free_port().unwrap(), free_port().unwrap());
    // Both replicas answer to one issuer, as behind a load balancer.
    let issuer = format!("http://127.0.0.1:{port_a}");
    let upstream = provider(vec![format!("{issuer}/callback")]).await;
    let keys = tempfile::tempdir().unwrap();
    generate_keys(&keys.path().join("k")).unwrap();
    let registry = upstream.registered_in(EXAMPLE);
    let spec = |port| BrokerSpec {
        port,
        issuer: Some(issuer.clone()),
        registry: &registry,
        env: ENV,
        store: Some(redis_store(&redis.url())),
        keys: Some(keys.path().join("k")),
        extra_config: None,
        records: None,
    };
    let a = BrokerProcess::spawn(spec(port_a)).await.unwrap();
    let b = BrokerProcess::spawn(spec(port_b)).await.unwrap();

    // The login starts at A, the provider's callback is delivered to B, the code is redeemed at A.
    let req = request();
    let mut w = walk();
    w.callback_base = Some(b.url.clone());
    let outcome = browse(&browser().unwrap(), &a.url, &req, &w).await.unwrap();
    let code = outcome
        .params
        .get("code")
        .unwrap_or_else(|| panic!("{:?}\n{}", outcome.params, b.log()))
        .clone();
    assert_eq!(outcome.params["iss"], issuer);
    let (status, body, _) = redeem(&a.url, &req, &code, RP_SECRET).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let (claims, _) = verify_id_token(
        &format!("{}/jwks.json", b.url),
        body["id_token"].as_str().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["given_name"], "Amélie");

    // A second login's code, redeemed at A, cannot be redeemed again at B.
    let req = request();
    let outcome = browse(&browser().unwrap(), &b.url, &req, &walk())
        .await
        .unwrap();
    let code = outcome.params["code"].clone();
    assert_eq!(redeem(&a.url, &req, &code, RP_SECRET).await.unwrap().0, 200);
    let (status, body, _) = redeem(&b.url, &req, &code, RP_SECRET).await.unwrap();
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Keys in Redis carry the prefix and a TTL, and never the code itself.
    let keys = redis.cli(&["--scan", "--pattern", "*"]).await.unwrap();
    assert!(keys.lines().all(|k| k.starts_with("pcb:")), "{keys}");
    assert!(!keys.contains(&code));
    // Redis keeps only what may be lost: every key expires (the registry, consents and
    // records are in the records).
    for key in keys.lines() {
        let ttl: i64 = redis
            .cli(&["PTTL", key])
            .await
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
    }
}

#[tokio::test]
async fn redis_killed_under_load_fails_closed_and_recovers_by_itself() {
    let mut redis = RedisServer::start().await.unwrap();
    let port = free_port().unwrap();
    let upstream = provider(vec![format!("http://127.0.0.1:{port}/callback")]).await;
    let registry = upstream.registered_in(EXAMPLE);
    let mut broker = BrokerProcess::spawn(BrokerSpec {
        port,
        registry: &registry,
        env: ENV,
        store: Some(redis_store(&redis.url())),
        ..BrokerSpec::default()
    })
    .await
    .unwrap();
    let url = broker.url.clone();

    // 16 browsers log in over and over; Redis is killed in the middle.
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut workers = Vec::new();
    for _ in 0..16 {
        let url = url.clone();
        workers.push(tokio::spawn(async move {
            let mut results = Vec::new();
            while Instant::now() < deadline {
                let req = request();
                let started = Instant::now();
                let outcome = browse(&browser().unwrap(), &url, &req, &walk()).await;
                let result = match outcome {
                    Ok(o) => match o.params.get("code") {
                        Some(code) => {
                            let (status, body, _) =
                                redeem(&url, &req, code, RP_SECRET).await.unwrap();
                            format!("code->{status}:{}", body["error"].as_str().unwrap_or("ok"))
                        }
                        None => format!("rp-error:{}", o.params["error"]),
                    },
                    Err(e) => {
                        let text = e.to_string();
                        if text.contains("503") {
                            "page-503".to_owned()
                        } else {
                            format!("other:{text}")
                        }
                    }
                };
                results.push((result, started.elapsed()));
            }
            results
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    redis.kill().await.unwrap();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    assert!(broker.is_running(), "the broker died: {}", broker.log());
    let mut kinds = std::collections::BTreeMap::new();
    for (result, took) in &all {
        // Every request answered within a bounded time.
        assert!(*took < Duration::from_secs(10), "{result} took {took:?}");
        *kinds.entry(result.clone()).or_insert(0) += 1;
    }
    let allowed = |k: &str| {
        k == "code->200:ok"
            || k == "code->503:temporarily_unavailable"
            || k == "code->400:invalid_grant"
            || k == "rp-error:temporarily_unavailable"
            || k == "page-503"
    };
    assert!(
        kinds.keys().all(|k| allowed(k)),
        "unexpected outcomes: {kinds:?}"
    );
    assert!(
        kinds.get("code->200:ok").is_some_and(|n| *n > 0),
        "no login succeeded before the kill: {kinds:?}"
    );
    assert!(
        kinds.keys().any(|k| k != "code->200:ok"),
        "the kill was not noticed: {kinds:?}"
    );
    let ready = e2e::rp::http()
        .get(format!("{url}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let health = e2e::rp::http()
        .get(format!("{url}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "liveness does not depend on Redis");

    // Redis comes back (empty): the broker resumes without a restart.
    redis.restart().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while e2e::rp::http()
        .get(format!("{url}/readyz"))
        .send()
        .await
        .unwrap()
        .status()
        != 200
    {
        assert!(
            Instant::now() < deadline,
            "not ready again after Redis returned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let req = request();
    let outcome = browse(&browser().unwrap(), &url, &req, &walk())
        .await
        .unwrap();
    let (status, body, _) = redeem(&url, &req, &outcome.params["code"], RP_SECRET)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    eprintln!("outcomes: {kinds:?}");
}

#[tokio::test]
async fn a_three_node_cluster_runs_the_login() {
    let cluster = RedisCluster::start(3).await.unwrap();
    let port = free_port().unwrap();
    let upstream = provider(vec![format!("http://127.0.0.1:{port}/callback")]).await;
    let registry = upstream.registered_in(EXAMPLE);
    let nodes: Vec<String> = cluster.seeds().iter().map(|s| format!("\"{s}\"")).collect();
    let broker = BrokerProcess::spawn(BrokerSpec {
        port,
        registry: &registry,
        env: ENV,
        store: Some(format!(
            "[store]\nbackend = \"cluster\"\nnodes = [{}]\n",
            nodes.join(", ")
        )),
        // One second for each step of a sign-in, so that the abandoned one below ends soon.
        extra_config: Some("[limits]\nper_address_per_minute = 0\nlogin_seconds = 1\n".into()),
        ..BrokerSpec::default()
    })
    .await
    .unwrap();
    // A login left at the provider: its watch is written, and claimed, on the cluster.
    let r = browser()
        .unwrap()
        .get(request().url(&broker.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    for _ in 0..3 {
        let req = request();
        let outcome = browse(&browser().unwrap(), &broker.url, &req, &walk())
            .await
            .unwrap();
        let code = outcome
            .params
            .get("code")
            .unwrap_or_else(|| panic!("{:?}\n{}", outcome.params, broker.log()))
            .clone();
        let (status, body, _) = redeem(&broker.url, &req, &code, RP_SECRET).await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            redeem(&broker.url, &req, &code, RP_SECRET).await.unwrap().0,
            400
        );
    }
    // The abandoned login is in the trail once (after its second, the clock grace and a
    // sweep), and no sweep failed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !broker.log().contains("login.abandoned") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = broker.log();
    assert_eq!(log.matches("\"login.abandoned\"").count(), 1, "{log}");
    assert!(log.contains("\"stage\":\"at_provider\""), "{log}");
    assert!(!log.contains("sweep for abandoned logins failed"), "{log}");
    // State was spread over the cluster's nodes by key slot.
    let mut used = 0;
    for node in &cluster.nodes {
        let n: usize = node.cli(&["DBSIZE"]).await.unwrap().trim().parse().unwrap();
        used += usize::from(n > 0);
    }
    assert!(used >= 1);
}

#[tokio::test]
async fn a_suspension_made_on_one_replica_applies_on_the_other() {
    let redis = RedisServer::start().await.unwrap();
    let records = PgServer::start().await.unwrap();
    let (port_a, port_b) = (free_port().unwrap(), free_port().unwrap());
    let issuer = format!("http://127.0.0.1:{port_a}");
    let upstream = provider(vec![format!("{issuer}/callback")]).await;
    let keys = tempfile::tempdir().unwrap();
    generate_keys(&keys.path().join("k")).unwrap();
    let registry = upstream.registered_in(EXAMPLE);
    let admin = "[[admin.principals]]\nname = \"bob\"\ntoken = { env = \"E2E_ADMIN_BOB\" }\nroles = [\"approver\"]\n".to_owned();
    let env: Vec<(&str, &str)> = ENV
        .iter()
        .copied()
        .chain([("E2E_ADMIN_BOB", "bob-token")])
        .collect();
    let spec = |port| BrokerSpec {
        port,
        issuer: Some(issuer.clone()),
        registry: &registry,
        env: &env,
        store: Some(redis_store(&redis.url())),
        keys: Some(keys.path().join("k")),
        extra_config: Some(admin.clone()),
        records: Some(records.url()),
    };
    let a = BrokerProcess::spawn(spec(port_a)).await.unwrap();
    let b = BrokerProcess::spawn(spec(port_b)).await.unwrap();
    let login_at = |url: String| async move {
        let req = request();
        let r = browser().unwrap().get(req.url(&url)).send().await.unwrap();
        e2e::rp::query(&e2e::rp::location(&r).unwrap()).unwrap()
    };
    assert!(!login_at(b.url.clone()).await.contains_key("error"));
    let r = e2e::rp::http()
        .post(format!("{}/admin/providers/ab-account/suspend", a.url))
        .bearer_auth("bob-token")
        .json(&serde_json::json!({ "reason": "incident on replica test" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // The very next request refuses, on A where the change was made and on B.
    assert_eq!(login_at(a.url.clone()).await["error"], "access_denied");
    assert_eq!(
        login_at(b.url.clone()).await["error"],
        "access_denied",
        "{}",
        b.log()
    );
}
