//! Plain-Rust mirror of the `platform:function` WIT types, with Kubernetes
//! objects already parsed into JSON values. Maps are ordered so the output
//! is deterministic.

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Ready {
    #[default]
    Unspecified,
    True,
    False,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resource {
    pub body: Value,
    pub connection_details: BTreeMap<String, Vec<u8>>,
    pub ready: Ready,
}

impl Resource {
    pub fn new(body: Value) -> Self {
        Self {
            body,
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    pub composite: Option<Resource>,
    pub resources: BTreeMap<String, Resource>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub tag: String,
    /// Crossplane 2.2 and later list the capabilities they have; an older
    /// Crossplane sends none.
    pub lists_capabilities: bool,
    pub observed: State,
    pub desired: State,
    pub input: Option<Value>,
    pub context: Option<Value>,
    /// Deprecated `extra_resources`, answered when asked for that way.
    pub extra_resources: BTreeMap<String, Vec<Value>>,
    pub required_resources: BTreeMap<String, Vec<Value>>,
    pub credentials: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

impl Request {
    /// The observed composite resource, as Crossplane sent it.
    pub fn composite(&self) -> Option<&Value> {
        self.observed.composite.as_ref().map(|c| &c.body)
    }

    /// A label of the observed composite.
    pub fn composite_label(&self, key: &str) -> Option<&str> {
        self.composite()?["metadata"]["labels"][key].as_str()
    }

    /// A string field of the step's Input.
    pub fn input_str(&self, field: &str) -> Option<&str> {
        self.input.as_ref()?[field].as_str()
    }

    /// An observed composed resource, by its composition resource name.
    pub fn observed(&self, name: &str) -> Option<&Resource> {
        self.observed.resources.get(name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Fatal,
    Warning,
    Normal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Composite,
    CompositeAndClaim,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FnResult {
    pub severity: Severity,
    pub message: String,
    pub reason: Option<String>,
    pub target: Target,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    Unknown,
    True,
    False,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub kind: String,
    pub status: ConditionStatus,
    pub reason: String,
    pub message: Option<String>,
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Name(String),
    Labels(BTreeMap<String, String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub api_version: String,
    pub kind: String,
    pub matching: Match,
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    pub extra_resources: BTreeMap<String, Selector>,
    pub resources: BTreeMap<String, Selector>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    pub ttl_seconds: Option<u64>,
    pub desired: State,
    pub results: Vec<FnResult>,
    pub context: Option<Value>,
    pub requirements: Requirements,
    pub conditions: Vec<Condition>,
}

impl Response {
    /// A response that carries the request's desired state and context
    /// forward, as every function in a pipeline must.
    pub fn to(req: &Request, ttl_seconds: u64) -> Self {
        Self {
            ttl_seconds: Some(ttl_seconds),
            desired: req.desired.clone(),
            context: req.context.clone(),
            ..Self::default()
        }
    }

    pub fn fatal(&mut self, message: impl Into<String>) {
        self.results.push(FnResult {
            severity: Severity::Fatal,
            message: message.into(),
            reason: None,
            target: Target::Composite,
        });
    }

    /// A progress note for the claim's owner, with a reason to filter on.
    pub fn normal(&mut self, reason: &str, message: impl Into<String>) {
        self.results.push(FnResult {
            severity: Severity::Normal,
            message: message.into(),
            reason: Some(reason.to_string()),
            target: Target::CompositeAndClaim,
        });
    }

    pub fn warning(&mut self, message: impl Into<String>) {
        self.results.push(FnResult {
            severity: Severity::Warning,
            message: message.into(),
            reason: None,
            target: Target::CompositeAndClaim,
        });
    }

    pub fn is_fatal(&self) -> bool {
        self.results.iter().any(|r| r.severity == Severity::Fatal)
    }
}

/// Requests a module answers: the step Input names `module` and the
/// composite carries every one of `labels`. The host picks, of the routes
/// that match, the one with the most labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub module: String,
    pub labels: BTreeMap<String, String>,
}

impl Route {
    /// Every composite, for the step Input `module: <module>`.
    pub fn new(module: &str) -> Self {
        Self {
            module: module.to_string(),
            labels: BTreeMap::new(),
        }
    }

    /// Only composites that also carry `key: value`.
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.to_string(), value.to_string());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    pub name: String,
    pub version: String,
    pub routes: Vec<Route>,
}

impl ModuleInfo {
    /// A module named `name` at `version` that answers the step Input
    /// `module: <module>` for every composite.
    pub fn new(name: &str, version: &str, module: &str) -> Self {
        Self {
            name: name.to_string(),
            version: version.to_string(),
            routes: vec![Route::new(module)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_request_reads_its_composite_input_and_observed_resources() {
        let mut request = Request {
            input: Some(json!({"module": "label", "key": "team"})),
            ..Request::default()
        };
        request.observed.composite = Some(Resource::new(
            json!({"metadata": {"name": "prod", "labels": {"tier": "gold"}}}),
        ));
        request
            .observed
            .resources
            .insert("bucket".into(), Resource::new(json!({"kind": "Bucket"})));
        assert_eq!(request.composite().unwrap()["metadata"]["name"], "prod");
        assert_eq!(request.composite_label("tier"), Some("gold"));
        assert_eq!(request.composite_label("absent"), None);
        assert_eq!(request.input_str("key"), Some("team"));
        assert_eq!(request.observed("bucket").unwrap().body["kind"], "Bucket");
        assert!(request.observed("other").is_none());
    }
}
