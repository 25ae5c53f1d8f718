//! Who runs the broker, said on every page: next to canada.ca a page that names no one looks
//! like a copy. The operator's name and logo head each page and its footer links to the
//! privacy notice, terms, accessibility statement and contact, as the Government of Canada's
//! design system lays out a service's header and footer; all from `[operator]` in the
//! configuration, in both languages.
//!
//! Every page has them without each handler passing them down: the router runs each request
//! in a [`scope`] that holds the operator, and [`current`] reads it there (the same way
//! `crate::budget` keeps a request's budgets).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use trust_framework::{Bilingual, Lang};

/// `[operator]`: who runs this broker. Omitted: the demonstration's operator
/// ([`OperatorConfig::default`]), which says it is a demonstration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    /// The operator's name, as the header shows it (for example the department).
    pub name: Bilingual,
    /// A logo file (SVG or PNG) shown before the name; relative to the configuration file.
    #[serde(default)]
    pub logo: Option<PathBuf>,
    /// The privacy notice's address, in each language.
    #[serde(default)]
    pub privacy: Option<Bilingual>,
    /// The terms and conditions of use.
    #[serde(default)]
    pub terms: Option<Bilingual>,
    /// The accessibility statement.
    #[serde(default)]
    pub accessibility: Option<Bilingual>,
    /// Where a person gets help.
    #[serde(default)]
    pub contact: Option<Bilingual>,
}

impl Default for OperatorConfig {
    /// The demonstration's operator: a name that says what it is, and the Government of
    /// Canada's general notices, which an operator replaces with its own.
    fn default() -> Self {
        Self {
            name: Bilingual::new(
                "Demonstration operator (not a government service)",
                "Exploitant de démonstration (pas un service gouvernemental)",
            ),
            logo: None,
            privacy: Some(Bilingual::new(
                "https://www.canada.ca/en/transparency/privacy.html",
                "https://www.canada.ca/fr/transparence/confidentialite.html",
            )),
            terms: Some(Bilingual::new(
                "https://www.canada.ca/en/transparency/terms.html",
                "https://www.canada.ca/fr/transparence/avis.html",
            )),
            accessibility: None,
            contact: Some(Bilingual::new(
                "https://www.canada.ca/en/contact.html",
                "https://www.canada.ca/fr/contact.html",
            )),
        }
    }
}

/// A logo, read once at start and served at [`LOGO_PATH`].
#[derive(Debug, Clone)]
pub struct Logo {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

pub const LOGO_PATH: &str = "/static/operator-logo";

/// The operator as the pages show it.
#[derive(Debug, Clone)]
pub struct Operator {
    pub name: Bilingual,
    pub logo: Option<Logo>,
    pub privacy: Option<Bilingual>,
    pub terms: Option<Bilingual>,
    pub accessibility: Option<Bilingual>,
    pub contact: Option<Bilingual>,
}

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("[operator] logo {0}: {1}")]
    Logo(String, std::io::Error),
    #[error("[operator] logo {0}: only SVG and PNG files are shown")]
    LogoKind(String),
    #[error("[operator] {0} is missing in {1}")]
    Missing(&'static str, &'static str),
    #[error("[operator] {0} in {1} is not an https or http address: {2:?}")]
    NotAUrl(&'static str, &'static str, String),
}

impl Default for Operator {
    fn default() -> Self {
        let c = OperatorConfig::default();
        Self {
            name: c.name,
            logo: None,
            privacy: c.privacy,
            terms: c.terms,
            accessibility: c.accessibility,
            contact: c.contact,
        }
    }
}

