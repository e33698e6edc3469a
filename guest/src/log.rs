//! Log lines the platform logic emits; the wasm layer forwards them to the
//! host's logger, native tests read them back.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub level: Level,
    pub message: String,
    pub fields: Vec<(String, String)>,
}

/// Collects the log lines of one call.
#[derive(Debug, Default)]
pub struct Log {
    pub lines: Vec<Line>,
}

impl Log {
    pub fn debug(&mut self, message: impl Into<String>, fields: &[(&str, &str)]) {
        self.push(Level::Debug, message.into(), fields);
    }

    pub fn info(&mut self, message: impl Into<String>, fields: &[(&str, &str)]) {
        self.push(Level::Info, message.into(), fields);
    }

    pub fn warn(&mut self, message: impl Into<String>, fields: &[(&str, &str)]) {
        self.push(Level::Warn, message.into(), fields);
    }

    fn push(&mut self, level: Level, message: String, fields: &[(&str, &str)]) {
        let fields = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.lines.push(Line {
            level,
            message,
            fields,
        });
    }
}
