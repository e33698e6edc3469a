//! The `log` import: guest log lines come out through the host's logger,
//! tagged with the module, and bounded so a guest cannot flood the logs.

use std::sync::Arc;

use crate::wasm::bindings::platform::function::log::{Host, Level};

/// Who is logging, for every line a call emits.
#[derive(Debug, Clone)]
pub struct ModuleTag {
    pub name: Arc<str>,
    pub version: Arc<str>,
    pub digest: Arc<str>,
}

pub struct GuestLog {
    tag: ModuleTag,
    /// Drops every line: the admission self-test's bare request would
    /// only log noise about its own missing fields.
    muted: bool,
    max_lines: usize,
    max_bytes: usize,
    emitted: usize,
    pub dropped: usize,
    /// A panic the module reported before trapping: its message and where.
    pub panic: Option<String>,
}

impl GuestLog {
    pub fn new(tag: ModuleTag, max_lines: usize, max_bytes: usize, muted: bool) -> Self {
        Self {
            tag,
            muted,
            max_lines,
            max_bytes,
            emitted: 0,
            dropped: 0,
            panic: None,
        }
    }

    /// Reports lines dropped over the limit, once, when the call ends.
    pub fn finish(&self) {
        if self.dropped > 0 {
            tracing::warn!(
                module = %self.tag.name, version = %self.tag.version, digest = %self.tag.digest,
                dropped = self.dropped, limit = self.max_lines,
                "module emitted more log lines than one call may; the rest were dropped"
            );
        }
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

impl Host for GuestLog {
    fn emit(&mut self, level: Level, message: String, fields: Vec<(String, String)>) {
        // The SDK's panic hook: kept even when muted, for the failure.
        if let Some((_, location)) = fields.iter().find(|(k, _)| k == "panic") {
            let message = truncate(message.clone(), self.max_bytes);
            self.panic = Some(format!("{message} (at {location})"));
        }
        if self.muted {
            return;
        }
        if self.emitted >= self.max_lines {
            self.dropped += 1;
            return;
        }
        self.emitted += 1;
        let message = truncate(message, self.max_bytes);
        let fields = truncate(
            fields
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            self.max_bytes,
        );
        let t = &self.tag;
        macro_rules! line {
            ($level:expr) => {
                tracing::event!(target: "guest", $level, module = %t.name, version = %t.version, digest = %t.digest, fields = %fields, "{message}")
            };
        }
        match level {
            Level::Trace => line!(tracing::Level::TRACE),
            Level::Debug => line!(tracing::Level::DEBUG),
            Level::Info => line!(tracing::Level::INFO),
            Level::Warn => line!(tracing::Level::WARN),
            Level::Error => line!(tracing::Level::ERROR),
        }
    }
}

/// The `types` interface has no functions, only its (empty) host trait.
impl crate::wasm::bindings::wit::Host for GuestLog {}
