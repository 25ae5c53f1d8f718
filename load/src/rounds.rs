//! `--combine-rounds`: brokered runs, each with the single-hop run measured right after it, as
//! one report with a ratio per round and the median per concurrency level.
//!
//! The virtual machines this runs on drift by 15 to 25 % in speed within minutes, so a brokered
//! rate compared with a ceiling measured minutes apart says as much about the drift as about
//! the broker. A round pairs two runs a few seconds apart; the median of a level's rounds is
//! the figure to read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

/// One round: a brokered run and the single-hop run after it.
#[derive(Debug, Clone, PartialEq)]
struct Round {
    concurrency: u64,
    brokered: Value,
    single_hop: Value,
}

impl Round {
    fn rate(run: &Value) -> f64 {
        run["logins_per_second"].as_f64().unwrap_or(0.0)
    }

    fn ratio(&self) -> f64 {
        let ceiling = Self::rate(&self.single_hop);
        if ceiling > 0.0 {
            Self::rate(&self.brokered) / ceiling
        } else {
            0.0
        }
    }

    /// CPU microseconds per brokered login of the process `who` (`target_pct`, the broker, or
    /// `load_tool_pct`).
    fn cpu_us(&self, who: &str) -> Option<f64> {
        let rate = Self::rate(&self.brokered);
        let pct = self.brokered["cpu"][who].as_f64()?;
        (rate > 0.0).then(|| pct * 1e4 / rate)
    }

