//! Emulates a Composition's legacy `spec.environment.environmentConfigs`
//! (Crossplane before 1.18), so a Composition written that way renders as
//! written: selected EnvironmentConfigs are merged in order into the
//! pipeline's environment context key.

use serde_json::{Value, json};

use super::docs::{field_path, merge, str_at};

pub(crate) const CONTEXT_KEY: &str = "apiextensions.crossplane.io/environment";

/// The merged environment, or `None` when the Composition declares none.
pub(crate) fn legacy_environment(
    composition: &Value,
    xr: &Value,
    available: &[Value],
) -> anyhow::Result<Option<Value>> {
    let Some(sources) = composition
        .pointer("/spec/environment/environmentConfigs")
        .and_then(Value::as_array)
    else {
        return Ok(None);
    };
    let configs: Vec<&Value> = available
        .iter()
        .filter(|d| str_at(d, "/kind") == "EnvironmentConfig")
        .collect();
    let mut environment = json!({
        "apiVersion": "internal.crossplane.io/v1alpha1",
        "kind": "Environment",
    });
    for (i, source) in sources.iter().enumerate() {
        for config in select(source, xr, &configs)
            .map_err(|e| anyhow::anyhow!("spec.environment.environmentConfigs[{i}]: {e}"))?
        {
            if let Some(data) = config.get("data") {
                merge(&mut environment, data);
            }
        }
    }
    Ok(Some(environment))
}

fn select<'a>(source: &Value, xr: &Value, configs: &[&'a Value]) -> anyhow::Result<Vec<&'a Value>> {
    match str_at(source, "/type") {
        "Reference" | "" if source.get("ref").is_some() => {
            let name = str_at(source, "/ref/name");
            let found = configs.iter().find(|c| str_at(c, "/metadata/name") == name);
            Ok(found.into_iter().copied().collect())
        }
        "Selector" => {
            let mut wanted = Vec::new();
            for label in source
                .pointer("/selector/matchLabels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let key = str_at(label, "/key");
                let value = match str_at(label, "/type") {
                    "FromCompositeFieldPath" | "" if label.get("valueFromFieldPath").is_some() => {
                        let path = str_at(label, "/valueFromFieldPath");
                        match field_path(xr, path).and_then(Value::as_str) {
                            Some(v) => v.to_string(),
                            // An unresolved optional label selects nothing.
                            None => return Ok(Vec::new()),
                        }
                    }
                    _ => str_at(label, "/value").to_string(),
                };
                wanted.push((key.to_string(), value));
            }
            let mut matched: Vec<&Value> = configs
                .iter()
                .copied()
                .filter(|c| {
                    wanted.iter().all(|(k, v)| {
                        c.pointer("/metadata/labels")
                            .and_then(|l| l.get(k))
                            .and_then(Value::as_str)
                            == Some(v.as_str())
                    })
                })
                .collect();
            matched.sort_by_key(|c| str_at(c, "/metadata/name").to_string());
            if str_at(source, "/selector/mode") != "Multiple" {
                matched.truncate(1);
            }
            Ok(matched)
        }
        other => anyhow::bail!("unknown type {other:?}; use Reference or Selector"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str, labels: Value, data: Value) -> Value {
        json!({"apiVersion": "apiextensions.crossplane.io/v1beta1", "kind": "EnvironmentConfig",
               "metadata": {"name": name, "labels": labels}, "data": data})
    }

    #[test]
    fn selectors_merge_in_order_with_values_from_the_composite() {
        let composition = json!({"spec": {"environment": {"environmentConfigs": [
            {"type": "Selector", "selector": {"matchLabels": [{"key": "baseline", "type": "Value", "value": "default"}]}},
            {"type": "Selector", "selector": {"matchLabels": [{"key": "cloud", "type": "FromCompositeFieldPath", "valueFromFieldPath": "metadata.labels[cloud]"}]}},
            {"type": "Reference", "ref": {"name": "extra"}},
        ]}}});
        let xr = json!({"metadata": {"labels": {"cloud": "aws"}}});
        let available = vec![
            config(
                "defaults",
                json!({"baseline": "default"}),
                json!({"a": 1, "m": {"x": 1, "y": 1}}),
            ),
            config("gcp", json!({"cloud": "gcp"}), json!({"a": 2})),
            config(
                "aws",
                json!({"cloud": "aws"}),
                json!({"a": 3, "m": {"y": 2}}),
            ),
            config("extra", json!({}), json!({"z": true})),
        ];
        let env = legacy_environment(&composition, &xr, &available)
            .unwrap()
            .unwrap();
        assert_eq!(env["a"], 3);
        assert_eq!(env["m"], json!({"x": 1, "y": 2}));
        assert_eq!(env["z"], true);
        assert_eq!(env["kind"], "Environment");
    }

    #[test]
    fn no_environment_section_means_no_environment() {
        assert_eq!(
            legacy_environment(&json!({"spec": {}}), &json!({}), &[]).unwrap(),
            None
        );
    }
}
