//! The YAML stream `crossplane render` prints: the XR with its status and
//! Ready condition, the composed resources sorted by resource name, then
//! results and the context when asked for.

use std::collections::BTreeMap;

use function_sdk_rust::proto::v1 as pb;
use function_sdk_rust::resource::struct_to_json;
use serde_json::{Map, Value, json};

use super::docs::{merge, str_at};
use super::pipeline::Outcome;

/// Conditions Crossplane owns; functions cannot set them.
const SYSTEM_CONDITIONS: &[&str] = &["Ready", "Synced", "Healthy", "UpToDate"];
/// Render fixes transition times so output is stable.
const TRANSITION_TIME: &str = "2024-01-01T00:00:00Z";

pub(crate) struct Options {
    pub(crate) include_full_xr: bool,
    pub(crate) include_results: bool,
    pub(crate) include_context: bool,
}

/// The stream's documents; `observed_names` are the names of resources
/// already observed, which Crossplane keeps.
pub(crate) fn documents(
    xr: &Value,
    outcome: &Outcome,
    observed_names: &BTreeMap<String, String>,
    options: &Options,
) -> anyhow::Result<Vec<Value>> {
    let mut docs = vec![composite(xr, outcome, options)?];
    let mut names: Vec<&String> = outcome.desired.resources.keys().collect();
    names.sort();
    for name in names {
        let observed = observed_names.get(name.as_str()).map(String::as_str);
        docs.push(composed(
            xr,
            name,
            &outcome.desired.resources[name],
            observed,
        )?);
    }
    if options.include_results {
        for (step, result) in &outcome.results {
            let severity =
                pb::Severity::try_from(result.severity).unwrap_or(pb::Severity::Unspecified);
            docs.push(json!({
                "apiVersion": "render.crossplane.io/v1beta1",
                "kind": "Result",
                "step": step,
                "severity": severity.as_str_name(),
                "message": result.message,
            }));
        }
    }
    if options.include_context {
        let fields = outcome
            .context
            .as_ref()
            .map(struct_to_json)
            .unwrap_or_else(|| json!({}));
        docs.push(json!({"apiVersion": "render.crossplane.io/v1beta1", "kind": "Context", "fields": fields}));
    }
    Ok(docs)
}

/// Prints documents as a YAML stream, each behind `---`.
pub(crate) fn to_yaml(docs: &[Value]) -> anyhow::Result<String> {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(doc)?);
    }
    Ok(out)
}

