//! Why a composite cannot be rendered: most often a field of the composite
//! or the environment that cannot be used.

use std::fmt;

/// Which field, what it holds, and what it must be. It reaches the user as
/// the FATAL result's message, `<field> <got>: <expected>`, for example
/// `network.zones is []: expected a list of 1 to 6 zone suffixes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Where, as a path into the composite (`spec.parameters.pools.web`),
    /// or `environment <key>` for a value from the EnvironmentConfigs.
    pub field: String,
    /// What it holds, as the message says it: `is missing`, `is 5`.
    pub got: String,
    /// What it must be, or how to fix it.
    pub expected: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        got: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            got: got.into(),
            expected: expected.into(),
        }
    }

    /// The field is absent.
    pub fn missing(field: impl Into<String>, expected: impl Into<String>) -> Self {
        Self::new(field, "is missing", expected)
    }

    /// The field holds `value` (JSON, or text already quoted).
    pub fn is(
        field: impl Into<String>,
        value: impl fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        Self::new(field, format!("is {value}"), expected)
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.field, self.got, self.expected)
    }
}

impl std::error::Error for FieldError {}

/// Why a render stopped; its message is the FATAL result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// A field of the composite or the environment.
    Field(FieldError),
    /// Anything else: a values template, a chart's rendered values.
    Other(String),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::Field(e) => e.fmt(f),
            RenderError::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for RenderError {}

impl From<FieldError> for RenderError {
    fn from(error: FieldError) -> Self {
        RenderError::Field(error)
    }
}

impl From<String> for RenderError {
    fn from(message: String) -> Self {
        RenderError::Other(message)
    }
}

impl From<&str> for RenderError {
    fn from(message: &str) -> Self {
        RenderError::Other(message.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::FieldError;

    #[test]
    fn the_message_names_the_field_what_it_is_and_what_it_must_be() {
        let e = FieldError::is("network.subnetBits", 9, "expected 1 to 8");
        assert_eq!(e.to_string(), "network.subnetBits is 9: expected 1 to 8");
        let e = FieldError::missing("metadata.name", "name the composite resource");
        assert_eq!(
            e.to_string(),
            "metadata.name is missing: name the composite resource"
        );
    }
}