    fn summary(&self) -> Value {
        json!({
            "brokered_per_second": Self::rate(&self.brokered),
            "single_hop_per_second": Self::rate(&self.single_hop),
            "ratio": round3(self.ratio()),
            "brokered_p99_ms": self.brokered["latency_ms"]["p99"],
            "broker_cpu_us_per_login": self.cpu_us("target_pct").map(round1),
            "load_tool_cpu_us_per_login": self.cpu_us("load_tool_pct").map(round1),
        })
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if !n.is_multiple_of(2) => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn read(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a report", path.display()))
}

/// The one run of a report, which must be of `mode`.
fn only_run(report: &Value, mode: &str, path: &Path) -> anyhow::Result<Value> {
    if report["mode"] != mode {
        bail!("{} is not a {mode} report", path.display());
    }
    match report["runs"].as_array().map(Vec::as_slice) {
        Some([run]) => Ok(run.clone()),
        _ => bail!("{} should hold exactly one run", path.display()),
    }
}

/// Reads `paths` as (brokered, single-hop) report pairs, in the order measured, each with one
/// run; `meta` members go first in the document. Returns the document and a table.
pub fn combine(paths: &[PathBuf], meta: &[(String, Value)]) -> anyhow::Result<(Value, String)> {
    if paths.is_empty() || !paths.len().is_multiple_of(2) {
        bail!("--combine-rounds takes brokered and single-hop reports in pairs");
    }
    let mut rounds = Vec::new();
    let mut reports = (None, None);
    for pair in paths.chunks(2) {
        let (b, s) = (read(&pair[0])?, read(&pair[1])?);
        let brokered = only_run(&b, "brokered", &pair[0])?;
        let single_hop = only_run(&s, "single_hop", &pair[1])?;
        let concurrency = brokered["concurrency"].as_u64().unwrap_or(0);
        if single_hop["concurrency"].as_u64() != Some(concurrency) {
            bail!(
                "{} and {} are not at the same concurrency",
                pair[0].display(),
                pair[1].display()
            );
        }
        rounds.push(Round {
            concurrency,
            brokered,
            single_hop,
        });
        reports = (reports.0.or(Some(b)), reports.1.or(Some(s)));
    }
    let mut by_level: BTreeMap<u64, Vec<&Round>> = BTreeMap::new();
    for r in &rounds {
        by_level.entry(r.concurrency).or_default().push(r);
    }
    let mut table = format!(
        "{:>5} {:>5} {:>11} {:>9} {:>13} {:>7} {:>19}\n",
        "conc", "round", "brokered/s", "p99 ms", "single-hop/s", "ratio", "CPU µs broker/tool"
    );
    let mut levels = Vec::new();
    for (concurrency, level) in &by_level {
        for (i, r) in level.iter().enumerate() {
            let cpu = match (r.cpu_us("target_pct"), r.cpu_us("load_tool_pct")) {
                (Some(b), Some(t)) => format!("{b:.0}/{t:.0}"),
                _ => "-".to_owned(),
            };
            table.push_str(&format!(
                "{:>5} {:>5} {:>11.1} {:>9.2} {:>13.1} {:>7.3} {:>19}\n",
                concurrency,
                i + 1,
                Round::rate(&r.brokered),
                r.brokered["latency_ms"]["p99"].as_f64().unwrap_or(0.0),
                Round::rate(&r.single_hop),
                r.ratio(),
                cpu
            ));
        }
        let ratio = median(level.iter().map(|r| r.ratio()).collect());
        let brokered = median(level.iter().map(|r| Round::rate(&r.brokered)).collect());
        let single = median(level.iter().map(|r| Round::rate(&r.single_hop)).collect());
        table.push_str(&format!(
            "{:>5} {:>5} {:>11.1} {:>9} {:>13.1} {:>7.3}\n",
            concurrency, "med", brokered, "", single, ratio
        ));
        levels.push(json!({
            "concurrency": concurrency,
            "median_ratio": round3(ratio),
            "median_brokered_per_second": round1(brokered),
            "median_single_hop_per_second": round1(single),
            "rounds": level.iter().map(|r| r.summary()).collect::<Vec<_>>(),
        }));
    }
    let with_runs = |report: Option<Value>, pick: fn(&Round) -> &Value| {
        report.map(|mut doc| {
            doc["runs"] = rounds.iter().map(|r| pick(r).clone()).collect();
            doc
        })
    };
    let mut doc = serde_json::Map::new();
    for (key, value) in meta {
        doc.insert(key.clone(), value.clone());
    }
    doc.insert("levels".into(), Value::Array(levels));
    doc.insert(
        "brokered".into(),
        with_runs(reports.0, |r| &r.brokered).unwrap_or(Value::Null),
    );
    doc.insert(
        "single_hop".into(),
        with_runs(reports.1, |r| &r.single_hop).unwrap_or(Value::Null),
    );
    Ok((Value::Object(doc), table))
}

/// `KEY=JSON` for `--meta`.
pub fn parse_meta(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=JSON"))?;
    let value = serde_json::from_str(value).map_err(|e| format!("{key}: {e}"))?;
    Ok((key.to_owned(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(dir: &std::path::Path, name: &str, mode: &str, conc: u64, rate: f64) -> PathBuf {
        let path = dir.join(name);
        let doc = json!({
            "mode": mode,
            "runs": [{
                "concurrency": conc,
                "logins_per_second": rate,
                "latency_ms": { "p99": 7.5 },
                "cpu": { "target_pct": 100.0, "load_tool_pct": 80.0 },
            }],
        });
        std::fs::write(&path, doc.to_string()).unwrap();
        path
    }

    #[test]
    fn rounds_pair_up_and_each_level_takes_the_median_ratio() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let paths = vec![
            report(dir, "b1", "brokered", 8, 2000.0),
            report(dir, "s1", "single_hop", 8, 8000.0),
            report(dir, "b2", "brokered", 8, 3000.0),
            report(dir, "s2", "single_hop", 8, 7500.0),
            report(dir, "b3", "brokered", 8, 2500.0),
            report(dir, "s3", "single_hop", 8, 10000.0),
            report(dir, "b4", "brokered", 1, 500.0),
            report(dir, "s4", "single_hop", 1, 2000.0),
        ];
        let meta = vec![parse_meta(r#"store="memory""#).unwrap()];
        let (doc, table) = combine(&paths, &meta).unwrap();
        assert_eq!(doc["store"], "memory");
        let levels = doc["levels"].as_array().unwrap();
        assert_eq!(levels[0]["concurrency"], 1);
        assert_eq!(levels[0]["median_ratio"], 0.25);
        // Ratios 0.25, 0.4, 0.25: the median is 0.25, not the ratio of the medians (0.3125).
        assert_eq!(levels[1]["median_ratio"], 0.25);
        assert_eq!(levels[1]["median_brokered_per_second"], 2500.0);
        assert_eq!(levels[1]["rounds"][1]["ratio"], 0.4);
        assert_eq!(levels[1]["rounds"][0]["broker_cpu_us_per_login"], 500.0);
        assert_eq!(doc["brokered"]["runs"].as_array().unwrap().len(), 4);
        assert!(table.contains("  med "), "{table}");

        // Out of pairs, or a pair in the wrong order, is refused.
        assert!(combine(&paths[..3], &meta).is_err());
        assert!(combine(&[paths[1].clone(), paths[0].clone()], &meta).is_err());
        let mismatched = [paths[0].clone(), paths[7].clone()];
        assert!(combine(&mismatched, &meta).is_err());
        assert!(parse_meta("no-equals").is_err());
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
