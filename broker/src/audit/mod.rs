//! The audit trail's form: the log format, and how lists go in. An auditor's tools read each
//! event as flat JSON: a list is one string of space-separated names, as OAuth writes `scope`
//! and `acr_values`, and never Rust's `Debug` form (`["a", "b"]` quoted inside a string). Every
//! name the broker lists (attributes, provider ids, acr URNs) is a token without spaces, so the
//! form is reversible.

mod event;
mod fields;
mod json_lines;
pub mod sink;

use std::fmt;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::SubscriberBuilder;
use tracing_subscriber::fmt::format::DefaultFields;

pub(crate) use event::{
    ConsentEventAbout, ConsentEventOutcome, Decided, EntryKind, Event, RateScope,
};
pub use json_lines::JsonLines;
pub use sink::{Flushing, LogSink};

/// The broker's log: one JSON object per line, audit events among them under the target
/// `audit` with their fields in `fields`. The binary writes it to stderr; the tests that read
/// the audit trail capture this same format, so what they check is what an auditor's tools get.
pub fn log_format(filter: EnvFilter) -> SubscriberBuilder<DefaultFields, JsonLines, EnvFilter> {
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .event_format(JsonLines)
}

/// Installs the broker's log on standard error (`RUST_LOG` filters; by default `info`, without
/// PostgreSQL's notices such as "relation already exists, skipping" at each start), written
/// in batches by a thread of its own ([`LogSink`]): a request appends its lines and goes on.
/// Not lossy: when too much waits, requests wait, so no audit event is ever dropped. The guard
/// returned writes out what is left when it is dropped, at exit.
pub fn log_to_stderr() -> std::io::Result<Flushing> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx::postgres::notice=warn"));
    let (sink, flushing) = LogSink::spawn(std::io::stderr())?;
    let _ = log_format(filter).with_writer(sink).try_init();
    Ok(flushing)
}

/// A list of names as one audit field: `attributes = %audit::list(names)`.
pub fn list<I>(items: I) -> List
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut joined = String::new();
    for item in items {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(item.as_ref());
    }
    List(joined)
}

/// Space-separated names (empty for none); see [`list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List(String);

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::list;

    #[test]
    fn names_are_joined_by_single_spaces() {
        assert_eq!(
            list(["given_name", "address"]).to_string(),
            "given_name address"
        );
        assert_eq!(
            list(vec!["ab-account".to_owned()]).to_string(),
            "ab-account"
        );
        assert_eq!(list(Vec::<&str>::new()).to_string(), "");
    }
}
