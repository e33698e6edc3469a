//! Log lines a module writes. In the wasm build they go to the host's
//! logger as they are written, so a panic loses none; natively they are
//! collected for tests to read.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub level: Level,
    pub message: String,
    pub fields: Vec<(String, String)>,
}

/// The log lines of one call.
#[derive(Debug, Default)]
pub struct Log {
    /// What was written, when no sink takes the lines.
    pub lines: Vec<Line>,
    sink: Option<fn(Line)>,
}

impl Log {
    /// A log that hands every line to `sink` instead of keeping it.
    pub fn streaming(sink: fn(Line)) -> Self {
        Self {
            lines: Vec::new(),
            sink: Some(sink),
        }
    }

    pub fn debug(&mut self, message: impl Into<String>, fields: &[(&str, &str)]) {
        self.push(Level::Debug, message.into(), fields);
    }

    pub fn info(&mut self, message: impl Into<String>, fields: &[(&str, &str)]) {
        self.push(Level::Info, message.into(), fields);
    }

    pub fn warn(&mut self, message: impl Into<String>, fields: &[(&str, &str)]) {
        self.push(Level::Warn, message.into(), fields);
    }

    pub fn error(&mut self, message: impl Into<String>, fields: &[(&str, &str)]) {
        self.push(Level::Error, message.into(), fields);
    }

    fn push(&mut self, level: Level, message: String, fields: &[(&str, &str)]) {
        let fields = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let line = Line {
            level,
            message,
            fields,
        };
        match self.sink {
            Some(sink) => sink(line),
            None => self.lines.push(line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_collects_lines_unless_a_sink_takes_them() {
        let mut log = Log::default();
        log.warn("careful", &[("field", "value")]);
        assert_eq!(log.lines[0].level, Level::Warn);
        assert_eq!(log.lines[0].fields, [("field".into(), "value".into())]);

        static TAKEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let mut log = Log::streaming(|line| TAKEN.lock().unwrap().push(line.message));
        log.error("gone at once", &[]);
        assert!(log.lines.is_empty());
        assert_eq!(*TAKEN.lock().unwrap(), ["gone at once"]);
    }
}
