//! The audit trail as an auditor's tools read it: the broker's own log format
//! (`broker::audit::log_format`), captured in memory for the test that asks.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The audit events logged on this thread while it lives. `#[tokio::test]` runs the test bed's
/// broker and providers on the test's one thread, so this holds exactly this test's events.
pub struct AuditLog {
    lines: Arc<Mutex<Vec<u8>>>,
    _guard: DefaultGuard,
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
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

impl AuditLog {
    pub fn capture() -> Self {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let subscriber = broker::audit::log_format(EnvFilter::new("audit=info"))
            .with_writer(Sink(lines.clone()))
            .finish();
        Self {
            lines,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// Each event's fields, in the order logged; every line must be one JSON object.
    pub fn events(&self) -> Vec<Value> {
        let text = String::from_utf8(self.lines.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .filter(|e| e["target"] == "audit")
            .map(|e| e["fields"].clone())
            .collect()
    }

    /// The events' names, in order.
    pub fn names(&self) -> Vec<String> {
        self.events()
            .iter()
            .filter_map(|e| e["event"].as_str().map(str::to_owned))
            .collect()
    }

    /// The events called `name`, in order.
    pub fn all(&self, name: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == name)
            .collect()
    }

    /// The one event called `name`.
    pub fn one(&self, name: &str) -> Value {
        let found = self.all(name);
        assert_eq!(found.len(), 1, "one {name} event in {:?}", self.names());
        found.into_iter().next().unwrap()
    }
}
