//! Reading YAML documents from files and folders, and the small field-path
//! and merge helpers render needs.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

/// Every non-empty YAML document in `path` (a file, or a folder whose
/// `*.yaml` / `*.yml` files are read in name order).
pub fn read(path: &Path) -> anyhow::Result<Vec<Value>> {
    let mut files = Vec::new();
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        entries.sort();
        files.extend(entries);
    } else {
        files.push(path.to_path_buf());
    }
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value = Value::deserialize(doc)
                .map_err(|e| anyhow::anyhow!("{} is not valid YAML: {e}", file.display()))?;
            if !value.is_null() {
                docs.push(value);
            }
        }
    }
    Ok(docs)
}

/// The single document of `path`.
pub fn read_one(path: &Path, what: &str) -> anyhow::Result<Value> {
    let mut docs = read(path)?;
    anyhow::ensure!(
        docs.len() == 1,
        "{what} {} must hold exactly one YAML document, found {}",
        path.display(),
        docs.len()
    );
    Ok(docs.remove(0))
}

pub(crate) fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Resolves a Crossplane field path such as `metadata.labels[cloud]`,
/// `metadata.labels[crossplane.io/claim-name]` or `spec.pools[0].name`.
pub(crate) fn field_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = v;
    for segment in segments(path)? {
        current = match segment.parse::<usize>() {
            Ok(i) if current.is_array() => current.get(i)?,
            _ => current.get(segment.as_str())?,
        };
    }
    Some(current)
}

/// Splits a field path into keys: dots separate, brackets quote.
fn segments(path: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            '[' => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                let inner: String = chars.by_ref().take_while(|&c| c != ']').collect();
                out.push(inner.trim_matches(|c| c == '"' || c == '\'').to_string());
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    (!out.is_empty()).then_some(out)
}

/// Deep-merges `overlay` into `base`: objects merge key by key, anything
/// else is replaced.
pub fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn field_paths_follow_dots_and_brackets() {
        let v =
            json!({"metadata": {"labels": {"cloud": "gcp", "a.b/c": "x"}}, "list": [1, {"k": 2}]});
        assert_eq!(
            field_path(&v, "metadata.labels[cloud]"),
            Some(&json!("gcp"))
        );
        assert_eq!(field_path(&v, "metadata.labels[a.b/c]"), Some(&json!("x")));
        assert_eq!(field_path(&v, "list[1].k"), Some(&json!(2)));
        assert_eq!(field_path(&v, "metadata.missing"), None);
    }

    #[test]
    fn merge_is_deep_and_later_wins() {
        let mut base = json!({"a": {"x": 1, "y": 2}, "b": [1]});
        merge(&mut base, &json!({"a": {"y": 3}, "b": [2], "c": true}));
        assert_eq!(base, json!({"a": {"x": 1, "y": 3}, "b": [2], "c": true}));
    }
}
