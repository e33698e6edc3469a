//! Helm values rendered from templates, read as YAML into JSON.
//!
//! The parsing is `yaml-rust2`'s (YAML 1.2: anchors, block scalars, flow
//! collections, tags); this module only turns its tree into JSON and says
//! plainly what JSON cannot hold. Errors carry the line number so a bad
//! template can be fixed from the message alone.

use serde_json::{Map, Number, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// Parses one YAML document into JSON; an empty document is `{}`.
pub fn parse(text: &str) -> Result<Value, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| {
        // A problem found at the end of the input (an unclosed quote or
        // bracket) belongs to the last line, not to the one after it.
        let line = e.marker().line().min(text.lines().count().max(1));
        format!("line {line}: {}", e.info())
    })?;
    match docs.as_slice() {
        [] | [Yaml::BadValue] => Ok(Value::Object(Map::new())),
        [doc] => to_json(doc, Path::Document),
        _ => Err(format!(
            "{} documents (separated by `---`) where one map of values is expected",
            docs.len()
        )),
    }
}

/// Where a node sits: links up to the document, spelled out only for an
/// error (`the document.a.b[2]`), so a value costs no string of its own.
#[derive(Clone, Copy)]
enum Path<'a> {
    Document,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Document => f.write_str("the document"),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

fn to_json(node: &Yaml, path: Path<'_>) -> Result<Value, String> {
    Ok(match node {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Real(text) => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("{path}: {text} is not a finite number JSON can hold"))?,
        Yaml::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_json(item, Path::Index(&path, i)))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Hash(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let key = key_text(key, path)?;
                let value = to_json(value, Path::Key(&path, &key))?;
                map.insert(key, value);
            }
            Value::Object(map)
        }
        Yaml::Alias(_) | Yaml::BadValue => {
            return Err(format!(
                "{path}: a value that does not resolve (an unknown alias or a tag that does not fit its value)"
            ));
        }
    })
}

/// Keys become strings, as Helm's own YAML-to-JSON conversion does.
fn key_text(key: &Yaml, path: Path<'_>) -> Result<String, String> {
    match key {
        Yaml::String(s) | Yaml::Real(s) => Ok(s.clone()),
        Yaml::Integer(i) => Ok(i.to_string()),
        Yaml::Boolean(b) => Ok(b.to_string()),
        Yaml::Null => Ok("null".to_string()),
        _ => Err(format!(
            "{path}: a map key that is itself a list or a map; values need plain keys"
        )),
    }
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
    fn anchors_tags_and_yaml_numbers() {
        let v =
            parse("base: &b\n  x: 1\ncopy: *b\ns: !!str 5\nh: 0x1F\nq: 'it''s'\n1: one\n").unwrap();
        assert_eq!(
            v,
            json!({"base": {"x": 1}, "copy": {"x": 1}, "s": "5", "h": 31, "q": "it's", "1": "one"})
        );
    }

    #[test]
    fn what_json_cannot_hold_or_yaml_does_not_allow_is_an_error() {
        for (text, expected) in [
            ("a: 1\n---\nb: 2\n", "2 documents"),
            ("a: .inf\n", "the document.a: .inf is not a finite number"),
            (
                "a:\n  b: [1, .nan]\n",
                "the document.a.b[1]: .nan is not a finite number",
            ),
            ("a: *missing\n", "line 1:"),
            ("a: b: c\n", "line 1:"),
            ("? [x]\n: v\n", "plain keys"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(expected), "{text:?}: {e}");
        }
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
