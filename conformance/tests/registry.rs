//! The registry checks on the development registry (passes) and on bad files, each failing
//! exactly the rule it breaks; plus the report formats and the binary's exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use conformance::registry::check_registry;
use conformance::report;
use time::macros::datetime;

/// The example registry as it stood in 2026, judged at a fixed time.
const EXAMPLE: &str = include_str!("../../tests/fixtures/pan-canada-2026.toml");
/// The demo's registry, in force whenever the binary runs (it checks at the machine's time).
const DEMO: &str = include_str!("../../examples/registry/pan-canada.toml");
const NOW: time::OffsetDateTime = datetime!(2026-06-01 0:00 UTC);

fn failed(text: &str) -> Vec<&'static str> {
    check_registry("test.toml", text, NOW).failed_ids()
}

#[test]
fn example_registry_passes() {
    let report = check_registry("pan-canada.toml", EXAMPLE, NOW);
    assert!(report.passed(), "{:?}", report.failed_ids());
    assert_eq!(report.summary().pass, 7);
}

#[test]
fn expired_certification_fails_provider_certified() {
    // Alberta's authentication certification ended before now.
    let bad = EXAMPLE.replacen(
        "component = \"authentication\"\nlevel = 3\nnot_before = \"2025-04-01T00:00:00Z\"\nnot_after = \"2028-04-01T00:00:00Z\"",
        "component = \"authentication\"\nlevel = 3\nnot_before = \"2025-04-01T00:00:00Z\"\nnot_after = \"2026-01-01T00:00:00Z\"",
        1,
    );
    assert_ne!(bad, EXAMPLE);
    assert_eq!(failed(&bad), ["REG-PROVIDER-CERTIFIED"]);
}

#[test]
fn acr_above_certification_fails_provider_certified() {
    let bad = EXAMPLE.replace(
        "\"urn:bc:bcsc:verified\" = 2",
        "\"urn:bc:bcsc:verified\" = 3",
    );
    assert_eq!(failed(&bad), ["REG-PROVIDER-CERTIFIED"]);
}

#[test]
fn missing_french_purpose_fails_purpose() {
    let bad = EXAMPLE.replace(
        "fr = \"Pour vous délivrer une carte de bibliothèque à votre nom et à votre adresse.\"",
        "fr = \"\"",
    );
    assert_eq!(failed(&bad), ["REG-AGREEMENT-PURPOSE"]);
}

#[test]
fn no_retention_fails_retention() {
    let bad = EXAMPLE.replace("retention_days = 1095", "retention_days = 0");
    assert_eq!(failed(&bad), ["REG-AGREEMENT-RETENTION"]);
}

#[test]
fn expired_agreement_fails_window() {
    let bad = EXAMPLE.replace(
        "not_before = \"2025-08-01T00:00:00Z\"\nnot_after = \"2028-08-01T00:00:00Z\"",
        "not_before = \"2024-08-01T00:00:00Z\"\nnot_after = \"2026-02-01T00:00:00Z\"",
    );
    assert_eq!(failed(&bad), ["REG-AGREEMENT-WINDOW"]);
}

#[test]
fn dangling_references_fail_references() {
    let bad = EXAMPLE
        .replace(
            "providers = [\"ab-account\", \"ircc-newcomers\"]",
            "providers = [\"ab-account\", \"nowhere-idp\"]",
        )
        .replace(
            "relying_party = \"vpl-library-card\"",
            "relying_party = \"no-such-service\"",
        );
    assert_eq!(failed(&bad), ["REG-REFERENCES"]);
}

#[test]
fn malformed_entries_fail_valid_and_unreadable_files_fail_parse() {
    let bad = EXAMPLE.replace(
        "jurisdiction = \"CA-AB\"\nname = { en = \"Alberta.ca",
        "jurisdiction = \"CA-XX\"\nname = { en = \"Alberta.ca",
    );
    assert_eq!(failed(&bad), ["REG-VALID"]);
    assert_eq!(failed("[registry\nversion = 1"), ["REG-PARSE"]);
}

#[test]
fn reports_are_bilingual_and_well_formed() {
    let bad = EXAMPLE.replace("retention_days = 1095", "retention_days = 0");
    let r = check_registry("bad <file>.toml", &bad, NOW);
    let html = report::html(&r);
    assert!(html.contains("REG-AGREEMENT-RETENTION"));
    assert!(html.contains("Every agreement sets a retention period"));
    assert!(html.contains("Chaque entente fixe une durée de conservation"));
    assert!(html.contains("aucune durée de conservation"));
    assert!(html.contains("bad &lt;file&gt;.toml"));
    assert!(!html.contains("<script"));
    let junit = report::junit(&r);
    assert!(junit.contains("failures=\"1\""));
    assert!(junit.contains("<failure message="));
    let json: serde_json::Value = serde_json::from_str(&report::json(&r).unwrap()).unwrap();
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "REG-AGREEMENT-RETENTION")
        .unwrap();
    assert_eq!(check["result"], "fail");
    assert!(
        check["reason"]["fr"]
            .as_str()
            .unwrap()
            .contains("conservation")
    );
}

#[test]
fn the_binary_exits_0_1_and_2() {
    let bin = env!("CARGO_BIN_EXE_conformance");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let good = dir.join("good.toml");
    let bad = dir.join("bad.toml");
    std::fs::write(&good, DEMO).unwrap();
    std::fs::write(
        &bad,
        DEMO.replace("retention_days = 1095", "retention_days = 0"),
    )
    .unwrap();
    let run =
        |args: &[&std::ffi::OsStr]| std::process::Command::new(bin).args(args).output().unwrap();
    let junit = dir.join("out.xml");
    let out = run(&[
        "registry".as_ref(),
        good.as_os_str(),
        "--junit".as_ref(),
        junit.as_os_str(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("<testsuite")
    );
    assert_eq!(
        run(&["registry".as_ref(), bad.as_os_str()]).status.code(),
        Some(1)
    );
    assert_eq!(run(&["provider".as_ref()]).status.code(), Some(2));
    assert_eq!(
        run(&["registry".as_ref(), dir.join("missing.toml").as_os_str()])
            .status
            .code(),
        Some(2)
    );
}
