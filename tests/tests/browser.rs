//! A person in headless Chromium (Debian's chromium, driven by playwright-core): the whole
//! login through `demo` — the service, the broker's picker, the provider's page, the consent,
//! the service's result — in English, in French, switching to French on the picker, by keyboard
//! only, and refusing; and the broker's error page in both languages. On every page
//! `browser.mjs` runs axe-core (no WCAG 2.1 A or AA violation), checks the focus indicator of
//! every control reached with Tab (3:1 or more, computed from the styles) and that nothing
//! overflows a 320 px screen. Screenshots of each page, desktop and 390 px wide, are saved under
//! tests/artifacts/browser/.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use e2e::demo::start_demo;
use e2e::interop::ensure_npm_installed;
use serde_json::Value;

async fn run(scenario: &str) -> Value {
    let dir = ensure_npm_installed().unwrap();
    let mut demo = start_demo().await.unwrap();
    let out = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("artifacts")
        .join("browser");
    let mut cmd = tokio::process::Command::new("node");
    // The browser keeps the machine's time: Chromium hangs under a faked clock (libfaketime,
    // to run the suite years ahead), and nothing the broker judges depends on its clock.
    cmd.env_remove("LD_PRELOAD")
        .env_remove("FAKETIME")
        .current_dir(&dir)
        .arg("browser.mjs")
        .args(["--rp", &demo.rp, "--broker", &demo.broker])
        .args(["--scenario", scenario, "--out"])
        .arg(&out);
    let output = tokio::time::timeout(std::time::Duration::from_secs(110), cmd.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut result: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|_| {
            panic!(
                "browser.mjs printed no JSON: {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    if result["ok"] != true {
        result["demo"] = Value::from(demo.diagnostics());
    }
    result
}

/// The pages walked, as (name, language), and every check `browser.mjs` made passed.
fn check(result: &Value, expected: &[(&str, &str)]) {
    assert_eq!(result["ok"], true, "{result:#}");
    let pages: Vec<(&str, &str)> = result["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["lang"].as_str().unwrap()))
        .collect();
    assert_eq!(pages, expected, "{result:#}");
    for page in result["pages"].as_array().unwrap() {
        for shot in page["screenshots"].as_array().unwrap() {
            assert!(Path::new(shot.as_str().unwrap()).exists(), "{shot}");
        }
        let rings = page["focus"].as_array().unwrap();
        assert!(!rings.is_empty(), "no control was focused on {page}");
        assert!(
            rings.iter().all(|r| r["ratio"].as_f64().unwrap() >= 3.0),
            "{page}"
        );
    }
}

fn check_result(result: &Value) {
    let text = result["result_text"].as_str().unwrap();
    for expected in [
        "Amélie",
        "Tremblay",
        "1988-03-14",
        "urn:pctf:loa:2",
        "ca_pctf",
    ] {
        assert!(
            text.contains(expected),
            "{expected} missing from the service's result page"
        );
    }
}

#[tokio::test]
async fn a_person_signs_in_with_the_mouse_in_english() {
    let result = run("en").await;
    check(
        &result,
        &[
            ("service", "en"),
            ("picker", "en"),
            ("provider", "en"),
            ("consent", "en"),
            ("result", "en"),
        ],
    );
    check_result(&result);
}

#[tokio::test]
async fn a_person_signs_in_with_the_mouse_in_french() {
    let result = run("fr").await;
    check(
        &result,
        &[
            ("service", "fr"),
            ("picker", "fr"),
            ("provider", "fr"),
            ("consent", "fr"),
            ("result", "fr"),
        ],
    );
    check_result(&result);
}

/// The language chosen on the picker is kept: the provider is asked for French and the consent
/// page comes in French, although the service asked for English.
#[tokio::test]
async fn a_person_switches_to_french_on_the_picker() {
    let result = run("switch").await;
    check(
        &result,
        &[
            ("service", "en"),
            ("picker", "en"),
            ("picker", "fr"),
            ("provider", "fr"),
            ("consent", "fr"),
            ("result", "en"),
        ],
    );
    check_result(&result);
}

#[tokio::test]
async fn a_person_signs_in_with_the_keyboard_only_switching_to_french() {
    let result = run("keyboard").await;
    check(
        &result,
        &[
            ("service", "en"),
            ("picker", "en"),
            ("picker", "fr"),
            ("provider", "fr"),
            ("consent", "fr"),
            ("result", "en"),
        ],
    );
    check_result(&result);
}

/// A refusal reaches the service with its `error_description` in French, as the service asked
/// in `ui_locales`.
#[tokio::test]
async fn a_person_refuses_in_french_and_the_service_is_told_in_french() {
    let result = run("refuse").await;
    check(
        &result,
        &[
            ("service", "fr"),
            ("picker", "fr"),
            ("provider", "fr"),
            ("consent", "fr"),
            ("refused", "fr"),
        ],
    );
    let text = result["result_text"].as_str().unwrap();
    assert!(
        text.contains("La personne a choisi de ne pas communiquer ses renseignements."),
        "{text}"
    );
    assert!(!text.contains("the person chose"), "{text}");
}

/// A program whose law authorizes the collection tells, names the law, and does not ask.
#[tokio::test]
async fn a_notice_names_its_law_in_both_languages() {
    for lang in ["en", "fr"] {
        let result = run(&format!("notice-{lang}")).await;
        check(
            &result,
            &[
                ("service", lang),
                ("picker", lang),
                ("provider", lang),
                ("notice", lang),
                ("result", lang),
            ],
        );
    }
}

#[tokio::test]
async fn a_person_refuses_in_english() {
    let result = run("refuse-en").await;
    check(
        &result,
        &[
            ("service", "en"),
            ("picker", "en"),
            ("provider", "en"),
            ("consent", "en"),
            ("refused", "en"),
        ],
    );
    let text = result["result_text"].as_str().unwrap();
    assert!(
        text.contains("the person chose not to share their information"),
        "{text}"
    );
}

#[tokio::test]
async fn the_error_page_speaks_both_languages() {
    let result = run("errors").await;
    check(&result, &[("error", "en"), ("error", "fr")]);
}

/// Signing out: the broker's question when a request is not tied to the session, "stay signed
/// in", then the service's Sign out through the broker and the provider, and the signed-out
/// pages, in both languages.
#[tokio::test]
async fn a_person_signs_out_in_both_languages() {
    for lang in ["en", "fr"] {
        let result = run(&format!("logout-{lang}")).await;
        check(
            &result,
            &[
                ("service", lang),
                ("picker", lang),
                ("provider", lang),
                ("consent", lang),
                ("result", lang),
                ("logout-question", lang),
                ("still-signed-in", lang),
                ("service-signed-out", lang),
                ("signed-out", lang),
            ],
        );
    }
}
