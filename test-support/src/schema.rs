//! A small structural validator for CustomResourceDefinition schemas:
//! types, enums, `required`, unknown fields (honouring
//! `x-kubernetes-preserve-unknown-fields` and `additionalProperties`),
//! defaults, and the CEL `x-kubernetes-validations` shapes the Crossplane
//! and Upbound CRDs use. A rule it cannot evaluate is an error, never a
//! silent pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// `group/version` + kind -> openAPIV3Schema.
pub struct Crds {
    schemas: BTreeMap<(String, String), Value>,
    /// `group/version` + kind -> `Namespaced` or `Cluster`.
    scopes: BTreeMap<(String, String), String>,
}

pub fn crds_dir() -> PathBuf {
    match std::env::var_os("CRDS_DIR") {
        Some(dir) => PathBuf::from(dir),
        // The workspace's sibling `shared/crds`.
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/crds"),
    }
}

/// The CRDs of `crds_dir()`, or `None` with a plain message saying what
/// is skipped when the folder is absent.
pub fn load_or_skip(what: &str) -> Option<Crds> {
    let dir = crds_dir();
    if !dir.is_dir() {
        eprintln!(
            "SKIPPING {what}: the CRD directory {} does not exist (set CRDS_DIR to the provider CRDs)",
            dir.display()
        );
        return None;
    }
    Some(Crds::load(&dir).unwrap_or_else(|e| panic!("cannot load CRDs: {e}")))
}

impl Crds {
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut schemas = BTreeMap::new();
        let mut scopes = BTreeMap::new();
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "yaml") {
                continue;
            }
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let crd: Value =
                serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            if crd["kind"] != "CustomResourceDefinition" {
                continue;
            }
            let group = crd["spec"]["group"].as_str().unwrap_or_default();
            let kind = crd["spec"]["names"]["kind"].as_str().unwrap_or_default();
            for version in crd["spec"]["versions"].as_array().into_iter().flatten() {
                if version["served"] != Value::Bool(true) {
                    continue;
                }
                let name = version["name"].as_str().unwrap_or_default();
                let scope = crd["spec"]["scope"].as_str().unwrap_or_default();
                scopes.insert(
                    (format!("{group}/{name}"), kind.to_string()),
                    scope.to_string(),
                );
                schemas.insert(
                    (format!("{group}/{name}"), kind.to_string()),
                    version["schema"]["openAPIV3Schema"].clone(),
                );
            }
        }
        Ok(Self { schemas, scopes })
    }

    /// Whether any version of the group of `api_version` serves `kind`.
    pub fn has_kind(&self, api_version: &str, kind: &str) -> bool {
        let group = api_version.split('/').next().unwrap_or_default();
        self.schemas
            .keys()
            .any(|(gv, k)| k == kind && gv.split('/').next() == Some(group))
    }

    /// The CRD's scope (`Namespaced` or `Cluster`) of a served version.
    pub fn scope(&self, api_version: &str, kind: &str) -> Option<&str> {
        self.scopes
            .get(&(api_version.to_string(), kind.to_string()))
            .map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.schemas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.schemas.is_empty()
    }

    /// Validates one object; returns every problem found.
    pub fn validate(&self, object: &Value) -> Vec<String> {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let Some(schema) = self
            .schemas
            .get(&(api_version.to_string(), kind.to_string()))
        else {
            return vec![format!("no served CRD for {api_version} {kind}")];
        };
        let mut errors = Vec::new();
        validate(schema, object, "", &mut errors);
        errors
    }
}

/// Applies schema defaults, as the API server does before validation.
fn defaulted(schema: &Value, value: &Value) -> Value {
    let mut value = value.clone();
    if let (Some(props), Some(map)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object_mut(),
    ) {
        for (key, sub) in props {
            if !map.contains_key(key)
                && let Some(d) = sub.get("default")
            {
                map.insert(key.clone(), d.clone());
            }
        }
    }
    value
}

fn type_ok(ty: &str, value: &Value) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => false,
    }
}

