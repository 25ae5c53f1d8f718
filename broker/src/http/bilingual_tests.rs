//! Every user-facing string of the broker's pages and the demo's is written in both official
//! languages: each `pick(lang, "English", "French")` (and the demo's `lang.pick(..)`) found in
//! the sources is listed, and the test fails on one whose English or French is missing, one
//! left the same in both (an untranslated copy), or French without the space French puts
//! before a colon.

use std::path::{Path, PathBuf};

/// Same in both languages on purpose.
const SAME_IN_BOTH: &[&str] = &["Service", "Transaction (txn)", "Description:", "Version"];

#[test]
fn every_user_facing_string_exists_in_both_languages() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("src"), &mut files);
    collect(&root.join("../demo/src"), &mut files);
    let mut pairs = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (en, fr) in picks(&text) {
            pairs.push((file.clone(), en, fr));
        }
    }
    assert!(
        pairs.len() > 100,
        "the scan found only {} strings: it no longer reads the sources right",
        pairs.len()
    );
    let mut problems = Vec::new();
    for (file, en, fr) in &pairs {
        let place = file.strip_prefix(root).unwrap_or(file).display();
        if en.trim().is_empty() || fr.trim().is_empty() {
            problems.push(format!("{place}: missing a language: {en:?} / {fr:?}"));
        } else if en == fr && !SAME_IN_BOTH.contains(&en.as_str()) && !is_a_name(en) {
            problems.push(format!("{place}: not translated: {en:?}"));
        }
        if let Some(bad) = colon_without_space(fr) {
            problems.push(format!(
                "{place}: French wants a non-breaking space before the colon in {bad:?}: {fr:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A proper name or a language's own name, the same in both languages.
fn is_a_name(text: &str) -> bool {
    matches!(
        text,
        "English" | "Français" | "Alberta" | "Manitoba" | "Ontario"
    )
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path.ends_with("bilingual_tests.rs")
        {
            out.push(path);
        }
    }
}

/// The (English, French) literals of every `pick(` call whose two texts are literals.
fn picks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices("pick(") {
        // A definition (`fn pick(`) is not a call.
        if text[..at].ends_with("fn ") {
            continue;
        }
        let mut rest = text[at + "pick(".len()..].trim_start();
        // `pick(lang, "..", "..")`: skip the language argument.
        if !rest.starts_with('"') {
            match rest.find(',') {
                Some(comma) if !rest[..comma].contains('"') && !rest[..comma].contains(')') => {
                    rest = rest[comma + 1..].trim_start();
                }
                _ => continue,
            }
        }
        let Some((en, after)) = literal(rest) else {
            continue;
        };
        let Some(after) = after.trim_start().strip_prefix(',') else {
            continue;
        };
        let Some((fr, _)) = literal(after.trim_start()) else {
            continue;
        };
        out.push((en, fr));
    }
    out
}

/// A Rust string literal at the start of `s` (escapes decoded), and what follows it.
fn literal(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &body[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                '"' => value.push('"'),
                '\\' => value.push('\\'),
                '\'' => value.push('\''),
                'u' => {
                    let mut hex = String::new();
                    for (_, h) in chars.by_ref() {
                        match h {
                            '{' => {}
                            '}' => break,
                            h => hex.push(h),
                        }
                    }
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                // A line continuation: the newline and the next line's indentation go.
                '\n' => {
                    let rest = chars.as_str();
                    let skipped = rest.len() - rest.trim_start().len();
                    for _ in 0..skipped {
                        chars.next();
                    }
                }
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

/// A colon in French prose without the (non-breaking) space before it.
fn colon_without_space(fr: &str) -> Option<String> {
    let chars: Vec<char> = fr.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c != ':' || i == 0 {
            continue;
        }
        let before = chars[i - 1];
        let after = chars.get(i + 1).copied();
        // `https://`, `urn:x`, `10:30` are not prose.
        let prose = matches!(after, None | Some(' ') | Some('\u{a0}'));
        if prose && (before == ' ' || !before.is_whitespace()) {
            let from = i.saturating_sub(12);
            return Some(chars[from..=i].iter().collect());
        }
    }
    None
}

#[test]
fn the_scan_reads_calls_as_they_are_written() {
    let src = r#"
        pick(lang, "Yes", "Oui")
        lang.pick(
            "A \"quoted\" word",
            "Un mot \u{a0}cité",
        )
        fn pick(lang: Lang, en: &str, fr: &str) {}
        pick(lang, en, fr)
    "#;
    assert_eq!(
        picks(src),
        [
            ("Yes".to_owned(), "Oui".to_owned()),
            (
                "A \"quoted\" word".to_owned(),
                "Un mot \u{a0}cité".to_owned()
            )
        ]
    );
    assert!(colon_without_space("Code d'erreur:").is_some());
    assert!(colon_without_space("Code : x").is_some());
    assert_eq!(colon_without_space("Code\u{a0}: x"), None);
    assert_eq!(colon_without_space("voir https://x.ca"), None);
}
