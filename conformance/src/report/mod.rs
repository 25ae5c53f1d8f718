//! Report formats: JSON (the report as data), JUnit XML (for CI pipelines) and a
//! self-contained HTML page (summary and evidence, in English and French).

mod html;
mod junit;

pub use html::html;
pub use junit::junit;

use crate::Error;
use crate::check::Report;

pub fn json(report: &Report) -> Result<String, Error> {
    Ok(serde_json::to_string_pretty(report)?)
}

/// Escapes text for HTML and XML (content and attribute values).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if c.is_control() && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// An exchange as plain text, for JUnit and HTML.
pub(crate) fn exchange_text(e: &crate::Exchange) -> String {
    let mut out = format!("{} {}\n", e.method, e.url);
    for (k, v) in &e.request_headers {
        out.push_str(&format!("{k}: {v}\n"));
    }
    if let Some(body) = &e.request_body {
        out.push_str(&format!("\n{body}\n"));
    }
    match e.status {
        Some(s) => out.push_str(&format!("\n=> HTTP {s}\n")),
        None => out.push_str("\n=> no response / aucune réponse\n"),
    }
    for (k, v) in &e.response_headers {
        out.push_str(&format!("{k}: {v}\n"));
    }
    if let Some(body) = &e.response_body {
        out.push_str(&format!("\n{body}\n"));
    }
    if let Some(err) = &e.error {
        out.push_str(&format!("\nerror / erreur: {err}\n"));
    }
    out
}
