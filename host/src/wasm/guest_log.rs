//! A module's stdout and stderr: every line comes out through the host's
//! logger, tagged with the module, and bounded so a guest can flood neither
//! the logs nor the host's memory.
//!
//! The SDK writes one JSON object a line (`level`, `message`, `fields`);
//! any other line is logged as it is, so nothing a module prints is lost.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use serde_json::Value;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// What one write may hand over; a write never waits.
const WRITE_BUDGET: usize = 1 << 20;

/// Who is logging, for every line a call emits.
#[derive(Debug, Clone)]
pub(crate) struct ModuleTag {
    pub(crate) name: Arc<str>,
    pub(crate) version: Arc<str>,
    pub(crate) digest: Arc<str>,
}

/// Which of the module's streams a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// The log of one call, shared by the call's two output streams.
#[derive(Clone)]
pub(crate) struct GuestLog(Arc<Mutex<Lines>>);

struct Lines {
    tag: ModuleTag,
    /// Drops every line: the admission self-test's bare request would
    /// only log noise about its own missing fields.
    muted: bool,
    max_lines: usize,
    max_bytes: usize,
    emitted: usize,
    dropped: usize,
    /// The unfinished last line of stdout and of stderr, at most
    /// `max_bytes` each; `cut` when bytes past that were thrown away.
    partial: [Partial; 2],
    /// A panic the module reported before trapping: its message and where.
    panic: Option<String>,
}

#[derive(Default)]
struct Partial {
    bytes: Vec<u8>,
    cut: bool,
}

impl GuestLog {
    pub(crate) fn new(tag: ModuleTag, max_lines: usize, max_bytes: usize, muted: bool) -> Self {
        Self(Arc::new(Mutex::new(Lines {
            tag,
            muted,
            max_lines,
            max_bytes,
            emitted: 0,
            dropped: 0,
            partial: Default::default(),
            panic: None,
        })))
    }

    /// The stream the module's `stream` writes into.
    pub(crate) fn stream(&self, stream: Stream) -> GuestStream {
        GuestStream {
            log: self.clone(),
            stream,
        }
    }

    /// The panic the module reported, if it did.
    pub(crate) fn panic(&self) -> Option<String> {
        self.lock().panic.clone()
    }

    /// Lines over the limit, dropped so far.
    #[cfg(test)]
    fn dropped(&self) -> usize {
        self.lock().dropped
    }

    /// Logs what is left of unfinished lines, and reports lines dropped over
    /// the limit, once, when the call ends.
    pub(crate) fn finish(&self) {
        let mut lines = self.lock();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let partial = std::mem::take(&mut lines.partial[stream as usize]);
            if !partial.bytes.is_empty() {
                lines.line(stream, &partial.bytes, partial.cut);
            }
        }
        if lines.dropped > 0 {
            let t = &lines.tag;
            tracing::warn!(
                module = %t.name, version = %t.version, digest = %t.digest,
                dropped = lines.dropped, limit = lines.max_lines,
                "module emitted more log lines than one call may; the rest were dropped"
            );
        }
    }

    fn lock(&self) -> MutexGuard<'_, Lines> {
        // A poisoned lock only means a logging call panicked; the lines
        // themselves are still consistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Lines {
    fn write(&mut self, stream: Stream, mut bytes: &[u8]) {
        while let Some(end) = memchr::memchr(b'\n', bytes) {
            let (chunk, rest) = (&bytes[..end], &bytes[end + 1..]);
            let partial = &mut self.partial[stream as usize];
            if partial.bytes.is_empty() && !partial.cut && chunk.len() <= self.max_bytes {
                // A whole line in one write, as the SDK writes them.
                self.line(stream, chunk, false);
            } else {
                self.extend_partial(stream, chunk);
                let line = std::mem::take(&mut self.partial[stream as usize]);
                self.line(stream, &line.bytes, line.cut);
            }
            bytes = rest;
        }
        self.extend_partial(stream, bytes);
    }

    /// Keeps the start of an unfinished line, at most `max_bytes` of it.
    fn extend_partial(&mut self, stream: Stream, bytes: &[u8]) {
        let partial = &mut self.partial[stream as usize];
        let room = self.max_bytes.saturating_sub(partial.bytes.len());
        partial
            .bytes
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
        partial.cut |= bytes.len() > room;
    }

    /// One whole line: a structured JSON line, or plain text.
    fn line(&mut self, stream: Stream, bytes: &[u8], cut: bool) {
        let kept = !self.muted && self.emitted < self.max_lines;
        if !kept && !may_report_a_panic(bytes) {
            // A flooding module costs a scan, not a parse.
            self.not_kept();
            return;
        }
        let structured = if cut {
            None
        } else {
            serde_json::from_slice::<Value>(bytes)
                .ok()
                .and_then(Structured::from)
        };
        let line = structured.unwrap_or_else(|| Structured::plain(stream, bytes, cut));
        // The SDK's panic report: kept even when muted or over the limit,
        // for the call's failure.
        if let Some(location) = &line.panic {
            self.panic = Some(format!("{} (at {location})", line.message));
        }
        if !kept {
            self.not_kept();
            return;
        }
        self.emitted += 1;
        self.emit(line);
    }

    /// A line that is not logged: counted when over the limit, not when
    /// the whole call is muted.
    fn not_kept(&mut self) {
        self.dropped += usize::from(!self.muted);
    }

    fn emit(&self, line: Structured) {
        let t = &self.tag;
        let Structured {
            level,
            message,
            fields,
            ..
        } = line;
        macro_rules! line {
            ($level:expr) => {
                tracing::event!(target: "guest", $level, module = %t.name, version = %t.version, digest = %t.digest, fields = %fields, "{message}")
            };
        }
        match level {
            tracing::Level::TRACE => line!(tracing::Level::TRACE),
            tracing::Level::DEBUG => line!(tracing::Level::DEBUG),
            tracing::Level::INFO => line!(tracing::Level::INFO),
            tracing::Level::WARN => line!(tracing::Level::WARN),
            tracing::Level::ERROR => line!(tracing::Level::ERROR),
        }
    }
}