pub fn validate(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let at = if path.is_empty() { "<root>" } else { path };
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) {
            errors.push(format!("{at}: null is not allowed"));
        }
        return;
    }
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            errors.push(format!(
                "{at}: expected an integer or a string, found {value}"
            ));
        }
        return;
    }
    if let Some(ty) = schema.get("type").and_then(Value::as_str)
        && !type_ok(ty, value)
    {
        errors.push(format!("{at}: expected {ty}, found {value}"));
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!(
            "{at}: {value} is not one of {}",
            Value::Array(options.clone())
        ));
    }
    if let (Some(max), Some(s)) = (
        schema.get("maxLength").and_then(Value::as_u64),
        value.as_str(),
    ) && s.chars().count() as u64 > max
    {
        errors.push(format!("{at}: longer than {max} characters"));
    }
    let value = &defaulted(schema, value);
    for rule in schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = rule["rule"].as_str().unwrap_or_default();
        match cel::evaluate(text, value) {
            Ok(true) => {}
            Ok(false) => errors.push(format!(
                "{at}: rule failed: {} ({text})",
                rule["message"].as_str().unwrap_or("no message")
            )),
            Err(cel::Skip::Transition) => {}
            Err(cel::Skip::Missing) => {
                errors.push(format!("{at}: CEL rule {text:?} reads an absent key"))
            }
            Err(cel::Skip::Unsupported(why)) => {
                errors.push(format!("{at}: cannot evaluate CEL rule {text:?}: {why}"))
            }
        }
    }
    match value {
        Value::Object(map) => {
            for key in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(key) = key.as_str()
                    && !map.contains_key(key)
                {
                    errors.push(format!("{at}: required field {key} is missing"));
                }
            }
            if path.is_empty()
                && let Some(meta) = map.get("metadata")
            {
                metadata(meta, errors);
            }
            let props = schema.get("properties").and_then(Value::as_object);
            let preserve =
                schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            for (key, sub) in map {
                let child = format!("{path}.{key}");
                if path.is_empty() && key == "metadata" {
                    continue;
                }
                if let Some(s) = props.and_then(|p| p.get(key)) {
                    validate(s, sub, &child, errors);
                } else if let Some(extra) = schema.get("additionalProperties") {
                    match extra {
                        Value::Bool(false) => errors.push(format!("{child}: unknown field")),
                        Value::Bool(true) => {}
                        s => validate(s, sub, &child, errors),
                    }
                } else if !preserve {
                    errors.push(format!("{child}: unknown field"));
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate(item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        _ => {}
    }
}

/// `metadata` is not in CRD schemas; check what the API server would.
fn metadata(meta: &Value, errors: &mut Vec<String>) {
    let Some(map) = meta.as_object() else {
        errors.push("metadata: expected an object".into());
        return;
    };
    for (key, value) in map {
        match key.as_str() {
            "name" | "generateName" | "namespace" => {
                if !value
                    .as_str()
                    .is_some_and(|s| !s.is_empty() && s.len() <= 253)
                {
                    errors.push(format!("metadata.{key}: expected a name"));
                }
            }
            "labels" | "annotations" => {
                for (k, v) in value.as_object().into_iter().flatten() {
                    let Some(v) = v.as_str() else {
                        errors.push(format!("metadata.{key}.{k}: expected a string"));
                        continue;
                    };
                    if key == "labels" && !label_value_ok(v) {
                        errors.push(format!(
                            "metadata.labels.{k}: {v:?} is not a valid label value"
                        ));
                    }
                }
            }
            other => errors.push(format!(
                "metadata.{other}: unexpected in a composed resource"
            )),
        }
    }
}

fn label_value_ok(v: &str) -> bool {
    v.len() <= 63
        && (v.is_empty()
            || (v.starts_with(|c: char| c.is_ascii_alphanumeric())
                && v.ends_with(|c: char| c.is_ascii_alphanumeric())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))))
}

/// The subset of CEL the CRDs here use: `has()`, `size()`, `in`, `==`,
/// `!=`, comparisons, `!`, `&&`, `||`, parentheses, string and number
/// literals, and `self` field paths.
pub mod cel {
    use serde_json::Value;

