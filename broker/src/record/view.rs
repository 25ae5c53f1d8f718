//! What the record shows, in the person's language: each disclosure as words (the service's
//! name, the information by name, the agreement's purpose and legal basis, the provider, the
//! level, how the person agreed), and each remembered consent. The page and the export are
//! made from these same rows, so the export holds exactly what the page shows.

use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;
use trust_framework::{AssuranceLevel, Lang, LegalBasis, Registry};

use crate::http::pages::pick;
use crate::records::{ConsentBasis, ConsentRow, DisclosureFilter, DisclosureRow};

/// At most this many disclosures are read at once; a period narrows them.
pub const MOST: i64 = 2_000;

/// One disclosure, as the page and the export show it.
#[derive(Debug, Clone, Serialize)]
pub struct DisclosureView {
    /// The login's reference: what the proof and a report name.
    pub reference: String,
    /// When, in UTC (RFC 3339).
    pub when: String,
    #[serde(skip)]
    pub when_text: String,
    pub service: String,
    pub information: Vec<&'static str>,
    pub purpose: String,
    pub legal_basis: String,
    #[serde(skip)]
    pub legal_url: Option<String>,
    pub provider: String,
    pub level: String,
    pub agreed: &'static str,
}

/// One remembered consent, with what the withdrawal form posts.
#[derive(Debug, Clone)]
pub struct ConsentView {
    /// `client agreement version`: which consent the form names (checked against the
    /// person's own consents when posted).
    pub key: String,
    pub service: String,
    pub information: Vec<&'static str>,
    pub purpose: String,
    pub given: String,
    pub until: String,
}

/// The words for a level.
pub fn level_words(level: AssuranceLevel, lang: Lang) -> String {
    let (en, fr) = match level {
        AssuranceLevel::One => ("little confidence", "faible confiance"),
        AssuranceLevel::Two => ("some confidence", "confiance modérée"),
        AssuranceLevel::Three => ("high confidence", "confiance élevée"),
        AssuranceLevel::Four => ("very high confidence", "très grande confiance"),
    };
    match lang {
        Lang::En => format!("Level {} ({en})", level.number()),
        Lang::Fr => format!("Niveau {} ({fr})", level.number()),
    }
}

/// A time as a person reads it, in UTC.
pub fn when_text(millis: i64, lang: Lang) -> String {
    let Some(t) = at(millis) else {
        return String::new();
    };
    let month = t.month() as usize - 1;
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const FR: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    match lang {
        Lang::En => format!(
            "{} {}, {}, {:02}:{:02} UTC",
            EN[month],
            t.day(),
            t.year(),
            t.hour(),
            t.minute()
        ),
        Lang::Fr => format!(
            "{} {} {}, {}\u{a0}h\u{a0}{:02} UTC",
            t.day(),
            FR[month],
            t.year(),
            t.hour(),
            t.minute()
        ),
    }
}

fn at(millis: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()
}

