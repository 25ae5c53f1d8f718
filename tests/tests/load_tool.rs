//! The load tool (`load`) as load/run.sh runs it, briefly: brokered logins through `demo
//! --providers elsewhere` with the demo providers served in the load tool's own process, and
//! single-hop logins at in-process providers. Each must complete logins (ID token signatures
//! verified by the tool) without a single error, and report them as JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;

use e2e::broker::load_binary;
use e2e::demo::start_demo_without_providers;
use serde_json::Value;

const RP: &str = "esdc-employment-insurance";

/// Runs the load tool to its end; returns its JSON report (and panics with its standard error
/// if it failed).
async fn run_load(args: &[&str], env: &[(String, String)]) -> Value {
    let output = tokio::process::Command::new(load_binary().unwrap())
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "load failed: {stderr}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"))
}

fn only_run(report: &Value) -> &Value {
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{report}");
    &runs[0]
}

#[tokio::test]
async fn brokered_logins_with_the_providers_in_the_load_tool() {
    let mut demo = start_demo_without_providers().await.unwrap();
    // The relying service's secret and redirect URI, from the banner line of its client:
    //   service ... client_id RP  secret S  (client_secret_basic)  redirect URI
    let line = demo
        .banner
        .lines()
        .find(|l| l.contains(&format!("client_id {RP} ")))
        .unwrap_or_else(|| panic!("no line for {RP} in the banner: {}", demo.banner));
    let after = |marker: &str| {
        line.split(marker)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no {marker:?} in {line:?}"))
            .to_owned()
    };
    let (secret, redirect) = (after("secret "), after("redirect "));
    let mut env = demo.secrets.clone();
    env.push(("LOAD_CLIENT_SECRET".to_owned(), secret));
    let registry = demo.registry.to_string_lossy().into_owned();
    let report = run_load(
        &[
            "--broker",
            &demo.broker,
            "--client-id",
            RP,
            "--redirect-uri",
            &redirect,
            "--serve-providers",
            "--registry",
            &registry,
            "--concurrency",
            "2",
            "--logins",
            "40",
            "--warmup",
            "0s",
        ],
        &env,
    )
    .await;
    let run = only_run(&report);
    assert_eq!(report["mode"], "brokered", "{report}");
    assert_eq!(report["providers_in_process"], true);
    // Round robin over every provider of the registry, each with its first test person.
    assert_eq!(
        report["idp_hints"],
        serde_json::json!([
            "ab-account",
            "bc-services-card",
            "qc-sqin",
            "ircc-newcomers"
        ]),
        "{report}"
    );
    assert_eq!(run["logins"], 40, "{report}\n{}", demo.diagnostics());
    assert_eq!(run["errors"], serde_json::json!({}), "{report}");
    for step in [
        "authorize",
        "provider",
        "callback",
        "consent",
        "token",
        "verify",
    ] {
        assert!(
            run["step_latency_ms"][step]["n"].as_u64() == Some(40),
            "step {step}: {report}"
        );
    }
}

#[tokio::test]
async fn the_load_tool_refuses_to_serve_providers_without_their_secrets() {
    let demo = start_demo_without_providers().await.unwrap();
    let registry = demo.registry.to_string_lossy().into_owned();
    let output = tokio::process::Command::new(load_binary().unwrap())
        .args([
            "--broker",
            &demo.broker,
            "--client-id",
            RP,
            "--client-secret",
            "unused",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
            "--serve-providers",
            "--registry",
            &registry,
        ])
        .env_remove("BROKER_IDP_AB_ACCOUNT_SECRET")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("set BROKER_IDP_AB_ACCOUNT_SECRET"),
        "{stderr}"
    );
}

#[tokio::test]
async fn single_hop_logins_at_in_process_providers() {
    let report = run_load(
        &[
            "--single-hop",
            "--spawn-demo-provider",
            "--providers",
            "2",
            "--concurrency",
            "2",
            "--logins",
            "40",
            "--warmup",
            "0s",
        ],
        &[],
    )
    .await;
    let run = only_run(&report);
    assert_eq!(report["mode"], "single_hop", "{report}");
    assert_eq!(run["logins"], 40, "{report}");
    assert_eq!(run["errors"], serde_json::json!({}), "{report}");
}
