//! Bilingual text. Every user-facing string in this project exists in both official languages,
//! so the type makes a missing translation a registry error rather than a blank on a page.

use serde::{Deserialize, Serialize};

/// One of Canada's two official languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Fr,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The other official language, for the language switch on every page.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Fr,
            Lang::Fr => Lang::En,
        }
    }

    /// Picks a language from a list of BCP 47 tags in preference order (`ui_locales`, then
    /// `Accept-Language`); `fr-CA` and `fr` both mean French.
    pub fn negotiate<'a>(tags: impl IntoIterator<Item = &'a str>) -> Option<Lang> {
        tags.into_iter().find_map(|tag| {
            let primary = tag
                .trim()
                .split(['-', '_', ';'])
                .next()?
                .to_ascii_lowercase();
            match primary.as_str() {
                "en" => Some(Lang::En),
                "fr" => Some(Lang::Fr),
                _ => None,
            }
        })
    }
}

/// A text in English and French. Both default to empty on input so that registry validation,
/// not the parser, reports a missing translation with its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Bilingual {
    pub en: String,
    pub fr: String,
}

impl Bilingual {
    pub fn new(en: impl Into<String>, fr: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            fr: fr.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Fr => &self.fr,
        }
    }

    /// Which language is missing (blank counts as missing), for registry validation.
    pub fn missing(&self) -> Vec<Lang> {
        let mut missing = Vec::new();
        if self.en.trim().is_empty() {
            missing.push(Lang::En);
        }
        if self.fr.trim().is_empty() {
            missing.push(Lang::Fr);
        }
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_first_official_language() {
        assert_eq!(Lang::negotiate(["de", "fr-CA", "en"]), Some(Lang::Fr));
        assert_eq!(Lang::negotiate(["en-GB;q=0.9"]), Some(Lang::En));
        assert_eq!(Lang::negotiate(["de", "es"]), None);
        assert_eq!(Lang::negotiate([""]), None);
    }

    #[test]
    fn reports_missing_languages() {
        assert_eq!(Bilingual::new("x", " ").missing(), vec![Lang::Fr]);
        assert_eq!(Bilingual::new("", "").missing(), vec![Lang::En, Lang::Fr]);
        assert!(Bilingual::new("a", "b").missing().is_empty());
    }
}