    #[derive(Debug)]
    pub enum Skip {
        /// A transition rule (`oldSelf`): it does not run on create.
        Transition,
        /// A key the rule reads is absent: an error in CEL, absorbed by an
        /// `||` whose other side is true.
        Missing,
        Unsupported(String),
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Tok {
        Ident(String),
        Str(String),
        Num(f64),
        Op(&'static str),
    }

    fn lex(text: &str) -> Result<Vec<Tok>, Skip> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                i += 1;
            } else if c.is_ascii_alphabetic() || c == '_' {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            } else if c.is_ascii_digit() {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let n: String = chars[start..i].iter().collect();
                out.push(Tok::Num(
                    n.parse()
                        .map_err(|_| Skip::Unsupported(format!("number {n}")))?,
                ));
            } else if c == '\'' || c == '"' {
                let mut s = String::new();
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' {
                        i += 1;
                        match chars.get(i) {
                            Some(e @ ('\\' | '\'' | '"')) => s.push(*e),
                            Some('n') => s.push('\n'),
                            other => {
                                return Err(Skip::Unsupported(format!(
                                    "string escape \\{other:?}"
                                )));
                            }
                        }
                    } else {
                        s.push(chars[i]);
                    }
                    i += 1;
                }
                if i == chars.len() {
                    return Err(Skip::Unsupported("unterminated string".into()));
                }
                i += 1;
                out.push(Tok::Str(s));
            } else {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let op = match two.as_str() {
                    "||" => Some("||"),
                    "&&" => Some("&&"),
                    "==" => Some("=="),
                    "!=" => Some("!="),
                    ">=" => Some(">="),
                    "<=" => Some("<="),
                    _ => None,
                };
                if let Some(op) = op {
                    out.push(Tok::Op(op));
                    i += 2;
                    continue;
                }
                let op = match c {
                    '!' => "!",
                    '(' => "(",
                    ')' => ")",
                    '.' => ".",
                    '>' => ">",
                    '<' => "<",
                    ',' => ",",
                    other => return Err(Skip::Unsupported(format!("character {other:?}"))),
                };
                out.push(Tok::Op(op));
                i += 1;
            }
        }
        Ok(out)
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Val {
        Json(Value),
        Absent,
        Bool(bool),
    }

    impl Val {
        fn truth(&self) -> Result<bool, Skip> {
            match self {
                Val::Bool(b) | Val::Json(Value::Bool(b)) => Ok(*b),
                other => Err(Skip::Unsupported(format!("{other:?} is not a boolean"))),
            }
        }

        fn json(&self) -> Result<&Value, Skip> {
            match self {
                Val::Json(v) => Ok(v),
                Val::Absent => Err(Skip::Missing),
                Val::Bool(_) => Err(Skip::Unsupported("boolean used as a value".into())),
            }
        }
    }

    struct Parser<'a> {
        toks: Vec<Tok>,
        pos: usize,
        this: &'a Value,
    }

    pub fn evaluate(rule: &str, this: &Value) -> Result<bool, Skip> {
        let toks = lex(rule)?;
        if toks.contains(&Tok::Ident("oldSelf".into())) {
            return Err(Skip::Transition);
        }
        let mut p = Parser { toks, pos: 0, this };
        let v = p.or()?;
        if p.pos != p.toks.len() {
            return Err(Skip::Unsupported(format!(
                "unexpected {:?}",
                p.toks.get(p.pos)
            )));
        }
        v.truth()
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<&Tok> {
            self.toks.get(self.pos)
        }

        fn eat(&mut self, op: &str) -> bool {
            if self.peek()
                == Some(&Tok::Op(match op {
                    "||" => "||",
                    "&&" => "&&",
                    "!" => "!",
                    "(" => "(",
                    ")" => ")",
                    "." => ".",
                    "," => ",",
                    _ => return false,
                }))
            {
                self.pos += 1;
                true
            } else {
                false
            }
        }

        fn expect(&mut self, op: &str) -> Result<(), Skip> {
            if self.eat(op) {
                Ok(())
            } else {
                Err(Skip::Unsupported(format!("expected {op}")))
            }
        }

        // Both sides are evaluated: unlike CEL's short-circuit this also
        // reports a malformed right-hand side.
        fn or(&mut self) -> Result<Val, Skip> {
            let mut left = self.and();
            while self.eat("||") {
                let right = self.and().and_then(|r| r.truth());
                left = match (left.and_then(|l| l.truth()), right) {
                    // CEL's `||` absorbs an error when the other side is true.
                    (Ok(true), Err(Skip::Missing)) | (Err(Skip::Missing), Ok(true)) => {
                        Ok(Val::Bool(true))
                    }
                    (l, r) => Ok(Val::Bool(l? || r?)),
                };
            }
            left
        }

        /// Both sides are parsed before either is judged, so a missing
        /// field on one side leaves the parser in step; CEL's `&&` absorbs
        /// it when the other side is false. What cannot be evaluated is
        /// never absorbed.
        fn and(&mut self) -> Result<Val, Skip> {
            let mut left = self.unary();
            while self.eat("&&") {
                let right = self.unary().and_then(|r| r.truth());
                left = match (left.and_then(|l| l.truth()), right) {
                    (Err(e @ Skip::Unsupported(_)), _) | (_, Err(e @ Skip::Unsupported(_))) => {
                        Err(e)
                    }
                    (Ok(false), _) | (_, Ok(false)) => Ok(Val::Bool(false)),
                    (Ok(true), Ok(true)) => Ok(Val::Bool(true)),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                };
            }
            left
        }

        fn unary(&mut self) -> Result<Val, Skip> {
            if self.eat("!") {
                return Ok(Val::Bool(!self.unary()?.truth()?));
            }
            self.comparison()
        }

        fn comparison(&mut self) -> Result<Val, Skip> {
            let left = self.primary()?;
            let op = match self.peek() {
                Some(Tok::Op(op @ ("==" | "!=" | ">" | "<" | ">=" | "<="))) => *op,
                Some(Tok::Ident(word)) if word == "in" => "in",
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.primary()?;
            let result = match op {
                "in" => match right.json()? {
                    Value::Array(items) => items.contains(left.json()?),
                    Value::Object(map) => {
                        left.json()?.as_str().is_some_and(|k| map.contains_key(k))
                    }
                    other => return Err(Skip::Unsupported(format!("`in` over {other}"))),
                },
                "==" => left.json()? == right.json()?,
                "!=" => left.json()? != right.json()?,
                _ => {
                    let (Some(a), Some(b)) = (left.json()?.as_f64(), right.json()?.as_f64()) else {
                        return Err(Skip::Unsupported("ordering of non-numbers".into()));
                    };
                    match op {
                        ">" => a > b,
                        "<" => a < b,
                        ">=" => a >= b,
                        _ => a <= b,
                    }
                }
            };
            Ok(Val::Bool(result))
        }

        fn primary(&mut self) -> Result<Val, Skip> {
            match self.peek().cloned() {
                Some(Tok::Op("(")) => {
                    self.pos += 1;
                    let v = self.or()?;
                    self.expect(")")?;
                    Ok(v)
                }
                Some(Tok::Str(s)) => {
                    self.pos += 1;
                    Ok(Val::Json(Value::String(s)))
                }
                Some(Tok::Num(n)) => {
                    self.pos += 1;
                    Ok(Val::Json(serde_json::json!(n)))
                }
                Some(Tok::Ident(word)) if word == "has" => {
                    self.pos += 1;
                    self.expect("(")?;
                    let v = self.path()?;
                    self.expect(")")?;
                    Ok(Val::Bool(v != Val::Absent))
                }
                Some(Tok::Ident(word)) if word == "size" => {
                    self.pos += 1;
                    self.expect("(")?;
                    let v = self.path()?;
                    self.expect(")")?;
                    // Absent stays absent, so the comparison after it is
                    // still parsed and `||` can absorb it.
                    if v == Val::Absent {
                        return Ok(Val::Absent);
                    }
                    let n = match v.json()? {
                        Value::String(s) => s.chars().count(),
                        Value::Array(a) => a.len(),
                        Value::Object(m) => m.len(),
                        other => return Err(Skip::Unsupported(format!("size of {other}"))),
                    };
                    Ok(Val::Json(serde_json::json!(n as f64)))
                }
                Some(Tok::Ident(word)) if word == "true" || word == "false" => {
                    self.pos += 1;
                    Ok(Val::Bool(word == "true"))
                }
                Some(Tok::Ident(word)) if word == "self" => self.path(),
                other => Err(Skip::Unsupported(format!("{other:?}"))),
            }
        }

        /// The string methods Crossplane's CRDs use: `lowerAscii()` and
        /// `matches(regex)`; the opening parenthesis is already eaten.
        fn method(&mut self, name: &str, on: Val) -> Result<Val, Skip> {
            // The arguments are read first, so the parser stays in step
            // even when the receiver is absent.
            let pattern = match name {
                "lowerAscii" => None,
                "matches" => {
                    let Some(Tok::Str(pattern)) = self.peek().cloned() else {
                        return Err(Skip::Unsupported("matches() without a string".into()));
                    };
                    self.pos += 1;
                    Some(pattern)
                }
                other => return Err(Skip::Unsupported(format!("method {other}()"))),
            };
            self.expect(")")?;
            let text = match on.json()? {
                Value::String(s) => s.clone(),
                other => return Err(Skip::Unsupported(format!("{name}() on {other}"))),
            };
            match pattern {
                None => Ok(Val::Json(Value::String(text.to_ascii_lowercase()))),
                Some(pattern) => {
                    let regex = regex::Regex::new(&pattern)
                        .map_err(|e| Skip::Unsupported(format!("regex {pattern}: {e}")))?;
                    Ok(Val::Bool(regex.is_match(&text)))
                }
            }
        }

        /// `self.a.b`: an absent key makes the rest absent.
        fn path(&mut self) -> Result<Val, Skip> {
            match self.peek() {
                Some(Tok::Ident(w)) if w == "self" => self.pos += 1,
                other => return Err(Skip::Unsupported(format!("path starting at {other:?}"))),
            }
            let mut cur = Val::Json(self.this.clone());
            while self.eat(".") {
                let Some(Tok::Ident(field)) = self.peek().cloned() else {
                    return Err(Skip::Unsupported("expected a field name".into()));
                };
                self.pos += 1;
                if self.eat("(") {
                    return self.method(&field, cur);
                }
                // CEL escapes reserved words as `__word__`.
                let key = field
                    .strip_prefix("__")
                    .and_then(|f| f.strip_suffix("__"))
                    .unwrap_or(&field)
                    .to_string();
                cur = match cur {
                    Val::Json(Value::Object(map)) => {
                        map.get(&key).cloned().map(Val::Json).unwrap_or(Val::Absent)
                    }
                    _ => Val::Absent,
                };
            }
            Ok(cur)
        }
    }
}
