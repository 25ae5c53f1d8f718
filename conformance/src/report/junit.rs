//! JUnit XML: one test suite per run, one test case per check. A failed required check is a
//! `<failure>`, a failed recommendation and a warning are reported in `<system-out>`, a skipped
//! check is `<skipped>`.

use super::{escape, exchange_text};
use crate::check::{Outcome, Report};

pub fn junit(report: &Report) -> String {
    let s = report.summary();
    let name = format!("conformance.{}", report.subject.profile());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"{n}\" tests=\"{t}\" failures=\"{f}\" skipped=\"{k}\">\n<testsuite name=\"{n}\" tests=\"{t}\" failures=\"{f}\" errors=\"0\" skipped=\"{k}\" hostname=\"{h}\">\n",
        n = escape(&name),
        t = report.checks.len(),
        f = s.required_fail,
        k = s.skipped,
        h = escape(report.subject.name()),
    ));
    for c in &report.checks {
        out.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"{} {}\">\n",
            escape(&name),
            escape(c.id),
            escape(&c.title.en)
        ));
        let evidence: String = c
            .evidence
            .iter()
            .map(exchange_text)
            .collect::<Vec<_>>()
            .join("\n----\n");
        let reason = c
            .outcome
            .reason()
            .map(|r| format!("{} / {}", r.en, r.fr))
            .unwrap_or_default();
        match &c.outcome {
            Outcome::Fail(_) if c.required => out.push_str(&format!(
                "    <failure message=\"{}\" type=\"{}\">{}\n\nRule / Règle: {}</failure>\n",
                escape(&reason),
                escape(c.id),
                escape(&evidence),
                escape(c.rule)
            )),
            Outcome::Skipped(_) => {
                out.push_str(&format!("    <skipped message=\"{}\"/>\n", escape(&reason)));
            }
            Outcome::Fail(_) | Outcome::Warning(_) => out.push_str(&format!(
                "    <system-out>{}: {}</system-out>\n",
                c.outcome.name(),
                escape(&reason)
            )),
            Outcome::Pass => {}
        }
        out.push_str("  </testcase>\n");
    }
    out.push_str("</testsuite>\n</testsuites>\n");
    out
}
