//! The GC Design System's tokens and fonts the broker builds in (`broker/static/gcds/`) are
//! the files of the packages its lockfile pins, byte for byte: `scripts/update-gcds --check`
//! installs those packages with `npm ci` and compares.

#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn the_design_system_copies_are_the_pinned_packages() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = std::process::Command::new("bash")
        .arg(root.join("scripts/update-gcds"))
        .arg("--check")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
