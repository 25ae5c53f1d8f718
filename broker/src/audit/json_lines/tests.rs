use std::io;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tracing_subscriber::fmt::MakeWriter;

use super::*;

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Sink {
    type Writer = Sink;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Sink {
    fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        assert!(text.ends_with('\n'), "{text:?}");
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

#[derive(Debug)]
struct Failure;

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a \"quoted\"\nfailure")
    }
}

impl std::error::Error for Failure {}

/// Events with every kind of value, and every character that needs escaping.
fn log_everything() {
    let awkward = "quote \" backslash \\ newline \n tab \t bell \u{7} del \u{7f} é 🍁 \u{2028}";
    let list = crate::audit::list(["given_name", "address"]);
    tracing::info!(target: "audit", event = "consent.given", txn = "t-1", agreement_version = 3_u32,
        remembered = true, attributes = %list, offset = -7_i64, big = u128::MAX, small = i128::MIN);
    tracing::warn!(awkward, shown = %awkward, debugged = ?awkward, "a message with {} in it", "\"this\"");
    tracing::error!(
        ratio = 0.25_f64,
        nan = f64::NAN,
        infinite = f64::INFINITY,
        error = &Failure as &(dyn std::error::Error + 'static)
    );
    tracing::info!(target: "audit", event = "token.issued");
}

#[test]
fn lines_are_those_of_tracing_subscribers_json_format() {
    let ours = Sink::default();
    let subscriber = tracing_subscriber::fmt()
        .event_format(JsonLines)
        .with_writer(ours.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, log_everything);

    let theirs = Sink::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(theirs.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, log_everything);

    let (ours, theirs) = (ours.lines(), theirs.lines());
    assert_eq!(ours.len(), 4);
    assert_eq!(ours.len(), theirs.len());
    for (mut a, mut b) in ours.into_iter().zip(theirs) {
        let (ta, tb) = (a["timestamp"].take(), b["timestamp"].take());
        assert_eq!(a, b);
        // Same shape: 2026-12-02T08:27:41.021142Z.
        let (ta, tb) = (ta.as_str().unwrap(), tb.as_str().unwrap());
        assert_eq!(ta.len(), tb.len(), "{ta} {tb}");
        assert!(
            time::OffsetDateTime::parse(ta, &time::format_description::well_known::Rfc3339).is_ok()
        );
    }
}

#[test]
fn values_are_escaped_and_numbers_stay_numbers() {
    let sink = Sink::default();
    let subscriber = tracing_subscriber::fmt()
        .event_format(JsonLines)
        .with_writer(sink.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, log_everything);
    let lines = sink.lines();
    let audit = &lines[0];
    assert_eq!(audit["target"], "audit");
    assert_eq!(audit["level"], "INFO");
    let fields = &audit["fields"];
    assert_eq!(fields["agreement_version"], 3);
    assert_eq!(fields["remembered"], true);
    assert_eq!(fields["attributes"], "given_name address");
    assert_eq!(fields["offset"], -7);
    assert_eq!(fields["big"], u128::MAX.to_string());
    let warn = &lines[1]["fields"];
    let awkward = "quote \" backslash \\ newline \n tab \t bell \u{7} del \u{7f} é 🍁 \u{2028}";
    assert_eq!(warn["awkward"], awkward);
    assert_eq!(warn["shown"], awkward);
    assert_eq!(warn["message"], "a message with \"this\" in it");
    let error = &lines[2]["fields"];
    assert_eq!(error["nan"], Value::Null);
    assert_eq!(error["ratio"], 0.25);
    assert_eq!(error["error"], "a \"quoted\"\nfailure");
    assert_eq!(
        lines[3]["fields"],
        serde_json::json!({ "event": "token.issued" })
    );
}

#[test]
fn timestamps_have_six_digits_of_seconds() {
    let mut text = String::new();
    let t = time::macros::datetime!(2026-01-02 03:04:05.000_007 UTC);
    timestamp(&mut text, t).unwrap();
    assert_eq!(text, "2026-01-02T03:04:05.000007Z");
}

proptest::proptest! {
    /// Whatever a value holds (quotes, control characters, any Unicode), its line is one JSON
    /// object that gives the value back.
    #[test]
    fn any_value_comes_back_from_its_line(text in ".*", shown in proptest::prelude::any::<String>(), n in proptest::prelude::any::<i64>()) {
        let sink = Sink::default();
        let subscriber = tracing_subscriber::fmt()
            .event_format(JsonLines)
            .with_writer(sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "audit", text = text.as_str(), shown = %shown, n);
        });
        let lines = sink.lines();
        proptest::prop_assert_eq!(lines.len(), 1);
        let fields = &lines[0]["fields"];
        proptest::prop_assert_eq!(fields["text"].as_str(), Some(text.as_str()));
        proptest::prop_assert_eq!(fields["shown"].as_str(), Some(shown.as_str()));
        proptest::prop_assert_eq!(fields["n"].as_i64(), Some(n));
    }
}
