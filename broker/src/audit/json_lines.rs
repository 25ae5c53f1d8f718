//! The log line: one JSON object per event, in the shape of tracing-subscriber's JSON format
//! (`{"timestamp":…,"level":…,"fields":{…},"target":…}`), written straight into the line
//! buffer.
//!
//! tracing-subscriber's own JSON formatter goes through serde for every field, and formats each
//! `%value` into a string of its own before escaping it into the line: about a fifth of a
//! brokered login's own work, for five audit events. This writes each value once, escaping as
//! it goes. Spans are not written: the broker opens none, and a library's spans are below the
//! `info` level the broker logs at.
//!
//! An audit event carries its fields as one JSON object, built once by `Event::fields` (the
//! same object its record keeps), in the field [`AUDIT_FIELDS`]: this writes that object's
//! members as the line's `fields`, so the line reads as if each were a field of its own.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The field in which an audit event carries all its fields, as a JSON object.
pub const AUDIT_FIELDS: &str = "audit_fields";

/// The event formatter (`SubscriberBuilder::event_format`).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        writer.write_str("{\"timestamp\":\"")?;
        timestamp(&mut writer, crate::clock::wall_time())?;
        write!(writer, "\",\"level\":\"{}\",\"fields\":{{", meta.level())?;
        let mut fields = Fields {
            out: &mut writer,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_str("},\"target\":")?;
        string(&mut writer, meta.target())?;
        writer.write_str("}\n")
    }
}

/// RFC 3339 in UTC with microseconds, as tracing-subscriber writes it.
fn timestamp(out: &mut impl Write, t: time::OffsetDateTime) -> fmt::Result {
    write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Writes the event's fields as the members of a JSON object. 128-bit integers go through
/// `record_debug`, as strings, as tracing-subscriber writes them (JSON readers lose their
/// precision as numbers).
struct Fields<'w, W> {
    out: &'w mut W,
    first: bool,
    /// `Visit` cannot fail: the first write error is kept for the caller.
    result: fmt::Result,
}

impl<W: Write> Fields<'_, W> {
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let separator = if self.first { "" } else { "," };
        self.first = false;
        self.result = self
            .out
            .write_str(separator)
            .and_then(|()| string(self.out, field.name()))
            .and_then(|()| self.out.write_char(':'))
            .and_then(|()| value(self.out));
    }
}

impl<W: Write> Fields<'_, W> {
    /// Writes the members of the JSON object `object` (made by serde_json: valid, on one line)
    /// as members of this one.
    fn members_of(&mut self, object: &str) {
        let inner = object
            .strip_prefix('{')
            .and_then(|o| o.strip_suffix('}'))
            .unwrap_or("");
        if self.result.is_err() || inner.is_empty() {
            return;
        }
        let separator = if self.first { "" } else { "," };
        self.first = false;
        self.result = self
            .out
            .write_str(separator)
            .and_then(|()| self.out.write_str(inner));
    }
}

impl<W: Write> Visit for Fields<'_, W> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == AUDIT_FIELDS {
            self.members_of(value);
        } else {
            self.member(field, |out| string(out, value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |out| quoted(out, format_args!("{value:?}")));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.member(field, |out| quoted(out, format_args!("{value}")));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |out| write!(out, "{value}"));
    }

    /// JSON has no infinity or NaN: those are `null`, as serde_json writes them.
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.member(field, |out| {
            if value.is_finite() {
                write!(out, "{value}")
            } else {
                out.write_str("null")
            }
        });
    }
}

/// A formatted value as a JSON string, escaped as it is formatted.
fn quoted(out: &mut impl Write, value: fmt::Arguments<'_>) -> fmt::Result {
    out.write_char('"')?;
    Escaped(out).write_fmt(value)?;
    out.write_char('"')
}

/// A JSON string.
fn string(out: &mut impl Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaped(out).write_str(s)?;
    out.write_char('"')
}

/// Escapes what passes through it for the inside of a JSON string (RFC 8259 7): quotes,
/// backslashes and control characters, so that no value can end its string or its line.
struct Escaped<'w, W>(&'w mut W);

impl<W: Write> Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut plain = 0;
        for (i, byte) in s.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f | 0x7f => "",
                _ => continue,
            };
            self.0.write_str(&s[plain..i])?;
            if escape.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = i + 1;
        }
        self.0.write_str(&s[plain..])
    }
}

#[cfg(test)]
mod tests;