impl Operator {
    /// The operator of `config`, its logo read from `base` (the configuration's directory) and
    /// every text checked in both languages, so that a page never shows half of it.
    pub fn load(config: &OperatorConfig, base: &Path) -> Result<Self, OperatorError> {
        check_text("name", &config.name)?;
        for (what, link) in [
            ("privacy", &config.privacy),
            ("terms", &config.terms),
            ("accessibility", &config.accessibility),
            ("contact", &config.contact),
        ] {
            if let Some(link) = link {
                check_text(what, link)?;
                for lang in [Lang::En, Lang::Fr] {
                    let url = link.get(lang);
                    if !(url.starts_with("https://") || url.starts_with("http://"))
                        || url::Url::parse(url).is_err()
                    {
                        return Err(OperatorError::NotAUrl(
                            what,
                            language_name(lang),
                            url.to_owned(),
                        ));
                    }
                }
            }
        }
        let logo = match &config.logo {
            None => None,
            Some(file) => {
                let path = base.join(file);
                let shown = path.display().to_string();
                let content_type = match path.extension().and_then(|e| e.to_str()) {
                    Some("svg") => "image/svg+xml",
                    Some("png") => "image/png",
                    _ => return Err(OperatorError::LogoKind(shown)),
                };
                let bytes = std::fs::read(&path).map_err(|e| OperatorError::Logo(shown, e))?;
                Some(Logo {
                    bytes,
                    content_type,
                })
            }
        };
        Ok(Self {
            name: config.name.clone(),
            logo,
            privacy: config.privacy.clone(),
            terms: config.terms.clone(),
            accessibility: config.accessibility.clone(),
            contact: config.contact.clone(),
        })
    }

    /// The footer's links, in `lang`, in the order the design system's footer gives them.
    pub fn links(&self, lang: Lang) -> Vec<(&'static str, String)> {
        let label = |en, fr| match lang {
            Lang::En => en,
            Lang::Fr => fr,
        };
        [
            (label("Contact us", "Contactez-nous"), &self.contact),
            (label("Privacy", "Confidentialité"), &self.privacy),
            (label("Terms and conditions", "Avis"), &self.terms),
            (label("Accessibility", "Accessibilité"), &self.accessibility),
        ]
        .into_iter()
        .filter_map(|(text, link)| link.as_ref().map(|l| (text, l.get(lang).to_owned())))
        .collect()
    }
}

fn language_name(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "English",
        Lang::Fr => "French",
    }
}

fn check_text(what: &'static str, text: &Bilingual) -> Result<(), OperatorError> {
    match text.missing().first() {
        Some(lang) => Err(OperatorError::Missing(what, language_name(*lang))),
        None => Ok(()),
    }
}

tokio::task_local! {
    static OPERATOR: Arc<Operator>;
}

/// Runs `request` with `operator` as the one its pages name.
pub async fn scope<F: Future>(operator: Arc<Operator>, request: F) -> F::Output {
    OPERATOR.scope(operator, request).await
}

/// The operator of the request being served; the demonstration's outside a request.
pub fn current() -> Arc<Operator> {
    OPERATOR
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::new(Operator::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_half_translated_or_odd_operator_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = OperatorConfig::default();
        assert!(Operator::load(&c, dir.path()).is_ok());
        c.name.fr.clear();
        assert!(matches!(
            Operator::load(&c, dir.path()),
            Err(OperatorError::Missing("name", "French"))
        ));
        let c = OperatorConfig {
            terms: Some(Bilingual::new("https://example.org/terms", "javascript:x")),
            ..OperatorConfig::default()
        };
        assert!(matches!(
            Operator::load(&c, dir.path()),
            Err(OperatorError::NotAUrl("terms", "French", _))
        ));
        let mut c = OperatorConfig {
            logo: Some("logo.gif".into()),
            ..OperatorConfig::default()
        };
        assert!(matches!(
            Operator::load(&c, dir.path()),
            Err(OperatorError::LogoKind(_))
        ));
        std::fs::write(dir.path().join("logo.svg"), "<svg/>").unwrap();
        c.logo = Some("logo.svg".into());
        let o = Operator::load(&c, dir.path()).unwrap();
        assert_eq!(o.logo.unwrap().content_type, "image/svg+xml");
    }

    #[test]
    fn the_footer_names_only_the_links_given_in_the_persons_language() {
        let o = Operator::default();
        let fr = o.links(Lang::Fr);
        assert_eq!(
            fr.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            ["Contactez-nous", "Confidentialité", "Avis"]
        );
        assert!(fr.iter().all(|(_, u)| u.contains("/fr/")));
    }
}
