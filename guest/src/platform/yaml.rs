//! A small YAML reader for Helm values rendered from templates.
//!
//! It covers what values files use: block mappings and sequences, plain,
//! single- and double-quoted scalars, flow `[..]` / `{..}` collections,
//! `|` / `>` block scalars and comments. Errors carry the line number so a
//! bad template can be fixed from the message alone.

use serde_json::{Map, Number, Value};

/// Parses one YAML document into JSON; an empty document is `{}`.
pub fn parse(text: &str) -> Result<Value, String> {
    let lines = significant_lines(text);
    let mut parser = Parser { lines, pos: 0 };
    if parser.lines.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let indent = parser.lines[0].indent;
    let value = parser.block(indent)?;
    if let Some(line) = parser.lines.get(parser.pos) {
        return Err(format!(
            "line {}: unexpected indentation of {:?}",
            line.number, line.text
        ));
    }
    Ok(value)
}

#[derive(Debug, Clone)]
struct Line {
    number: usize,
    indent: usize,
    text: String,
    /// The raw line, kept for block scalars where comments are content.
    raw: String,
}

fn significant_lines(text: &str) -> Vec<Line> {
    text.lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let indent = raw.len() - raw.trim_start_matches(' ').len();
            let text = strip_comment(raw.trim_start_matches(' ')).trim_end();
            if text == "---" && indent == 0 {
                return None;
            }
            Some(Line {
                number: i + 1,
                indent,
                text: text.to_string(),
                raw: raw.to_string(),
            })
        })
        .collect()
}

/// Drops a `#` comment that starts a line or follows whitespace, outside
/// quotes.
fn strip_comment(text: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev_space = true;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && prev_space => return &text[..i],
            None => {}
        }
        prev_space = c == ' ' || c == '\t';
    }
    text
}

struct Parser {
    lines: Vec<Line>,
    pos: usize,
}

impl Parser {
    /// Skips blank lines, returning the next meaningful one.
    fn peek(&mut self) -> Option<&Line> {
        while self.lines.get(self.pos).is_some_and(|l| l.text.is_empty()) {
            self.pos += 1;
        }
        self.lines.get(self.pos)
    }

    fn block(&mut self, indent: usize) -> Result<Value, String> {
        let Some(line) = self.peek() else {
            return Ok(Value::Null);
        };
        if is_item(&line.text) {
            self.sequence(indent)
        } else {
            self.mapping(indent)
        }
    }