/// Whether a line may be the SDK's panic report, which is kept even when
/// the line itself is not logged.
fn may_report_a_panic(line: &[u8]) -> bool {
    static KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"panic\""));
    KEY.find(line).is_some()
}

/// A line as the host logs it.
struct Structured {
    level: tracing::Level,
    message: String,
    /// `key=value` pairs, space-separated.
    fields: String,
    /// Where the module panicked, when this line is its panic report.
    panic: Option<String>,
}

impl Structured {
    /// `{"level": .., "message": .., "fields": {..}}`, or none when the
    /// line is not one.
    fn from(value: Value) -> Option<Self> {
        let Value::Object(mut line) = value else {
            return None;
        };
        let Some(Value::String(message)) = line.remove("message") else {
            return None;
        };
        let level = match line.get("level").and_then(Value::as_str) {
            Some("trace") => tracing::Level::TRACE,
            Some("debug") => tracing::Level::DEBUG,
            Some("warn") => tracing::Level::WARN,
            Some("error") => tracing::Level::ERROR,
            _ => tracing::Level::INFO,
        };
        let mut panic = None;
        let mut fields = Vec::new();
        if let Some(Value::Object(map)) = line.remove("fields") {
            for (key, value) in map {
                let value = match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                if key == "panic" {
                    panic = Some(value.clone());
                }
                fields.push(format!("{key}={value}"));
            }
        }
        Some(Self {
            level,
            message,
            fields: fields.join(" "),
            panic,
        })
    }

    fn plain(stream: Stream, bytes: &[u8], cut: bool) -> Self {
        let mut message = String::from_utf8_lossy(bytes).into_owned();
        if cut {
            message.push('…');
        }
        Self {
            level: tracing::Level::INFO,
            message,
            fields: format!("stream={}", stream.name()),
            panic: None,
        }
    }
}

/// One of a call's output streams, as WASI sees it.
#[derive(Clone)]
pub(crate) struct GuestStream {
    log: GuestLog,
    stream: Stream,
}

impl GuestStream {
    fn take(&self, bytes: &[u8]) {
        self.log.lock().write(self.stream, bytes);
    }
}

impl IsTerminal for GuestStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestStream {
    /// Always ready: a write is taken at once.
    async fn ready(&mut self) {}
}

impl OutputStream for GuestStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.take(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_BUDGET)
    }
}

impl tokio::io::AsyncWrite for GuestStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.take(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(max_lines: usize, max_bytes: usize) -> GuestLog {
        let tag = ModuleTag {
            name: "m".into(),
            version: "1".into(),
            digest: "d".into(),
        };
        GuestLog::new(tag, max_lines, max_bytes, false)
    }

    #[test]
    fn a_panic_report_is_kept_from_a_line_split_across_writes() {
        let log = log(10, 4096);
        let mut err = log.stream(Stream::Stderr);
        let line = br#"{"level":"error","message":"boom","fields":{"panic":"src/lib.rs:3:5"}}"#;
        let (a, b) = line.split_at(20);
        err.write(Bytes::copy_from_slice(a)).unwrap();
        assert_eq!(log.panic(), None);
        err.write(Bytes::copy_from_slice(b)).unwrap();
        err.write(Bytes::from_static(b"\n")).unwrap();
        assert_eq!(log.panic().as_deref(), Some("boom (at src/lib.rs:3:5)"));
    }

    #[test]
    fn lines_over_the_limit_are_counted_and_long_lines_cut_in_bounded_memory() {
        let log = log(2, 8);
        let mut out = log.stream(Stream::Stdout);
        out.write(Bytes::from_static(b"one\ntwo\nthree\n")).unwrap();
        assert_eq!(log.dropped(), 1);
        out.write(Bytes::from(vec![b'x'; 1 << 20])).unwrap();
        assert!(log.lock().partial[Stream::Stdout as usize].bytes.len() <= 8);
        assert!(log.lock().partial[Stream::Stdout as usize].cut);
        log.finish();
        assert_eq!(log.dropped(), 2);
    }
}
