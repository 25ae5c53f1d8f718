//! Values as a person reads them on a page, in their language: a language by its name rather
//! than its code, an address as Canada Post lays it out, a retention period in years and
//! months rather than a count of days.

use serde_json::Value;
use trust_framework::{Attribute, Lang};

/// An attribute's value as lines of text (an address has several).
pub fn attribute(attribute: Attribute, value: &Value, lang: Lang) -> Vec<String> {
    match (attribute, value) {
        (Attribute::PreferredLanguage, Value::String(tag)) => vec![language_name(tag, lang)],
        (Attribute::Gender, Value::String(g)) => vec![gender(g, lang)],
        (Attribute::Address, Value::Object(_)) => address(value),
        _ => vec![crate::login::display(value)],
    }
}

/// A BCP 47 tag's language by name; a language other than the official ones keeps its tag.
fn language_name(tag: &str, lang: Lang) -> String {
    let primary = tag
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let name = match (primary.as_str(), lang) {
        ("en", Lang::En) => "English",
        ("en", Lang::Fr) => "anglais",
        ("fr", Lang::En) => "French",
        ("fr", Lang::Fr) => "français",
        _ => return tag.to_owned(),
    };
    name.to_owned()
}

/// OpenID Connect's `gender` values in words; any other value as the provider gave it.
fn gender(value: &str, lang: Lang) -> String {
    let word = match (value, lang) {
        ("female", Lang::En) => "Female",
        ("female", Lang::Fr) => "Féminin",
        ("male", Lang::En) => "Male",
        ("male", Lang::Fr) => "Masculin",
        _ => return value.to_owned(),
    };
    word.to_owned()
}

/// An address in Canada Post's layout: the street line, then the municipality, the province
/// or territory's two-letter symbol and the postal code (two spaces before it), in capitals;
/// the country is left out for a Canadian address. A provider's own `formatted` text is used
/// only when it gives no parts.
fn address(value: &Value) -> Vec<String> {
    let part = |k: &str| value.get(k).and_then(Value::as_str).map(str::trim);
    let street = part("street_address");
    let locality = part("locality");
    if street.is_none() && locality.is_none() {
        if let Some(formatted) = part("formatted") {
            return formatted.lines().map(str::to_owned).collect();
        }
        return vec![value.to_string()];
    }
    let mut lines: Vec<String> = street
        .map(|s| s.lines().map(str::to_uppercase).collect())
        .unwrap_or_default();
    let mut last = [locality, part("region")]
        .into_iter()
        .flatten()
        .map(str::to_uppercase)
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(postal) = part("postal_code") {
        let postal = postal.to_uppercase().replace(' ', "");
        let postal = if postal.len() == 6 && postal.is_ascii() {
            format!("{} {}", &postal[..3], &postal[3..])
        } else {
            postal
        };
        last = format!("{last}  {postal}");
    }
    lines.push(last);
    match part("country") {
        Some(c) if !matches!(c.to_ascii_uppercase().as_str(), "CA" | "CANADA") => {
            lines.push(c.to_uppercase());
        }
        _ => {}
    }
    lines
}

/// A retention period in years and months, as an agreement's days come to (a year of 365
/// days, a month of 30); under a month, in days.
pub fn retention(days: u32, lang: Lang) -> String {
    let years = days / 365;
    let months = (days % 365) / 30;
    let unit = |n: u32, en: (&str, &str), fr: (&str, &str)| {
        let (one, many) = match lang {
            Lang::En => en,
            Lang::Fr => fr,
        };
        format!("{n} {}", if n == 1 { one } else { many })
    };
    let and = match lang {
        Lang::En => "and",
        Lang::Fr => "et",
    };
    match (years, months) {
        (0, 0) => unit(days, ("day", "days"), ("jour", "jours")),
        (0, m) => unit(m, ("month", "months"), ("mois", "mois")),
        (y, 0) => unit(y, ("year", "years"), ("an", "ans")),
        (y, m) => format!(
            "{} {and} {}",
            unit(y, ("year", "years"), ("an", "ans")),
            unit(m, ("month", "months"), ("mois", "mois"))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn retention_reads_in_years_and_months() {
        assert_eq!(retention(2555, Lang::En), "7 years");
        assert_eq!(retention(2555, Lang::Fr), "7 ans");
        assert_eq!(retention(365, Lang::Fr), "1 an");
        assert_eq!(retention(425, Lang::En), "1 year and 2 months");
        assert_eq!(retention(425, Lang::Fr), "1 an et 2 mois");
        assert_eq!(retention(90, Lang::En), "3 months");
        assert_eq!(retention(1, Lang::Fr), "1 jour");
    }

    #[test]
    fn languages_have_names_and_addresses_canada_posts_layout() {
        let v = |a, x: Value, l| attribute(a, &x, l);
        assert_eq!(
            v(Attribute::PreferredLanguage, json!("fr-CA"), Lang::Fr),
            ["français"]
        );
        assert_eq!(
            v(Attribute::PreferredLanguage, json!("en-CA"), Lang::En),
            ["English"]
        );
        assert_eq!(
            v(Attribute::PreferredLanguage, json!("iu"), Lang::En),
            ["iu"]
        );
        assert_eq!(v(Attribute::Gender, json!("female"), Lang::Fr), ["Féminin"]);
        assert_eq!(
            v(
                Attribute::Address,
                json!({"formatted": "x", "street_address": "10 Main St", "locality": "Edmonton",
                       "region": "AB", "postal_code": "t5j0n3", "country": "CA"}),
                Lang::En
            ),
            ["10 MAIN ST", "EDMONTON AB  T5J 0N3"]
        );
        assert_eq!(
            v(
                Attribute::Address,
                json!({"formatted": "1 Rue X\nParis"}),
                Lang::Fr
            ),
            ["1 Rue X", "Paris"]
        );
        assert_eq!(v(Attribute::Email, json!("a@b.ca"), Lang::Fr), ["a@b.ca"]);
    }
}
