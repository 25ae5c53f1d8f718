//! Fixtures shared by this crate's tests: the example registry at a fixed time.

use time::OffsetDateTime;
use time::macros::datetime;

use crate::registry::{Registry, RegistryFile};

pub const EXAMPLE: &str = include_str!("../../examples/registry/pan-canada.toml");

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
