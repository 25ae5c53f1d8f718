//! The report of a load run: the JSON document (one run per concurrency level), its table for
//! people, and several reports merged into one.

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::stats::Run;

#[derive(Debug, Serialize)]
pub struct Report {
    pub target: String,
    /// Used round robin, pairwise.
    pub idp_hints: Vec<String>,
    pub login_hints: Vec<String>,
    pub mode: &'static str,
    pub auth: &'static str,
    pub browser: &'static str,
    pub client_per_login: bool,
    pub remember_consent: bool,
    /// Whether the providers ran in the load tool's process (--serve-providers or
    /// --spawn-demo-provider).
    pub providers_in_process: bool,
    pub warmup_seconds: f64,
    pub cores: usize,
    pub runs: Vec<Run>,
}

pub fn table(report: &Report) -> String {
    let mut out = format!(
        "{} {} ({} cores shared with the target)\n{:>5} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>7}  errors\n",
        report.mode,
        report.target,
        report.cores,
        "conc",
        "logins",
        "login/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "rss max kB",
        "other%"
    );
    for r in &report.runs {
        let (p50, p90, p99, max) = r
            .latency_ms
            .as_ref()
            .map_or((0.0, 0.0, 0.0, 0.0), |l| (l.p50, l.p90, l.p99, l.max));
        let rss = r
            .target_rss
            .map_or_else(|| "-".to_owned(), |r| r.max_kb.to_string());
        let others = r
            .cpu
            .map_or_else(|| "-".to_owned(), |c| format!("{:.0}", c.others_pct));
        let errors: Vec<String> = r.errors.iter().map(|(k, n)| format!("{k}={n}")).collect();
        out.push_str(&format!(
            "{:>5} {:>8} {:>9.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>10} {:>7}  {}\n",
            r.concurrency,
            r.logins,
            r.logins_per_second,
            p50,
            p90,
            p99,
            max,
            rss,
            others,
            if errors.is_empty() {
                "none".to_owned()
            } else {
                errors.join(" ")
            }
        ));
    }
    out
}

/// `--merge`: the runs of several reports (one per broker restart) as one report.
pub fn merge(paths: &[std::path::PathBuf]) -> anyhow::Result<serde_json::Value> {
    let mut merged: Option<serde_json::Value> = None;
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a report", path.display()))?;
        let runs = doc["runs"]
            .as_array()
            .with_context(|| format!("{} has no runs", path.display()))?
            .clone();
        match merged.as_mut() {
            None => merged = Some(doc),
            Some(m) => {
                if m["mode"] != doc["mode"] {
                    bail!("{} is of another mode", path.display());
                }
                if let Some(all) = m["runs"].as_array_mut() {
                    all.extend(runs);
                }
            }
        }
    }
    merged.context("--merge needs at least one report")
}
