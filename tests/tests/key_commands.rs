//! `broker generate-keys`, `broker keys list` and `broker keys rotate` as an operator runs
//! them: on files, from the command line.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::Command;

use e2e::broker::{broker_binary, generate_keys};
use serde_json::Value;

fn run(args: &[&str]) -> String {
    let out = Command::new(broker_binary().unwrap())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "broker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The JWKS printed after the report lines.
fn jwks(output: &str) -> Value {
    let start = output.find('{').unwrap();
    serde_json::from_str(&output[start..]).unwrap()
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn keys_rotate_promotes_the_published_next_key_and_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    generate_keys(&keys).unwrap();
    assert!(keys.join("es256.next.pem").exists());
    let config = dir.path().join("broker.toml");
    std::fs::write(
        &config,
        "version = 1\nissuer = \"https://broker.example\"\nregistry = \"r.toml\"\n[keys]\nES256 = \"keys/es256.pem\"\nEdDSA = \"keys/eddsa.pem\"\n[pairwise]\nsecret = { env = \"P\" }\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let before = jwks(&run(&["keys", "list", "--config", config]));
    assert_eq!(
        kids(&before).len(),
        4,
        "two signing keys and their next keys"
    );

    let out = run(&["keys", "rotate", "--config", config]);
    let es = out.lines().find(|l| l.starts_with("ES256:")).unwrap();
    let signing = es.split_whitespace().nth(1).unwrap();
    assert!(
        kids(&before).contains(&signing.to_owned()),
        "the new signing key was published before: {es}"
    );
    let after = jwks(&out);
    // Both old signing keys retired but published, two promoted, two fresh next keys.
    assert_eq!(kids(&after).len(), 6, "{after}");
    assert!(kids(&before).iter().all(|k| kids(&after).contains(k)));
    let retired = std::fs::read_dir(&keys)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".retired-")
        })
        .count();
    assert_eq!(retired, 2);
}

#[test]
fn the_log_key_is_generated_with_the_others_and_rotated_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    generate_keys(&keys).unwrap();
    assert!(keys.join("log.pem").exists() && keys.join("log.next.pem").exists());
    let config = dir.path().join("broker.toml");
    std::fs::write(
        &config,
        "version = 1\nissuer = \"https://broker.example\"\nregistry = \"r.toml\"\n[keys]\nES256 = \"keys/es256.pem\"\n[pairwise]\nsecret = { env = \"P\" }\n[log]\nkey = \"keys/log.pem\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let log_keys = |out: &str| -> Vec<String> {
        out.lines()
            .filter_map(|l| l.strip_prefix("log: "))
            .map(|l| l.split_whitespace().next().unwrap().to_owned())
            .collect()
    };
    let before = log_keys(&run(&["keys", "list", "--config", config]));
    assert_eq!(
        before.len(),
        2,
        "the signing key and the next key: {before:?}"
    );
    assert!(before[0].starts_with("broker.example/log+"), "{before:?}");

    // The next key signs; a fresh next key is published.
    let after = log_keys(&run(&["keys", "rotate", "--config", config]));
    assert_eq!(after[0], before[1], "the published next key signs now");
    assert_ne!(after[1], before[0]);
    assert_ne!(after[1], before[1]);
}
