//! A person in headless Chromium (Debian's chromium, driven by playwright-core): the whole
//! login through `demo` — the service, the broker's picker, the provider's page, the
//! consent in French, the service's result — by mouse and by keyboard only. Screenshots of each
//! page are saved under tests/artifacts/.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use e2e::demo::start_demo;
use e2e::interop::ensure_npm_installed;
use serde_json::Value;

async fn run(keyboard: bool) -> Value {
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
        .args(["--rp", &demo.rp, "--lang", "fr", "--out"])
        .arg(&out);
    if keyboard {
        cmd.arg("--keyboard");
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(90), cmd.output())
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

fn check(result: &Value) {
    assert_eq!(result["ok"], true, "{result:#}");
    let pages: Vec<&str> = result["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        pages,
        ["service", "picker", "provider", "consent", "result"]
    );
    for page in result["pages"].as_array().unwrap() {
        assert_eq!(page["lang"], "fr", "{page}");
        assert!(Path::new(page["screenshot"].as_str().unwrap()).exists());
    }
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
async fn a_person_signs_in_with_the_mouse_in_french() {
    check(&run(false).await);
}

#[tokio::test]
async fn a_person_signs_in_with_the_keyboard_only() {
    check(&run(true).await);
}