fn rfc3339(millis: i64) -> String {
    at(millis)
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

fn service_name(registry: &Registry, client_id: &str, lang: Lang) -> String {
    registry
        .relying_party(client_id)
        .map(|r| r.name.get(lang).to_owned())
        .unwrap_or_else(|| client_id.to_owned())
}

fn purpose(registry: &Registry, agreement_id: &str, lang: Lang) -> String {
    registry
        .agreement(agreement_id)
        .map(|a| a.purpose.get(lang).to_owned())
        .unwrap_or_else(|| agreement_id.to_owned())
}

/// One disclosure in words.
pub fn disclosure(registry: &Registry, d: &DisclosureRow, lang: Lang) -> DisclosureView {
    let agreement = registry.agreement(&d.agreement_id);
    let authority = agreement.and_then(|a| a.legal_authority.as_ref());
    let legal_basis = match (d.legal_basis, authority) {
        (LegalBasis::Consent, _) => pick(lang, "Your consent", "Votre consentement").to_owned(),
        (LegalBasis::Notice, Some(law)) => match lang {
            Lang::En => format!("Authorized by law: {}", law.name.get(lang)),
            Lang::Fr => format!("Autorisé par la loi\u{a0}: {}", law.name.get(lang)),
        },
        (LegalBasis::Notice, None) => {
            pick(lang, "Authorized by law", "Autorisé par la loi").to_owned()
        }
    };
    DisclosureView {
        reference: d.txn.clone(),
        when: rfc3339(d.at),
        when_text: when_text(d.at, lang),
        service: service_name(registry, &d.client_id, lang),
        information: d.released.iter().map(|a| a.label(lang)).collect(),
        purpose: purpose(registry, &d.agreement_id, lang),
        legal_basis,
        legal_url: authority
            .filter(|_| d.legal_basis == LegalBasis::Notice)
            .map(|l| l.url.get(lang).to_owned())
            .filter(|u| !u.is_empty()),
        provider: registry
            .provider(&d.provider_id)
            .map(|p| p.name.get(lang).to_owned())
            .unwrap_or_else(|| d.provider_id.clone()),
        level: AssuranceLevel::from_acr(&d.level)
            .map(|l| level_words(l, lang))
            .unwrap_or_else(|| d.level.clone()),
        agreed: match d.consent {
            ConsentBasis::Given => pick(
                lang,
                "You agreed on the consent page",
                "Vous avez accepté sur la page de consentement",
            ),
            ConsentBasis::Remembered => pick(
                lang,
                "A consent you asked us to remember",
                "Un consentement que vous nous avez demandé de mémoriser",
            ),
            ConsentBasis::Notice => pick(
                lang,
                "A notice: you were told, not asked",
                "Un avis\u{a0}: l'information vous a été donnée, sans qu'on vous demande votre accord",
            ),
        },
    }
}

/// One remembered consent in words.
pub fn consent(registry: &Registry, c: &ConsentRow, lang: Lang) -> ConsentView {
    ConsentView {
        key: consent_key(&c.client_id, &c.agreement_id, c.agreement_version),
        service: service_name(registry, &c.client_id, lang),
        information: c.attributes.iter().map(|a| a.label(lang)).collect(),
        purpose: purpose(registry, &c.agreement_id, lang),
        given: when_text(c.at, lang),
        until: c.expires_at.map(|t| when_text(t, lang)).unwrap_or_default(),
    }
}

/// How a withdrawal form names a consent.
pub fn consent_key(client_id: &str, agreement_id: &str, version: u32) -> String {
    format!("{client_id} {agreement_id} {version}")
}

/// The services a person's disclosures went to (`client_ids`), by name, for the filter's list.
pub fn services(registry: &Registry, client_ids: &[String], lang: Lang) -> Vec<(String, String)> {
    let mut named: Vec<(String, String)> = client_ids
        .iter()
        .map(|id| (id.clone(), service_name(registry, id, lang)))
        .collect();
    named.sort_by(|a, b| a.1.cmp(&b.1));
    named
}

/// The filter of the page's query: `service`, and `from` and `to` as dates (`YYYY-MM-DD`,
/// both days included). A date that is not one is refused with the person's words.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct FilterQuery {
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
    /// What was just done, for the page's notice.
    #[serde(default)]
    pub done: Option<String>,
}

impl FilterQuery {
    /// The records' filter, or what is wrong with the dates.
    pub fn filter(&self) -> Result<DisclosureFilter, (&'static str, &'static str)> {
        let day = |text: &Option<String>, end: bool| -> Result<Option<i64>, ()> {
            let Some(text) = text.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
                return Ok(None);
            };
            let date = time::Date::parse(text, format_description!("[year]-[month]-[day]"))
                .map_err(|_| ())?;
            let date = if end {
                date.next_day().ok_or(())?
            } else {
                date
            };
            Ok(Some(crate::records::millis(date.midnight().assume_utc())))
        };
        let bad = (
            "Enter dates as year-month-day, for example 2026-12-06.",
            "Entrez les dates sous la forme année-mois-jour, par exemple 2026-12-06.",
        );
        let from = day(&self.from, false).map_err(|_| bad)?;
        let to = day(&self.to, true).map_err(|_| bad)?;
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            return Err((
                "The start of the period must come before its end.",
                "Le début de la période doit précéder sa fin.",
            ));
        }
        Ok(DisclosureFilter {
            client_id: self
                .service
                .clone()
                .filter(|s| !s.is_empty() && s.len() <= 256),
            from,
            to,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_whole_days_and_a_bad_one_is_refused() {
        let q = FilterQuery {
            from: Some("2026-12-01".into()),
            to: Some("2026-12-01".into()),
            ..Default::default()
        };
        let f = q.filter().unwrap();
        assert_eq!(f.to.unwrap() - f.from.unwrap(), 86_400_000);
        for bad in ["2026-13-01", "yesterday", "2026-12-1x"] {
            let q = FilterQuery {
                from: Some(bad.into()),
                ..Default::default()
            };
            assert!(q.filter().is_err(), "{bad}");
        }
        let backwards = FilterQuery {
            from: Some("2026-12-02".into()),
            to: Some("2026-12-01".into()),
            ..Default::default()
        };
        assert!(backwards.filter().is_err());
    }

    #[test]
    fn times_read_in_both_languages() {
        let t = 1_796_565_780_000; // 2026-12-06 14:03 UTC
        assert_eq!(when_text(t, Lang::En), "December 6, 2026, 14:03 UTC");
        assert_eq!(
            when_text(t, Lang::Fr),
            "6 décembre 2026, 14\u{a0}h\u{a0}03 UTC"
        );
        assert_eq!(rfc3339(t), "2026-12-06T14:03:00Z");
    }
}
