//! The merged environment: from the pipeline context when an earlier step
//! set it, otherwise from EnvironmentConfigs this step asks Crossplane for.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::merge::deep_merge;
use super::pointer::Pointer;
use crate::protocol::{Match, Request, Requirements, Selector};

/// Where function-environment-configs and legacy Compositions put it.
pub const CONTEXT_KEY: &str = "apiextensions.crossplane.io/environment";
pub const API_VERSION: &str = "apiextensions.crossplane.io/v1beta1";
pub const KIND: &str = "EnvironmentConfig";

pub enum Environment {
    /// The environment is known; `requirements` must be re-emitted as is.
    Ready {
        data: Value,
        requirements: Requirements,
        /// Crossplane answered only the deprecated `extra_resources`: it
        /// predates `required_resources`, so it is Crossplane 1.x.
        crossplane_v1: bool,
    },
    /// Crossplane has not answered yet: emit these and wait for the call
    /// that carries the answers.
    Waiting(Requirements),
}

/// The layers, in merge order (later wins).
fn layers(cloud: &str, plane_type: Option<&str>) -> Vec<(&'static str, &'static str, String)> {
    let mut layers = vec![
        ("environment-baseline", "baseline", "default".to_string()),
        ("environment-cloud", "cloud", cloud.to_string()),
    ];
    if let Some(plane_type) = plane_type {
        layers.push((
            "environment-plane-type",
            "planeType",
            plane_type.to_string(),
        ));
    }
    layers
}

/// The requirements for the EnvironmentConfigs of this claim, under both
/// the current and the deprecated field so Crossplane 1.x and 2.x answer.
pub fn requirements(cloud: &str, plane_type: Option<&str>) -> Requirements {
    let mut selectors = BTreeMap::new();
    for (name, label, value) in layers(cloud, plane_type) {
        selectors.insert(
            name.to_string(),
            Selector {
                api_version: API_VERSION.to_string(),
                kind: KIND.to_string(),
                matching: Match::Labels(BTreeMap::from([(label.to_string(), value)])),
                namespace: None,
            },
        );
    }
    Requirements {
        extra_resources: selectors.clone(),
        resources: selectors,
    }
}

pub fn resolve(req: &Request, cloud: &str, plane_type: Option<&str>) -> Environment {
    if let Some(env) = req
        .context
        .as_ref()
        .and_then(|c| c.get(CONTEXT_KEY))
        .and_then(Value::as_object)
    {
        let mut data = env.clone();
        // The context wraps the data in an object typed as `Environment`.
        data.remove("apiVersion");
        data.remove("kind");
        return Environment::Ready {
            data: Value::Object(data),
            requirements: Requirements::default(),
            crossplane_v1: false,
        };
    }
    let requirements = requirements(cloud, plane_type);
    let mut data = Value::Object(Map::new());
    // Crossplane 2 answers both fields, and from 2.2 lists its
    // capabilities; Crossplane 1 knows only the old field.
    let crossplane_v1 = !req.lists_capabilities
        && req.required_resources.is_empty()
        && !req.extra_resources.is_empty();
    for (name, _, _) in layers(cloud, plane_type) {
        // A missing key means "not resolved yet"; an empty list "not found".
        let Some(items) = req
            .required_resources
            .get(name)
            .or_else(|| req.extra_resources.get(name))
        else {
            return Environment::Waiting(requirements);
        };
        let mut items: Vec<&Value> = items.iter().collect();
        items.sort_by_key(|i| i.at("/metadata/name").and_then(Value::as_str).unwrap_or(""));
        for item in items {
            if let Some(layer) = item.get("data").filter(|d| d.is_object()) {
                deep_merge(&mut data, layer);
            }
        }
    }
    Environment::Ready {
        data,
        requirements,
        crossplane_v1,
    }
}
