//! The execution's log: the `log` import, stdout and stderr share one
//! size-capped buffer, so a flooding guest costs memory only up to the cap.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use crate::report::{ExecutionLog, LogEntry};

/// A shared, capped execution log.
#[derive(Clone)]
pub struct LogSink {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    log: ExecutionLog,
    kept: usize,
    cap: usize,
}

impl LogSink {
    /// A log keeping at most `cap` bytes of messages.
    pub fn new(cap: usize) -> Self {
        LogSink {
            inner: Arc::new(Mutex::new(Inner {
                log: ExecutionLog::default(),
                kept: 0,
                cap,
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
        let mut inner = self.lock();
        let room = inner.cap.saturating_sub(inner.kept);
        if room == 0 {
            inner.log.dropped_bytes += message.len() as u64;
            return;
        }
        let kept = truncate_utf8(message, room);
        inner.kept += kept.len();
        inner.log.dropped_bytes += (message.len() - kept.len()) as u64;
        inner.log.entries.push(LogEntry {
            source: source.to_string(),
            message: kept.to_string(),
        });
    }

    /// Append raw stream bytes from `source`, one entry per line.
    fn push_bytes(&self, source: &str, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        for line in text.split_terminator('\n') {
            self.push(source, line);
        }
    }

    /// The log so far.
    pub fn snapshot(&self) -> ExecutionLog {
        self.lock().log.clone()
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
        let sink = LogSink::new(10);
        sink.push("log", "12345");
        sink.push("log", "678é90");
        sink.push("log", "more");
        let log = sink.snapshot();
        assert_eq!(log.entries.len(), 2);
        assert_eq!(log.entries[1].message, "678é");
        assert_eq!(log.dropped_bytes, 2 + 4);
        assert!(log.truncated());
    }
}
