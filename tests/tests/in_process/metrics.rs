//! `GET /metrics` over real HTTP: the counters move with a login, a refused request and a
//! person who declines, and nothing a client sent or a person is shows up in a label.
//!
//! The registry is process-wide and other tests in this binary may count too: every check is
//! "went up by at least", never an exact value.

use std::collections::HashMap;

use crate::common::*;

/// Every sample of an OpenMetrics text exposition, by series (name and labels as written).
fn parse(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {l}"));
            let value = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {l}")),
            };
            (series.to_owned(), value)
        })
        .collect()
}

async fn scrape(bed: &TestBed) -> (HashMap<String, f64>, String) {
    let r = http()
        .get(format!("{}/metrics", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    let text = r.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    (parse(&text), text)
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

#[track_caller]
fn assert_grew(before: &HashMap<String, f64>, after: &HashMap<String, f64>, series: &str, by: f64) {
    let (b, a) = (value(before, series), value(after, series));
    assert!(
        a - b >= by,
        "{series}: {b} -> {a}, expected an increase of at least {by}"
    );
}

#[tokio::test]
async fn metrics_count_a_login_a_refusal_and_a_declined_consent() {
    let bed = start(Options {
        sessions: without_reuse(),
        ..Options::default()
    })
    .await;
    let (before, _) = scrape(&bed).await;

    // One successful login, through Alberta, with its code redeemed at /token.
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    bed.login(&req, "ab-account").await;

    // One refused request: a token request with the wrong client secret.
    let (status, body) = bed.redeem(&req, "never-issued", "wrong-secret").await;
    assert!((400..500).contains(&status), "{status} {body}");

    // One person who declines to share.
    let declined = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let walk = e2e::rp::Walk {
        provider: "ab-account".into(),
        login_hint: Some(bed.persons["ab-account"].clone()),
        consent: Some("deny".into()),
        ..e2e::rp::Walk::default()
    };
    let outcome = e2e::rp::browse(&bed.http, &bed.broker_url, &declined, &walk)
        .await
        .unwrap();
    assert_eq!(outcome.params["error"], "access_denied");

    // One request the trust framework refuses at /authorize: no provider reaches level 4.
    let too_high = AuthRequest::new(RP, RP_REDIRECT).with("acr_values", "urn:pctf:loa:4");
    let r = bed
        .http
        .get(too_high.url(&bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        query(&location(&r))["error"],
        "unmet_authentication_requirements"
    );

    // A path no route matches, with a value that must never become a label.
    let stray = format!("/no-such-page-{}", rand_token());
    let r = bed
        .http
        .get(format!("{}{stray}", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // A body over the limit is refused before routing: counted, but under no route.
    let r = bed
        .http
        .post(format!("{}/token", bed.broker_url))
        .body(vec![b'a'; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    let (after, text) = scrape(&bed).await;
    let logins = |outcome: &str| {
        format!("broker_logins_total{{provider=\"ab-account\",outcome=\"{outcome}\"}}")
    };
    assert_grew(&before, &after, &logins("success"), 1.0);
    assert_grew(&before, &after, &logins("denied"), 1.0);
    assert_grew(
        &before,
        &after,
        r#"broker_policy_refusals_total{reason="level_not_attainable"}"#,
        1.0,
    );
    assert_grew(
        &before,
        &after,
        r#"broker_http_requests_total{method="POST",route="/token",status="2xx"}"#,
        1.0,
    );
    assert_grew(
        &before,
        &after,
        r#"broker_http_requests_total{method="POST",route="/token",status="4xx"}"#,
        1.0,
    );
    assert_grew(
        &before,
        &after,
        r#"broker_http_requests_total{method="GET",route="/callback",status="2xx"}"#,
        2.0,
    );
    assert_grew(
        &before,
        &after,
        r#"broker_http_requests_total{method="GET",route="unmatched",status="4xx"}"#,
        1.0,
    );
    assert_grew(
        &before,
        &after,
        r#"broker_http_requests_total{method="POST",route="refused",status="4xx"}"#,
        1.0,
    );
    assert_grew(
        &before,
        &after,
        r#"broker_http_request_duration_seconds_count{route="/token"}"#,
        2.0,
    );
    assert_grew(
        &before,
        &after,
        r#"broker_upstream_request_duration_seconds_count{provider="ab-account",step="token"}"#,
        2.0,
    );
    // Every observation falls in the +Inf bucket: the histogram's buckets are consistent.
    let inf_bucket = after
        .iter()
        .find(|(series, _)| {
            series.starts_with("broker_upstream_request_duration_seconds_bucket{")
                && ["le=\"+Inf\"", "provider=\"ab-account\"", "step=\"token\""]
                    .iter()
                    .all(|label| series.contains(label))
        })
        .map(|(_, v)| *v);
    assert_eq!(
        inf_bucket,
        Some(value(
            &after,
            r#"broker_upstream_request_duration_seconds_count{provider="ab-account",step="token"}"#
        )),
        "{text}"
    );
    let build = format!(
        "broker_build_info{{version=\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(value(&after, &build), 1.0, "{text}");
    for series in [
        r#"broker_rate_limited_total{scope="client"}"#,
        r#"broker_rate_limited_total{scope="address"}"#,
        r#"broker_store_errors_total{op="take"}"#,
    ] {
        assert!(after.contains_key(series), "{series} missing from {text}");
    }
    // At least the scrape's own connection is open.
    assert!(
        value(&after, "broker_http_connections_open") >= 1.0,
        "{text}"
    );

    // Bounded and impersonal: no raw path, no person, no state, nonce or client secret.
    for leaked in [
        stray.as_str(),
        bed.persons["ab-account"].as_str(),
        req.state.as_str(),
        req.nonce.as_str(),
        RP_SECRET,
        "wrong-secret",
        "never-issued",
    ] {
        assert!(!text.contains(leaked), "{leaked} in the metrics:\n{text}");
    }
}

#[tokio::test]
async fn metrics_count_a_failing_provider_as_an_upstream_error() {
    let bed = start(Options {
        faults: HashMap::from([("ab-account", demo::provider::Fault::TokenEndpointError)]),
        ..Options::default()
    })
    .await;
    let (before, _) = scrape(&bed).await;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let outcome = bed.browse(&req, "ab-account").await;
    assert!(outcome.params.contains_key("error"), "{:?}", outcome.params);
    let (after, _) = scrape(&bed).await;
    assert_grew(
        &before,
        &after,
        r#"broker_logins_total{provider="ab-account",outcome="upstream_error"}"#,
        1.0,
    );
    assert_grew(
        &before,
        &after,
        r#"broker_upstream_errors_total{provider="ab-account",step="token"}"#,
        1.0,
    );
}
