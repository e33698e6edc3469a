//! Log lines a module writes. In the wasm build they go to stderr as they
//! are written, one JSON object a line, which the host's logger takes in
//! and `wasmtime run` shows, so a panic loses none; natively they are
//! collected for tests to read.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub level: Level,
    pub message: String,
    pub fields: Vec<(String, String)>,
}

impl Line {
    /// The line as the contract writes it to stderr:
    /// `{"level": .., "message": .., "fields": {..}}` and a newline.
    pub fn to_json_line(&self) -> String {
        // Written straight out rather than through a `Value` tree: a module
        // may log thousands of lines in one call.
        let mut out = Vec::with_capacity(48 + self.message.len());
        out.extend_from_slice(b"{\"level\":\"");
        out.extend_from_slice(self.level.name().as_bytes());
        out.extend_from_slice(b"\",\"message\":");
        json_string(&mut out, &self.message);
        out.extend_from_slice(b",\"fields\":{");
        for (i, (key, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_string(&mut out, key);
            out.push(b':');
            json_string(&mut out, value);
        }
        out.extend_from_slice(b"}}\n");
        String::from_utf8(out).expect("JSON escaping keeps UTF-8")
    }
}

/// `text` as a JSON string, quoted and escaped.
fn json_string(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(out, text).expect("writing to a Vec cannot fail");
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

    #[test]
    fn a_line_is_one_json_object_and_a_newline() {
        let line = Line {
            level: Level::Error,
            message: "boom\nagain".into(),
            fields: vec![
                ("panic".into(), "src/lib.rs:1:2".into()),
                ("say \"hi\"".into(), "tab\there".into()),
            ],
        };
        let text = line.to_json_line();
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"level": "error", "message": "boom\nagain", "fields": {
                "panic": "src/lib.rs:1:2", "say \"hi\"": "tab\there",
            }})
        );
    }
}