    fn sequence(&mut self, indent: usize) -> Result<Value, String> {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent || !is_item(&line.text) {
                break;
            }
            let line = line.clone();
            if line.indent > indent {
                return Err(format!(
                    "line {}: bad indentation of a sequence item",
                    line.number
                ));
            }
            let rest = line.text[1..].trim_start();
            let offset = line.indent + (line.text.len() - rest.len());
            if rest.is_empty() {
                self.pos += 1;
                let child = self.child_indent(indent);
                items.push(match child {
                    Some(child) => self.block(child)?,
                    None => Value::Null,
                });
            } else if is_item(rest) || split_key(rest).is_some() {
                // `- key: value` opens a mapping (or a nested sequence)
                // whose first line starts after the dash.
                self.lines[self.pos] = Line {
                    number: line.number,
                    indent: offset,
                    text: rest.to_string(),
                    raw: line.raw.clone(),
                };
                items.push(self.block(offset)?);
            } else {
                self.pos += 1;
                items.push(self.scalar_or_block(rest, line.number, indent)?);
            }
        }
        Ok(Value::Array(items))
    }

    fn mapping(&mut self, indent: usize) -> Result<Value, String> {
        let mut map = Map::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            let line = line.clone();
            if line.indent > indent {
                return Err(format!(
                    "line {}: unexpected indentation of {:?}",
                    line.number, line.text
                ));
            }
            if is_item(&line.text) {
                break;
            }
            let (key, rest) = split_key(&line.text).ok_or_else(|| {
                format!(
                    "line {}: expected `key: value`, found {:?}",
                    line.number, line.text
                )
            })?;
            let key = unquote_key(key, line.number)?;
            self.pos += 1;
            let value = if rest.is_empty() {
                match self.peek() {
                    // A sequence may sit at the key's own indentation.
                    Some(next) if next.indent == indent && is_item(&next.text) => {
                        self.sequence(indent)?
                    }
                    _ => match self.child_indent(indent) {
                        Some(child) => self.block(child)?,
                        None => Value::Null,
                    },
                }
            } else {
                self.scalar_or_block(rest, line.number, indent)?
            };
            if map.insert(key.clone(), value).is_some() {
                return Err(format!("line {}: duplicate key {key:?}", line.number));
            }
        }
        Ok(Value::Object(map))
    }

    fn child_indent(&mut self, indent: usize) -> Option<usize> {
        self.peek().filter(|l| l.indent > indent).map(|l| l.indent)
    }

    fn scalar_or_block(
        &mut self,
        text: &str,
        number: usize,
        indent: usize,
    ) -> Result<Value, String> {
        match text {
            "|" | "|-" | "|+" | ">" | ">-" | ">+" => {
                Ok(Value::String(self.block_scalar(text, indent)))
            }
            _ => scalar(text, number),
        }
    }

    /// Collects the lines more indented than the key as a literal (`|`) or
    /// folded (`>`) string.
    fn block_scalar(&mut self, style: &str, indent: usize) -> String {
        let mut raw = Vec::new();
        while let Some(line) = self.lines.get(self.pos) {
            let blank = line.raw.trim().is_empty();
            if !blank && line.indent <= indent {
                break;
            }
            raw.push(line.raw.clone());
            self.pos += 1;
        }
        while raw.last().is_some_and(|l| l.trim().is_empty()) {
            raw.pop();
        }
        let strip = raw
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start_matches(' ').len())
            .min()
            .unwrap_or(0);
        let body: Vec<&str> = raw
            .iter()
            .map(|l| if l.len() >= strip { &l[strip..] } else { "" })
            .collect();
        let mut out = if style.starts_with('>') {
            let mut folded = String::new();
            for (i, l) in body.iter().enumerate() {
                if i > 0 {
                    folded.push(if l.is_empty() || body[i - 1].is_empty() {
                        '\n'
                    } else {
                        ' '
                    });
                }
                folded.push_str(l);
            }
            folded
        } else {
            body.join("\n")
        };
        if !style.ends_with('-') && !out.is_empty() {
            out.push('\n');
        }
        out
    }
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// Splits `key: rest` at the first `:` followed by a space or the end,
/// outside quotes and flow collections.
fn split_key(text: &str) -> Option<(&str, &str)> {
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' if i == 0 => quote = Some(c),
                '[' | '{' if i == 0 || depth > 0 => depth += 1,
                ']' | '}' if depth > 0 => depth -= 1,
                ':' if depth == 0 && (i + 1 == bytes.len() || bytes[i + 1] == b' ') => {
                    return Some((text[..i].trim_end(), text[i + 1..].trim_start()));
                }
                _ => {}
            },
        }
    }
    None
}

fn unquote_key(key: &str, number: usize) -> Result<String, String> {
    match scalar(key, number)? {
        Value::String(s) => Ok(s),
        Value::Null => Ok(String::new()),
        other => Ok(other.to_string()),
    }
}

/// Parses a scalar or a flow collection.
fn scalar(text: &str, number: usize) -> Result<Value, String> {
    let mut flow = Flow {
        chars: text.chars().collect(),
        pos: 0,
        number,
    };
    let value = flow.value(false)?;
    flow.skip_spaces();
    if flow.pos != flow.chars.len() {
        return Err(format!(
            "line {number}: unexpected text after a value in {text:?}"
        ));
    }
    Ok(value)
}

struct Flow {
    chars: Vec<char>,
    pos: usize,
    number: usize,
}

