//! JSON Pointer (RFC 6901) lookups that allocate only for an escaped
//! token: serde_json's `Value::pointer` builds two strings per token, and
//! a render looks up a few hundred pointers. Same answers as serde_json's.

use std::borrow::Cow;

use serde_json::Value;

/// Pointer lookups on a JSON value.
pub trait Pointer {
    /// The value `pointer` names, as `Value::pointer` finds it.
    fn at(&self, pointer: &str) -> Option<&Value>;
    /// The value `pointer` names, to change, as `Value::pointer_mut` finds it.
    fn at_mut(&mut self, pointer: &str) -> Option<&mut Value>;
}

impl Pointer for Value {
    fn at(&self, pointer: &str) -> Option<&Value> {
        tokens(pointer)?.try_fold(self, |target, token| match target {
            Value::Object(map) => map.get(token.as_ref()),
            Value::Array(list) => index(&token).and_then(|i| list.get(i)),
            _ => None,
        })
    }

    fn at_mut(&mut self, pointer: &str) -> Option<&mut Value> {
        tokens(pointer)?.try_fold(self, |target, token| match target {
            Value::Object(map) => map.get_mut(token.as_ref()),
            Value::Array(list) => index(&token).and_then(move |i| list.get_mut(i)),
            _ => None,
        })
    }
}

/// The unescaped reference tokens: none for the empty pointer (the whole
/// value); `None` for one that does not start with `/` (it names nothing).
fn tokens(pointer: &str) -> Option<impl Iterator<Item = Cow<'_, str>>> {
    let rest = match pointer.strip_prefix('/') {
        Some(rest) => Some(rest),
        None if pointer.is_empty() => None,
        None => return None,
    };
    Some(rest.into_iter().flat_map(|r| r.split('/')).map(unescape))
}

fn unescape(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

/// An array index as RFC 6901 spells it: digits, no sign, no leading zero.
fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_what_serde_json_finds() {
        let mut doc = json!({
            "metadata": {"annotations": {"crossplane.io/external-name": "x", "a~b": 1}},
            "status": {"conditions": [{"type": "Ready"}, {"type": "Synced"}]},
            "": {"": "empty keys"},
            "n": null,
        });
        let pointers = [
            "",
            "/",
            "//",
            "metadata",
            "/metadata",
            "/metadata/annotations/crossplane.io~1external-name",
            "/metadata/annotations/a~0b",
            "/metadata/annotations/a~b",
            "/metadata/missing/deeper",
            "/status/conditions/0/type",
            "/status/conditions/1",
            "/status/conditions/2",
            "/status/conditions/01",
            "/status/conditions/+1",
            "/status/conditions/-1",
            "/status/conditions/x",
            "/n/deeper",
        ];
        for pointer in pointers {
            assert_eq!(doc.at(pointer), doc.pointer(pointer), "{pointer:?}");
            let expected = doc.clone().pointer_mut(pointer).map(|v| v.clone());
            assert_eq!(
                doc.at_mut(pointer).map(|v| v.clone()),
                expected,
                "{pointer:?}"
            );
        }
    }

    #[test]
    fn changes_the_value_it_names() {
        let mut doc = json!({"spec": {"forProvider": {"nodeCount": 1}}});
        *doc.at_mut("/spec/forProvider/nodeCount").unwrap() = json!(3);
        assert_eq!(doc, json!({"spec": {"forProvider": {"nodeCount": 3}}}));
    }
}
