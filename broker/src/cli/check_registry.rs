//! `broker check-registry FILE`: validate a registry file the way the broker will load it.

use std::path::Path;

use trust_framework::Registry;

/// Prints every problem, one per line, and returns whether the file is valid.
pub fn run(path: &Path, out: &mut impl std::io::Write) -> std::io::Result<bool> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            writeln!(out, "{}: cannot read the file: {e}", path.display())?;
            return Ok(false);
        }
    };
    match Registry::from_toml(&text) {
        Ok(registry) => {
            writeln!(
                out,
                "{}: valid{} (providers: {}, relying parties: {}, agreements: {})",
                path.display(),
                if registry.is_development() {
                    " development registry"
                } else {
                    ""
                },
                registry.providers().len(),
                registry.relying_parties().len(),
                registry.agreements().len()
            )?;
            Ok(true)
        }
        Err(e) => {
            let problems = e.problems();
            for p in &problems {
                writeln!(out, "{}: {p}", path.display())?;
            }
            writeln!(out, "{}: {} problem(s)", path.display(), problems.len())?;
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> (bool, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.toml");
        std::fs::write(&path, text).unwrap();
        let mut out = Vec::new();
        let ok = run(&path, &mut out).unwrap();
        (ok, String::from_utf8(out).unwrap())
    }

    #[test]
    fn the_example_registry_is_valid() {
        let (ok, out) = check(include_str!("../../../examples/registry/pan-canada.toml"));
        assert!(ok, "{out}");
        assert!(
            out.contains(
                "valid development registry (providers: 5, relying parties: 4, agreements: 4)"
            ),
            "{out}"
        );
    }

    #[test]
    fn every_problem_is_printed() {
        let text = include_str!("../../../examples/registry/pan-canada.toml")
            .replace("\"sector_identifier\"", "x")
            .replace("minimum_level = 3", "minimum_level = 7")
            .replace(
                "\"address\", \"preferred_language\"]\nminimum_level",
                "\"sin\", \"preferred_language\"]\nminimum_level",
            );
        let (ok, out) = check(&text);
        assert!(!ok);
        assert!(
            out.contains("agreements[3].minimum_level: 7 is not a level of assurance (1 to 4)"),
            "{out}"
        );
        assert!(
            out.contains("agreements[0].attributes[3]: \"sin\" is not a known attribute"),
            "{out}"
        );
        assert!(out.ends_with("2 problem(s)\n"), "{out}");
    }

    #[test]
    fn a_missing_file_is_a_problem_not_a_panic() {
        let mut out = Vec::new();
        assert!(!run(Path::new("/nonexistent/registry.toml"), &mut out).unwrap());
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("cannot read the file")
        );
    }
}
