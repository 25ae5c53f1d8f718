//! Fixtures shared by this crate's tests: the example registry as it stood in November 2026
//! (tests/fixtures/pan-canada-2026.toml), judged at a fixed time.

use time::OffsetDateTime;
use time::macros::datetime;

use crate::registry::{Registry, RegistryFile};

pub const EXAMPLE: &str = include_str!("../../tests/fixtures/pan-canada-2026.toml");

/// The registry the demo runs (its windows run to 2099).
pub const DEMO: &str = include_str!("../../examples/registry/pan-canada.toml");

pub const NOW: OffsetDateTime = datetime!(2026-11-24 12:00 UTC);

pub fn example_file() -> RegistryFile {
    toml::from_str(EXAMPLE).unwrap()
}

pub fn example() -> Registry {
    Registry::from_toml(EXAMPLE).unwrap()
}

/// The example registry after an edit, which must still validate.
pub fn edited(edit: impl FnOnce(&mut RegistryFile)) -> Registry {
    let mut file = example_file();
    edit(&mut file);
    Registry::from_file(file).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixture and the demo's registry are one registry but for their validity windows:
    /// whatever changes in one must change in the other.
    #[test]
    fn the_fixture_is_the_demo_registry_with_dated_windows() {
        let windows = |text: &str| -> RegistryFile {
            let mut file: RegistryFile = toml::from_str(text).unwrap();
            for p in &mut file.providers {
                for c in &mut p.certifications {
                    c.not_after = String::new();
                }
            }
            for a in &mut file.agreements {
                a.not_after = String::new();
            }
            file
        };
        assert_eq!(windows(EXAMPLE), windows(DEMO));
        let demo = Registry::from_toml(DEMO).unwrap();
        let far = datetime!(2099-01-01 0:00 UTC);
        assert!(
            demo.providers()
                .iter()
                .filter(|p| p.status.is_active())
                .all(|p| p.certified_level(far).is_some())
        );
    }
}
