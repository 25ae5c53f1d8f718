//! A person in headless Chromium (Debian's chromium, driven by playwright-core): the whole
//! login through `demo` — the service, the broker's picker, the provider's page, the consent,
//! the service's result — in English, in French, switching to French on the picker, by keyboard
//! only, and refusing; and the broker's error page in both languages. On every page
//! `browser.mjs` runs axe-core (no WCAG 2.1 A or AA violation), checks the focus indicator of
//! every control reached with Tab (3:1 or more, computed from the styles) and that nothing
//! overflows a 320 px screen. Screenshots of each page, desktop and 390 px wide, are saved under
//! tests/artifacts/browser/.
//!
//! The person's own record (`/my-record`, `/mon-dossier`) is walked in both languages and by
//! keyboard only: two services remembered, the record, a withdrawal with its fresh sign-in and
//! the service's signed event, "This wasn't me", and the consent page asked again.

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
    // The record's scenarios walk twenty pages and wait for a queued event.
    let output = tokio::time::timeout(std::time::Duration::from_secs(240), cmd.output())
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

/// The pages of a record scenario, in `lang`: two services whose consent is remembered (each
/// through the picker and the provider), the first service again without the consent page, the record's sign-in and the provider, the
/// record, the withdrawal's question, the fresh sign-in at the provider, the record after the
/// withdrawal, the thank-you page of "This wasn't me", and the first service again, its
/// consent page back.
fn record_pages(lang: &str) -> Vec<(&str, &str)> {
    [
        "service",
        "picker",
        "provider",
        "consent",
        "result",
        "service",
        "picker",
        "provider",
        "consent",
        "result",
        "service",
        "result",
        "record-sign-in",
        "provider",
        "record",
        "withdraw",
        "provider",
        "record-withdrawn",
        "reported",
        "service",
        "consent",
        "result",
    ]
    .into_iter()
    .map(|name| (name, lang))
    .collect()
}

/// What the record showed and what the service received, whatever the language.
fn check_record(result: &Value, lang: &str) {
    let text = result["record_text"].as_str().unwrap();
    let names: &[&str] = if lang == "fr" {
        &[
            "Assurance-emploi (démo)",
            "Aide financière aux étudiants de l'Alberta (démo)",
            "Prénom",
            "Nom de famille",
            "Date de naissance",
            "Adresse courriel",
        ]
    } else {
        &[
            "Employment Insurance (demo)",
            "Alberta Student Aid (demo)",
            "Given name",
            "Family name",
            "Date of birth",
            "Email address",
        ]
    };
    for name in names {
        assert!(
            text.contains(name),
            "{name} missing from the record: {text}"
        );
    }
    // The record names the information, never the information itself.
    for value in ["Amélie", "Tremblay", "1988-03-14"] {
        assert!(!text.contains(value), "{value} shown on the record: {text}");
    }
    let events = result["security_events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{result:#}");
    assert_eq!(events[0]["client"], "esdc-employment-insurance");
    assert_eq!(events[0]["agreement_id"], "isa-esdc-ei-2025");
    // The withdrawal's sign-in at the provider was a fresh one.
    let fresh = result["fresh_sign_in"].as_str().unwrap();
    assert!(fresh.contains("prompt=login"), "{fresh}");
    assert!(
        !result["report_reference"].as_str().unwrap().is_empty(),
        "{result:#}"
    );
    check_result(result);
}

#[tokio::test]
async fn a_person_withdraws_a_consent_from_their_record_in_english() {
    let result = run("record-en").await;
    check(&result, &record_pages("en"));
    check_record(&result, "en");
    assert_eq!(result["security_events"][0]["reason"], "changed_mind");
}

#[tokio::test]
async fn a_person_withdraws_a_consent_from_their_record_in_french() {
    let result = run("record-fr").await;
    check(&result, &record_pages("fr"));
    check_record(&result, "fr");
    assert_eq!(result["security_events"][0]["reason"], "changed_mind");
}

/// The same with Tab, Enter and Space only: the remember box, the reason and every button and
/// link reached in focus order.
#[tokio::test]
async fn a_person_withdraws_a_consent_from_their_record_with_the_keyboard_only() {
    let result = run("record-keyboard").await;
    check(&result, &record_pages("en"));
    check_record(&result, "en");
    assert_eq!(result["security_events"][0]["reason"], "no_longer_use");
}