fn composite(xr: &Value, outcome: &Outcome, options: &Options) -> anyhow::Result<Value> {
    let mut out = if options.include_full_xr {
        xr.clone()
    } else {
        let mut metadata = Map::new();
        metadata.insert("name".into(), json!(str_at(xr, "/metadata/name")));
        if let Some(ns) = xr.pointer("/metadata/namespace") {
            metadata.insert("namespace".into(), ns.clone());
        }
        json!({"apiVersion": xr["apiVersion"], "kind": xr["kind"], "metadata": metadata})
    };
    let desired = outcome.desired.composite.as_ref();
    let mut status = desired
        .and_then(|c| c.resource.as_ref())
        .map(struct_to_json)
        .and_then(|d| d.get("status").cloned())
        .unwrap_or_else(|| json!({}));
    anyhow::ensure!(
        status.is_object(),
        "the pipeline's desired composite has a status that is not an object: {status}"
    );
    if let Some(existing) = xr.get("status").filter(|_| options.include_full_xr) {
        let mut merged = existing.clone();
        merge(&mut merged, &status);
        status = merged;
    }
    let mut conditions = vec![ready_condition(desired.map(|c| c.ready), &outcome.desired)];
    for c in &outcome.conditions {
        if SYSTEM_CONDITIONS.contains(&c.r#type.as_str()) {
            continue;
        }
        let status = match pb::Status::try_from(c.status) {
            Ok(pb::Status::ConditionTrue) => "True",
            Ok(pb::Status::ConditionFalse) => "False",
            _ => "Unknown",
        };
        let mut condition = json!({"type": c.r#type, "status": status, "reason": c.reason, "lastTransitionTime": TRANSITION_TIME});
        if let Some(message) = &c.message {
            condition["message"] = json!(message);
        }
        conditions.push(condition);
    }
    status["conditions"] = Value::Array(conditions);
    out["status"] = status;
    Ok(out)
}

/// Available when every composed resource is ready, unless the desired
/// composite's own readiness says otherwise.
fn ready_condition(composite_ready: Option<i32>, desired: &pb::State) -> Value {
    let creating = |message: Option<String>| {
        let mut c = json!({"type": "Ready", "status": "False", "reason": "Creating", "lastTransitionTime": TRANSITION_TIME});
        if let Some(m) = message {
            c["message"] = json!(m);
        }
        c
    };
    match composite_ready.and_then(|r| pb::Ready::try_from(r).ok()) {
        Some(pb::Ready::False) => return creating(None),
        Some(pb::Ready::True) => {}
        _ => {
            let mut unready: Vec<&String> = desired
                .resources
                .iter()
                .filter(|(_, r)| r.ready != pb::Ready::True as i32)
                .map(|(name, _)| name)
                .collect();
            unready.sort();
            if !unready.is_empty() {
                return creating(Some(format!(
                    "Unready resources: {}",
                    first_and_more(&unready, 3)
                )));
            }
        }
    }
    json!({"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": TRANSITION_TIME})
}

/// `a, b, c, and 2 more`, as Crossplane words a long list.
fn first_and_more(names: &[&String], n: usize) -> String {
    let shown: Vec<&str> = names.iter().take(n).map(|s| s.as_str()).collect();
    if names.len() <= n {
        shown.join(", ")
    } else {
        format!("{}, and {} more", shown.join(", "), names.len() - n)
    }
}

fn composed(
    xr: &Value,
    name: &str,
    resource: &pb::Resource,
    observed_name: Option<&str>,
) -> anyhow::Result<Value> {
    let mut body = resource
        .resource
        .as_ref()
        .map(struct_to_json)
        .unwrap_or_else(|| json!({}));
    let xr_name = str_at(xr, "/metadata/name");
    let metadata = body
        .as_object_mut()
        .map(|b| b.entry("metadata").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut);
    let Some(metadata) = metadata else {
        anyhow::bail!("composed resource {name:?} has a metadata that is not an object");
    };
    if !metadata.contains_key("name") {
        match observed_name {
            Some(observed) => metadata.insert("name".into(), json!(observed)),
            None => metadata.insert("generateName".into(), json!(format!("{xr_name}-"))),
        };
    }
    if let Some(ns) = xr.pointer("/metadata/namespace") {
        metadata.insert("namespace".into(), ns.clone());
    }
    let labels = map_at(metadata, "labels", name)?;
    labels.insert("crossplane.io/composite".into(), json!(xr_name));
    for key in ["crossplane.io/claim-name", "crossplane.io/claim-namespace"] {
        if let Some(v) = xr.pointer("/metadata/labels").and_then(|l| l.get(key)) {
            labels.insert(key.into(), v.clone());
        }
    }
    let annotations = map_at(metadata, "annotations", name)?;
    annotations.insert(
        "crossplane.io/composition-resource-name".into(),
        json!(name),
    );
    metadata.insert(
        "ownerReferences".into(),
        json!([{
            "apiVersion": xr["apiVersion"],
            "kind": xr["kind"],
            "name": xr_name,
            "uid": str_at(xr, "/metadata/uid"),
            "controller": true,
            "blockOwnerDeletion": true,
        }]),
    );
    Ok(body)
}

/// The map under `key` of a composed resource's metadata, created if absent.
fn map_at<'a>(
    metadata: &'a mut Map<String, Value>,
    key: &str,
    resource: &str,
) -> anyhow::Result<&'a mut Map<String, Value>> {
    metadata
        .entry(key)
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| {
            anyhow::anyhow!("composed resource {resource:?} has metadata.{key} that is not a map")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composed_metadata_that_is_not_a_map_is_an_error_not_a_panic() {
        let xr = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "xr"}});
        for (body, field) in [
            (json!({"metadata": {"labels": "a=b"}}), "metadata.labels"),
            (
                json!({"metadata": {"annotations": []}}),
                "metadata.annotations",
            ),
            (json!({"metadata": "m"}), "metadata that is not an object"),
        ] {
            let resource = pb::Resource {
                resource: Some(function_sdk_rust::resource::json_to_struct(
                    body.as_object().unwrap(),
                )),
                ..Default::default()
            };
            let e = composed(&xr, "bucket", &resource, None).unwrap_err();
            assert!(e.to_string().contains(field), "{e}");
            assert!(e.to_string().contains("\"bucket\""), "{e}");
        }
    }

    #[test]
    fn long_lists_are_cut_as_crossplane_does() {
        let names: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let refs: Vec<&String> = names.iter().collect();
        assert_eq!(first_and_more(&refs, 3), "a, b, c, and 2 more");
        assert_eq!(first_and_more(&refs[..2], 3), "a, b");
    }
}
