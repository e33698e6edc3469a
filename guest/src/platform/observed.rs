//! Read-only view of the observed composed resources: readiness, status
//! fields and connection details, all optional until the cloud answers.

use std::collections::BTreeMap;

use super::pointer::Pointer;
use serde_json::Value;

use crate::protocol::Resource;

#[derive(Clone, Copy)]
pub struct Observed<'a> {
    resources: &'a BTreeMap<String, Resource>,
}

impl<'a> Observed<'a> {
    pub fn new(resources: &'a BTreeMap<String, Resource>) -> Self {
        Self { resources }
    }

    pub fn body(&self, name: &str) -> Option<&'a Value> {
        self.resources.get(name).map(|r| &r.body)
    }

    pub fn exists(&self, name: &str) -> bool {
        self.resources.contains_key(name)
    }

    /// True when the observed `Ready` condition is `True`.
    pub fn is_ready(&self, name: &str) -> bool {
        self.condition(name, "Ready") == Some("True")
    }

    pub fn condition(&self, name: &str, kind: &str) -> Option<&'a str> {
        self.body(name)?
            .at("/status/conditions")?
            .as_array()?
            .iter()
            .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))?
            .get("status")?
            .as_str()
    }

    /// A JSON pointer under `status.atProvider`.
    pub fn at_provider(&self, name: &str, pointer: &str) -> Option<&'a Value> {
        self.body(name)?.at("/status/atProvider")?.at(pointer)
    }

    /// A non-empty string under `status.atProvider`.
    pub fn text(&self, name: &str, pointer: &str) -> Option<&'a str> {
        self.at_provider(name, pointer)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The cloud has answered for this resource: it is ready or reports
    /// provider state. Import manage mode waits for this.
    pub fn has_been_observed(&self, name: &str) -> bool {
        self.is_ready(name)
            || self
                .body(name)
                .and_then(|b| b.at("/status/atProvider"))
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
    }

    /// The external names of the observed resources that have one.
    pub fn external_names(&self) -> BTreeMap<String, String> {
        self.resources
            .iter()
            .filter_map(|(name, r)| {
                // Keys, not a pointer: the key's `/` would be escaped, and
                // unescaping allocates for every resource.
                let external = r
                    .body
                    .get("metadata")?
                    .get("annotations")?
                    .get("crossplane.io/external-name")?
                    .as_str()
                    .filter(|e| !e.is_empty())?;
                Some((name.clone(), external.to_string()))
            })
            .collect()
    }

    pub fn connection_text(&self, name: &str, key: &str) -> Option<String> {
        let bytes = self.resources.get(name)?.connection_details.get(key)?;
        String::from_utf8(bytes.clone())
            .ok()
            .filter(|s| !s.is_empty())
    }
}
