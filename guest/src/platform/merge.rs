//! Deep merge of JSON values: the one rule used for EnvironmentConfigs
//! (later wins) and for the caller's template overrides (applied last).

use serde_json::Value;

/// Merges `over` into `base`: objects merge key by key, anything else is
/// replaced; a `null` in `over` removes the key, so an override can drop a
/// field the platform renders.
pub fn deep_merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                if value.is_null() {
                    base.remove(key);
                    continue;
                }
                match base.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        deep_merge(existing, value)
                    }
                    _ => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, over) => *base = over.clone(),
    }
}

/// Returns `base` with `over` merged in.
pub fn merged(mut base: Value, over: &Value) -> Value {
    deep_merge(&mut base, over);
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_merge_and_later_wins() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "d": [1, 2]});
        deep_merge(&mut base, &json!({"a": {"c": 3, "e": 4}, "d": [3]}));
        assert_eq!(base, json!({"a": {"b": 1, "c": 3, "e": 4}, "d": [3]}));
    }

    #[test]
    fn null_removes_a_key() {
        let mut base = json!({"a": {"b": 1, "c": 2}});
        deep_merge(&mut base, &json!({"a": {"b": null}}));
        assert_eq!(base, json!({"a": {"c": 2}}));
    }

    #[test]
    fn scalar_over_object_replaces() {
        let mut base = json!({"a": {"b": 1}});
        deep_merge(&mut base, &json!({"a": "x"}));
        assert_eq!(base, json!({"a": "x"}));
    }
}
