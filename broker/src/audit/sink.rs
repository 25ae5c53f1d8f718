//! Where the broker's log lines go: a buffer in memory that a thread of its own writes out to
//! stderr, a batch at a time.
//!
//! A request appends its line under a lock and goes on; it never waits for a `write`, and it
//! wakes the writing thread only for the first line after a batch was written. The thread
//! then lets lines gather for [`GATHER`] (less when [`BATCH`] bytes are waiting) and writes
//! them in one call. With a thread woken for every line (tracing-appender's channel), a busy
//! broker spent a few percent of its time waking it and putting it back to sleep.
//!
//! Nothing is dropped: above [`MAX_PENDING`] bytes waiting (stderr blocked, say), requests wait
//! for room, as a full pipe would make them. [`Flushing`], kept by `main`, writes what is left
//! when the process ends. A line reaches stderr at most [`GATHER`] after it was logged.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the first line of a batch waits for others.
pub const GATHER: Duration = Duration::from_millis(10);
/// Waiting bytes that are written at once, without waiting out [`GATHER`].
pub const BATCH: usize = 64 * 1024;
/// Waiting bytes beyond which a request waits for the thread to write them.
pub const MAX_PENDING: usize = 4 * 1024 * 1024;

#[derive(Debug, Default)]
struct Pending {
    lines: Vec<u8>,
    closed: bool,
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// The thread waits on this for lines.
    lines: Condvar,
    /// Requests wait on this for room.
    room: Condvar,
}

impl Shared {
    /// A panic while holding the lock leaves the buffer as it was: still good to write.
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The log's destination (`with_writer`): cheap to clone, one per subscriber.
#[derive(Debug, Clone)]
pub struct LogSink {
    shared: Arc<Shared>,
}

/// Ends the writing thread when dropped, after it has written every line logged before.
#[derive(Debug)]
pub struct Flushing {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl LogSink {
    /// Starts the thread that writes to `out`.
    pub fn spawn(out: impl Write + Send + 'static) -> io::Result<(Self, Flushing)> {
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn({
                let shared = shared.clone();
                move || write_out(&shared, out)
            })?;
        Ok((
            Self {
                shared: shared.clone(),
            },
            Flushing {
                shared,
                thread: Some(thread),
            },
        ))
    }
}

/// The thread's loop: wait for a first line, let others gather, write them all, until closed
/// and empty.
fn write_out(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::new();
    let mut pending = shared.lock();
    loop {
        while pending.lines.is_empty() && !pending.closed {
            pending = shared
                .lines
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if pending.lines.is_empty() {
            return;
        }
        if pending.lines.len() < BATCH && !pending.closed {
            pending = shared
                .lines
                .wait_timeout(pending, GATHER)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        // The emptied buffer of the last batch takes the place of this one: no allocation.
        std::mem::swap(&mut batch, &mut pending.lines);
        drop(pending);
        shared.room.notify_all();
        // stderr has nowhere to report its own failure; the lines are dropped, as a closed
        // stderr would drop them.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        pending = shared.lock();
    }
}

impl Drop for Flushing {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.lines.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One event's line (the formatter writes it in one `write_all`).
#[derive(Debug)]
pub struct LineWriter<'a> {
    shared: &'a Shared,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut pending = self.shared.lock();
        while pending.lines.len() >= MAX_PENDING && !pending.closed {
            pending = self
                .shared
                .room
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let first = pending.lines.is_empty();
        pending.lines.extend_from_slice(line);
        let full = pending.lines.len() >= BATCH;
        drop(pending);
        if first || full {
            self.shared.lines.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogSink {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A destination the test can read, and hold up.
    #[derive(Clone, Default)]
    struct Out {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<Mutex<usize>>,
        hold: Arc<Mutex<()>>,
    }

    impl Write for Out {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _held = self.hold.lock().unwrap();
            self.bytes.lock().unwrap().extend_from_slice(buf);
            *self.writes.lock().unwrap() += 1;
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Out {
        fn text(&self) -> String {
            String::from_utf8(self.bytes.lock().unwrap().clone()).unwrap()
        }

        fn wait_for(&self, len: usize) {
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.bytes.lock().unwrap().len() < len && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    #[test]
    fn lines_come_out_whole_in_order_and_in_few_writes() {
        let out = Out::default();
        let (sink, flushing) = LogSink::spawn(out.clone()).unwrap();
        let started = Instant::now();
        for i in 0..1000 {
            writeln!(sink.make_writer(), "line {i}").unwrap();
        }
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        out.wait_for(expected.len());
        assert_eq!(out.text(), expected);
        // Logged in far less than GATHER: a handful of writes, not a thousand.
        assert!(
            *out.writes.lock().unwrap() <= 5 || started.elapsed() > GATHER * 5,
            "{} writes",
            out.writes.lock().unwrap()
        );
        drop(flushing);
    }

    #[test]
    fn a_line_is_out_within_the_gathering_time_and_the_rest_at_the_end() {
        let out = Out::default();
        let (sink, flushing) = LogSink::spawn(out.clone()).unwrap();
        writeln!(sink.make_writer(), "first").unwrap();
        out.wait_for(6);
        assert_eq!(out.text(), "first\n");
        // Held up, the thread cannot write: the next line waits in the buffer, and the guard
        // writes it before the process ends.
        let held = out.hold.lock().unwrap();
        writeln!(sink.make_writer(), "last").unwrap();
        std::thread::sleep(GATHER * 2);
        drop(held);
        drop(flushing);
        assert_eq!(out.text(), "first\nlast\n");
    }

    #[test]
    fn writers_wait_for_room_instead_of_dropping_lines() {
        let out = Out::default();
        let (sink, flushing) = LogSink::spawn(out.clone()).unwrap();
        let line = vec![b'x'; 1024 * 1024];
        let held = out.hold.lock().unwrap();
        let writer = std::thread::spawn({
            let sink = sink.clone();
            let line = line.clone();
            move || {
                for _ in 0..12 {
                    sink.make_writer().write_all(&line).unwrap();
                }
            }
        });
        std::thread::sleep(Duration::from_millis(200));
        // Four MiB wait at most (one more is in the thread's hands): the writer is held up.
        assert!(!writer.is_finished());
        drop(held);
        writer.join().unwrap();
        drop(flushing);
        assert_eq!(out.bytes.lock().unwrap().len(), 12 * line.len());
    }
}
