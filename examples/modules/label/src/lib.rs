//! An example composition module, written with the SDK alone: it labels
//! every resource the earlier steps composed with the name of their
//! composite. Put it after the platform in a pipeline, with the Input
//! `module: label` (and, optionally, `key: <label key>`).

use module_sdk::prelude::*;
use serde_json::{Map, Value};

const DEFAULT_KEY: &str = "platform.example.io/composite";

pub struct Label;

impl Module for Label {
    fn describe() -> ModuleInfo {
        ModuleInfo::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), "label")
    }

    fn run(request: &Request, log: &mut Log) -> Response {
        let mut response = Response::to(request, 60);
        let Some(name) = request
            .composite()
            .and_then(|c| c["metadata"]["name"].as_str())
        else {
            response.fatal("the composite has no metadata.name to label with");
            return response;
        };
        let key = request.input_str("key").unwrap_or(DEFAULT_KEY);
        let mut skipped = Vec::new();
        for (id, resource) in &mut response.desired.resources {
            if label(&mut resource.body, key, name).is_none() {
                skipped.push(id.clone());
            }
        }
        if !skipped.is_empty() {
            response.warning(format!(
                "not labelled, their metadata or labels are not objects: {}",
                skipped.join(", ")
            ));
        }
        let count = response.desired.resources.len().to_string();
        log.info("labelled", &[("resources", &count), ("key", key)]);
        response
    }
}

/// Sets `metadata.labels[key]`; `None` when the object is malformed.
fn label(body: &mut Value, key: &str, value: &str) -> Option<()> {
    let empty = || Value::Object(Map::new());
    let metadata = body
        .as_object_mut()?
        .entry("metadata")
        .or_insert_with(empty);
    let labels = metadata
        .as_object_mut()?
        .entry("labels")
        .or_insert_with(empty);
    labels.as_object_mut()?.insert(key.into(), value.into());
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_composed_resource_gets_the_label_and_a_malformed_one_is_named() {
        let mut request = Request::default();
        request.observed.composite = Some(Resource::new(json!({"metadata": {"name": "prod"}})));
        for (id, body) in [
            ("bucket", json!({"kind": "Bucket"})),
            ("odd", json!({"metadata": "x"})),
        ] {
            request
                .desired
                .resources
                .insert(id.into(), Resource::new(body));
        }
        let response = Label::run(&request, &mut Log::default());
        let bucket = &response.desired.resources["bucket"].body;
        assert_eq!(bucket["metadata"]["labels"][DEFAULT_KEY], "prod");
        assert!(response.results[0].message.contains("odd"));
    }
}

export_module!(Label);
