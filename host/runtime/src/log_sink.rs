//! The execution's log: the `log` import, stdout and stderr share one
//! size-capped buffer, so a flooding guest costs memory only up to the cap.
//! Every entry costs [`LOG_ENTRY_BYTES`] against the cap besides its
//! message, so a flood of empty lines is bounded as well as a flood of text.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use workway_report::config::LOG_ENTRY_BYTES;
use workway_report::{ExecutionLog, LogEntry};

/// A shared, capped execution log.
#[derive(Clone)]
pub struct LogSink {
    inner: Arc<Mutex<Inner>>,
}

/// Writes to stdout and stderr not yet charged to the execution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamUsage {
    /// Write calls.
    pub writes: u64,
    /// Bytes written.
    pub bytes: u64,
}

struct Inner {
    log: ExecutionLog,
    /// Bytes charged against the cap: messages plus a cost per entry.
    charged: usize,
    cap: usize,
    uncharged: StreamUsage,
}

impl Inner {
    /// Append `message` from `source`, or count it as dropped past the cap.
    fn push(&mut self, source: &str, message: &str) {
        let room = self.cap.saturating_sub(self.charged);
        if room < LOG_ENTRY_BYTES {
            self.log.dropped_entries += 1;
            self.log.dropped_bytes += message.len() as u64;
            return;
        }
        let kept = truncate_utf8(message, room - LOG_ENTRY_BYTES);
        self.charged += LOG_ENTRY_BYTES + kept.len();
        self.log.dropped_bytes += (message.len() - kept.len()) as u64;
        self.log.entries.push(LogEntry {
            source: source.to_string(),
            message: kept.to_string(),
        });
    }

    fn is_full(&self) -> bool {
        self.cap.saturating_sub(self.charged) < LOG_ENTRY_BYTES
    }
}

impl LogSink {
    /// A log keeping at most `cap` bytes, each entry's message plus
    /// [`LOG_ENTRY_BYTES`].
    pub fn new(cap: usize) -> Self {
        LogSink {
            inner: Arc::new(Mutex::new(Inner {
                log: ExecutionLog::default(),
                charged: 0,
                cap,
                uncharged: StreamUsage::default(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means another writer panicked mid-append; the
        // log is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Append `message` from `source`, or count it as dropped past the cap.
    pub fn push(&self, source: &str, message: &str) {
        self.lock().push(source, message);
    }

    /// Append raw stream bytes from `source`, one entry per line. Once the
    /// log is full the lines are only counted, without decoding them.
    fn push_bytes(&self, source: &str, bytes: &[u8]) {
        let mut inner = self.lock();
        inner.uncharged.writes += 1;
        inner.uncharged.bytes += bytes.len() as u64;
        if inner.is_full() {
            let newlines = bytes.iter().filter(|&&b| b == b'\n').count();
            let unterminated = usize::from(bytes.last().is_some_and(|&b| b != b'\n'));
            inner.log.dropped_entries += (newlines + unterminated) as u64;
            inner.log.dropped_bytes += (bytes.len() - newlines) as u64;
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        for line in text.split_terminator('\n') {
            inner.push(source, line);
        }
    }

    /// The stdout and stderr writes since the last call, for the execution
    /// to charge as host calls.
    pub fn take_stream_usage(&self) -> StreamUsage {
        std::mem::take(&mut self.lock().uncharged)
    }

    /// The log, taken out of the sink: what is written afterwards starts a
    /// new (empty) log under the same cap.
    pub fn take(&self) -> ExecutionLog {
        std::mem::take(&mut self.lock().log)
    }

    /// A WASI stdout/stderr that writes into this log as `source`.
    pub fn stream(&self, source: &'static str) -> LogStream {
        LogStream {
            sink: self.clone(),
            source,
        }
    }
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// stdout or stderr of a guest, captured into its [`LogSink`]. Writes never
/// fail, so `println!` in a guest never panics; past the cap they are
/// counted and dropped.
#[derive(Clone)]
pub struct LogStream {
    sink: LogSink,
    source: &'static str,
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for LogStream {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.sink.push_bytes(self.source, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for LogStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.sink.push_bytes(self.source, buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[async_trait::async_trait]
impl Pollable for LogStream {
    async fn ready(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_whole_characters_and_counts_the_rest() {
        let sink = LogSink::new(2 * LOG_ENTRY_BYTES + 10);
        sink.push("log", "12345");
        sink.push("log", "678é90");
        sink.push("log", "more");
        let log = sink.take();
        assert_eq!(log.entries.len(), 2);
        assert_eq!(log.entries[1].message, "678é");
        assert_eq!(log.dropped_bytes, 2 + 4);
        assert_eq!(log.dropped_entries, 1);
        assert!(log.truncated());
    }

    #[test]
    fn empty_log_lines_are_bounded() {
        let cap = 64 << 10;
        let sink = LogSink::new(cap);
        for _ in 0..100_000 {
            sink.push("log.info", "");
        }
        let mut stdout = sink.stream("stdout");
        let newlines = Bytes::from(vec![b'\n'; 64 << 10]);
        for _ in 0..16 {
            stdout.write(newlines.clone()).expect("writes never fail");
        }
        let log = sink.take();
        assert_eq!(log.entries.len(), cap / LOG_ENTRY_BYTES);
        assert_eq!(
            log.entries.len() as u64 + log.dropped_entries,
            100_000 + 16 * (64 << 10)
        );
        assert!(log.truncated());
        let usage = sink.take_stream_usage();
        assert_eq!(usage.writes, 16);
        assert_eq!(usage.bytes, 16 * (64 << 10));
        assert_eq!(sink.take_stream_usage(), StreamUsage::default());
    }
}
