//! Checks, their outcomes and the report that collects them.

use serde::Serialize;
use time::OffsetDateTime;

use crate::evidence::Exchange;

/// A text in English and French: every user-facing text of a report exists in both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text {
    pub en: String,
    pub fr: String,
}

impl Text {
    pub fn new(en: impl Into<String>, fr: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            fr: fr.into(),
        }
    }
}

/// A check's fixed description: stable id, title, and the rule it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckDef {
    pub id: &'static str,
    pub title_en: &'static str,
    pub title_fr: &'static str,
    /// The PCTF component, or the OpenID / OAuth specification and section.
    pub rule: &'static str,
    /// A failed required check fails the run; others are recommendations.
    pub required: bool,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "reason", rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail(Text),
    Warning(Text),
    Skipped(Text),
}

impl Outcome {
    pub fn fail(en: impl Into<String>, fr: impl Into<String>) -> Self {
        Self::Fail(Text::new(en, fr))
    }
    pub fn warning(en: impl Into<String>, fr: impl Into<String>) -> Self {
        Self::Warning(Text::new(en, fr))
    }
    pub fn skipped(en: impl Into<String>, fr: impl Into<String>) -> Self {
        Self::Skipped(Text::new(en, fr))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail(_) => "fail",
            Self::Warning(_) => "warning",
            Self::Skipped(_) => "skipped",
        }
    }

    pub fn reason(&self) -> Option<&Text> {
        match self {
            Self::Pass => None,
            Self::Fail(t) | Self::Warning(t) | Self::Skipped(t) => Some(t),
        }
    }

    /// Passes when every item passes, else fails with the items' reasons joined.
    pub fn from_problems(problems: Vec<Text>) -> Self {
        if problems.is_empty() {
            return Self::Pass;
        }
        let join = |f: fn(&Text) -> &str| problems.iter().map(f).collect::<Vec<_>>().join("; ");
        Self::Fail(Text::new(join(|t| &t.en), join(|t| &t.fr)))
    }
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub id: &'static str,
    pub title: Text,
    pub rule: &'static str,
    pub required: bool,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub evidence: Vec<Exchange>,
}

/// What was checked.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    Provider { issuer: String },
    Broker { issuer: String },
    Registry { file: String },
}

impl Subject {
    pub fn profile(&self) -> &'static str {
        match self {
            Self::Provider { .. } => "provider",
            Self::Broker { .. } => "broker",
            Self::Registry { .. } => "registry",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Provider { issuer } | Self::Broker { issuer } => issuer,
            Self::Registry { file } => file,
        }
    }
}

/// Counts of results, for summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub required_fail: usize,
    pub warning: usize,
    pub skipped: usize,
}

/// A run's results, in the order the checks ran.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub subject: Subject,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub checks: Vec<CheckResult>,
}

impl Report {
    pub fn new(subject: Subject, time: OffsetDateTime) -> Self {
        Self {
            subject,
            time,
            checks: Vec::new(),
        }
    }

    pub fn record(&mut self, def: &CheckDef, outcome: Outcome, evidence: Vec<Exchange>) {
        self.checks.push(CheckResult {
            id: def.id,
            title: Text::new(def.title_en, def.title_fr),
            rule: def.rule,
            required: def.required,
            outcome,
            evidence,
        });
    }

    pub fn get(&self, id: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// The ids of the checks that failed (required or not).
    pub fn failed_ids(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
            .map(|c| c.id)
            .collect()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.checks {
            match c.outcome {
                Outcome::Pass => s.pass += 1,
                Outcome::Fail(_) => {
                    s.fail += 1;
                    if c.required {
                        s.required_fail += 1;
                    }
                }
                Outcome::Warning(_) => s.warning += 1,
                Outcome::Skipped(_) => s.skipped += 1,
            }
        }
        s
    }

    /// No required check failed: the gate for registering a provider.
    pub fn passed(&self) -> bool {
        self.summary().required_fail == 0
    }
}
