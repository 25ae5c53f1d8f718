//! The person's export of their own records: the disclosures the page shows, with the same
//! filter, as JSON or CSV (RFC 4180), in the page's language. Nothing the page does not show.

use super::view::DisclosureView;
use crate::http::pages::pick;
use trust_framework::Lang;

/// The export as JSON: an array of the page's rows.
pub fn json(rows: &[DisclosureView]) -> String {
    serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".to_owned())
}

/// The export as CSV: a header row in the person's language, then one row per disclosure.
pub fn csv(rows: &[DisclosureView], lang: Lang) -> String {
    let header = [
        pick(lang, "Reference", "Référence"),
        pick(lang, "When (UTC)", "Date (UTC)"),
        pick(lang, "Service", "Service"),
        pick(lang, "Information", "Renseignements"),
        pick(lang, "Purpose", "Raison"),
        pick(lang, "Legal basis", "Fondement juridique"),
        pick(lang, "Identity provider", "Fournisseur d'identité"),
        pick(lang, "Level", "Niveau"),
        pick(lang, "How you agreed", "Votre accord"),
    ];
    let mut out = line(header.iter().map(|h| h.to_string()));
    for r in rows {
        out.push_str(&line(
            [
                r.reference.clone(),
                r.when.clone(),
                r.service.clone(),
                r.information.join("; "),
                r.purpose.clone(),
                r.legal_basis.clone(),
                r.provider.clone(),
                r.level.clone(),
                r.agreed.to_owned(),
            ]
            .into_iter(),
        ));
    }
    out
}

/// One CSV line: every field quoted, quotes doubled, CRLF at the end. A field that a
/// spreadsheet would run as a formula (it starts with `=`, `+`, `-` or `@`) is prefixed with
/// an apostrophe (OWASP's CSV injection advice): the names come from the registry, not the
/// person, but an export must be safe to open.
fn line(fields: impl Iterator<Item = String>) -> String {
    let quoted: Vec<String> = fields
        .map(|f| {
            let f = if f.starts_with(['=', '+', '-', '@']) {
                format!("'{f}")
            } else {
                f
            };
            format!("\"{}\"", f.replace('"', "\"\""))
        })
        .collect();
    format!("{}\r\n", quoted.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> DisclosureView {
        DisclosureView {
            reference: "t1".into(),
            when: "2026-12-06T14:03:00Z".into(),
            when_text: String::new(),
            service: "Employment \"Insurance\"".into(),
            information: vec!["Given name", "Family name"],
            purpose: "=HYPERLINK(\"x\")".into(),
            legal_basis: "Your consent".into(),
            legal_url: None,
            provider: "Alberta".into(),
            level: "Level 2 (some confidence)".into(),
            agreed: "You agreed on the consent page",
        }
    }

    #[test]
    fn csv_quotes_every_field_and_defuses_formulas() {
        let text = csv(&[row()], Lang::En);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(lines[0].starts_with("\"Reference\",\"When (UTC)\""));
        assert!(lines[1].contains("\"Employment \"\"Insurance\"\"\""));
        assert!(lines[1].contains("\"'=HYPERLINK(\"\"x\"\")\""));
        assert!(lines[1].contains("\"Given name; Family name\""));
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn json_holds_the_page_fields_and_no_more() {
        let v: serde_json::Value = serde_json::from_str(&json(&[row()])).unwrap();
        let keys: Vec<&String> = v[0].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "reference",
                "when",
                "service",
                "information",
                "purpose",
                "legal_basis",
                "provider",
                "level",
                "agreed"
            ]
        );
    }
}