impl Flow {
    fn skip_spaces(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn error(&self, what: &str) -> String {
        format!("line {}: {what}", self.number)
    }

    fn value(&mut self, in_flow: bool) -> Result<Value, String> {
        self.skip_spaces();
        match self.chars.get(self.pos) {
            Some('"') => self.double_quoted().map(Value::String),
            Some('\'') => self.single_quoted().map(Value::String),
            Some('[') => self.flow_sequence(),
            Some('{') => self.flow_mapping(),
            _ => Ok(plain(&self.plain_text(in_flow))),
        }
    }

    fn plain_text(&mut self, in_flow: bool) -> String {
        let start = self.pos;
        while let Some(&c) = self.chars.get(self.pos) {
            if in_flow && matches!(c, ',' | ']' | '}') {
                break;
            }
            if in_flow && c == ':' && self.chars.get(self.pos + 1).is_none_or(|n| *n == ' ') {
                break;
            }
            self.pos += 1;
        }
        self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .trim()
            .to_string()
    }

    fn double_quoted(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = *self
                .chars
                .get(self.pos)
                .ok_or_else(|| self.error("unterminated double-quoted string"))?;
            self.pos += 1;
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let e = *self
                        .chars
                        .get(self.pos)
                        .ok_or_else(|| self.error("unterminated escape"))?;
                    self.pos += 1;
                    out.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        '"' | '\\' | '/' | ' ' => e,
                        'u' => {
                            let hex: String = self.chars.iter().skip(self.pos).take(4).collect();
                            self.pos += 4;
                            u32::from_str_radix(&hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .ok_or_else(|| self.error("bad \\u escape"))?
                        }
                        other => return Err(self.error(&format!("unknown escape \\{other}"))),
                    });
                }
                other => out.push(other),
            }
        }
    }

    fn single_quoted(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = *self
                .chars
                .get(self.pos)
                .ok_or_else(|| self.error("unterminated single-quoted string"))?;
            self.pos += 1;
            if c == '\'' {
                if self.chars.get(self.pos) == Some(&'\'') {
                    self.pos += 1;
                    out.push('\'');
                } else {
                    return Ok(out);
                }
            } else {
                out.push(c);
            }
        }
    }

    fn flow_sequence(&mut self) -> Result<Value, String> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_spaces();
            match self.chars.get(self.pos) {
                Some(']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                None => return Err(self.error("unterminated [ sequence")),
                _ => {}
            }
            items.push(self.value(true)?);
            self.skip_spaces();
            match self.chars.get(self.pos) {
                Some(',') => self.pos += 1,
                Some(']') => {}
                _ => return Err(self.error("expected , or ] in a flow sequence")),
            }
        }
    }

    fn flow_mapping(&mut self) -> Result<Value, String> {
        self.pos += 1;
        let mut map = Map::new();
        loop {
            self.skip_spaces();
            match self.chars.get(self.pos) {
                Some('}') => {
                    self.pos += 1;
                    return Ok(Value::Object(map));
                }
                None => return Err(self.error("unterminated { mapping")),
                _ => {}
            }
            let key = match self.value(true)? {
                Value::String(s) => s,
                other => other.to_string(),
            };
            self.skip_spaces();
            let value = if self.chars.get(self.pos) == Some(&':') {
                self.pos += 1;
                self.value(true)?
            } else {
                Value::Null
            };
            map.insert(key, value);
            self.skip_spaces();
            match self.chars.get(self.pos) {
                Some(',') => self.pos += 1,
                Some('}') => {}
                _ => return Err(self.error("expected , or } in a flow mapping")),
            }
        }
    }
}

/// Resolves a plain scalar with the YAML core schema.
fn plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = text.parse::<i64>()
    {
        return Value::Number(n.into());
    }
    let float_like = digits
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().any(|b| b.is_ascii_digit())
        && digits.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if float_like && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_mappings_and_scalars() {
        let v = parse(
            "installCRDs: true\nprometheus:\n  enabled: True\n  port: 9402\n  ratio: 0.5\nname: \"x: y\" # c\nempty:\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"installCRDs": true, "prometheus": {"enabled": true, "port": 9402, "ratio": 0.5}, "name": "x: y", "empty": null})
        );
    }

    #[test]
    fn sequences_flow_and_blank_lines() {
        let v = parse(
            "a:\n- x\n- k: v\n  j: 2\nb: [1, 'two', {c: d}]\n\n  \nc: {}\nd:\n  - - 1\n    - 2\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"a": ["x", {"k": "v", "j": 2}], "b": [1, "two", {"c": "d"}], "c": {}, "d": [[1, 2]]})
        );
    }

    #[test]
    fn block_scalars() {
        let v = parse("a: |\n  line1\n  # not a comment\nb: >-\n  one\n  two\n").unwrap();
        assert_eq!(v, json!({"a": "line1\n# not a comment\n", "b": "one two"}));
    }

    #[test]
    fn annotations_with_slashes_and_quotes() {
        let v = parse("annotations:\n  \n  service.beta.kubernetes.io/aws-load-balancer-internal: \"true\"\n  \n").unwrap();
        assert_eq!(
            v,
            json!({"annotations": {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}})
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("a: 1\n  b: 2\n").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
        let e = parse("a: 1\nb \"x\n").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert!(e.contains("duplicate"), "{e}");
    }

    #[test]
    fn strings_that_look_like_numbers_stay_strings_when_quoted() {
        let v = parse("v: \"4.9.0\"\nw: 4.9.0\nx: 1.31\ny: 30d\n").unwrap();
        assert_eq!(
            v,
            json!({"v": "4.9.0", "w": "4.9.0", "x": 1.31, "y": "30d"})
        );
    }
}
