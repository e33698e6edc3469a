//! The agnostic layer: what every composed resource gets whatever its
//! cloud — common labels, external name, Usages for deletion order,
//! readiness, import policies and the caller's overrides, merged last.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::claim::{Deletion, ImportMode, Platform, ProviderConfigRef, dns_label, stable_hash};
use super::form::Form;
use super::merge::deep_merge;
use super::observed::Observed;
use super::pointer::Pointer;
use crate::protocol::{Ready, Resource};

/// Label every composed resource carries with its composition resource
/// name, so selectors and Usages can pick exactly one resource of this XR.
pub const RESOURCE_LABEL: &str = "myplatform.io/resource";
pub const CLUSTER_LABEL: &str = "myplatform.io/cluster";

/// How a resource behaves beyond "a managed resource in a cloud".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Managed,
    /// Has no Ready condition: ready as soon as it is rendered.
    ReadyByConstruction,
    /// Only makes sense when created (keys, releases): never observed.
    CreateOnly,
    /// Belongs to more than this cluster (the plane's resource group): only
    /// observed, so deleting one claim never deletes what others live in.
    Shared,
}

#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub body: Value,
    pub external_name: Option<String>,
    /// Resources this one needs while it exists (deleted after it).
    pub uses: Vec<String>,
    pub role: Role,
    /// Plain identity parameters the provider needs to find an imported
    /// resource (e.g. a node pool's cluster), merged into `forProvider`
    /// only when the resource is imported.
    pub import_params: Option<Value>,
    /// `forProvider` fields (JSON pointers) that replace or rotate the
    /// resource when they change: once it exists, they stay as observed,
    /// so a newer platform never replaces what an older one created.
    pub fixed: Vec<&'static str>,
}

impl Part {
    pub fn named(mut self, external: impl Into<String>) -> Self {
        self.external_name = Some(external.into());
        self
    }

    pub fn uses(mut self, names: &[&str]) -> Self {
        self.uses.extend(names.iter().map(|n| n.to_string()));
        self
    }

    pub fn uses_all(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.uses.extend(names);
        self
    }

    pub fn role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    pub fn fixed_at_creation(mut self, pointers: &[&'static str]) -> Self {
        self.fixed.extend_from_slice(pointers);
        self
    }

    pub fn import_params(mut self, params: Value) -> Self {
        self.import_params = Some(params);
        self
    }

    /// Adds a label (e.g. subnet access) a selector elsewhere matches on.
    pub fn label(mut self, key: &str, value: &str) -> Self {
        if let Some(meta) = self.body.get_mut("metadata").and_then(Value::as_object_mut) {
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            if let Some(labels) = labels.as_object_mut() {
                labels.insert(key.to_string(), Value::String(value.to_string()));
            }
        }
        self
    }

    /// Sets `spec.initProvider` (fields only used at creation).
    pub fn init_provider(mut self, init: Value) -> Self {
        if let Some(spec) = self.body.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert("initProvider".to_string(), init);
        }
        self
    }

    /// Writes the resource's connection secret to `namespace/name`.
    pub fn secret(mut self, name: &str, namespace: &str) -> Self {
        if let Some(spec) = self.body.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert(
                "writeConnectionSecretToRef".to_string(),
                json!({"name": name, "namespace": namespace}),
            );
        }
        self
    }

    fn api_version(&self) -> &str {
        self.body
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    fn kind(&self) -> &str {
        self.body.get("kind").and_then(Value::as_str).unwrap_or("")
    }
}

/// A managed resource with its `forProvider`.
pub fn managed(name: &str, api_version: &str, kind: &str, for_provider: Value) -> Part {
    Part {
        name: name.to_string(),
        body: body(
            api_version,
            kind,
            Map::new(),
            Map::from_iter([("forProvider".to_string(), for_provider)]),
        ),
        external_name: None,
        uses: Vec::new(),
        role: Role::Managed,
        import_params: None,
        fixed: Vec::new(),
    }
}

/// `{apiVersion, kind, metadata, spec}`, built by moving each part in:
/// `json!` would serialise every interpolated `Value` into a copy.
pub fn body(
    api_version: &str,
    kind: &str,
    metadata: Map<String, Value>,
    spec: Map<String, Value>,
) -> Value {
    let mut body = Map::new();
    body.insert("apiVersion".into(), Value::String(api_version.into()));
    body.insert("kind".into(), Value::String(kind.into()));
    body.insert("metadata".into(), Value::Object(metadata));
    body.insert("spec".into(), Value::Object(spec));
    Value::Object(body)
}

/// Any other object (ProviderConfigs), with its whole body given.
pub fn object(name: &str, body: Value, role: Role) -> Part {
    let mut body = body;
    if let Some(map) = body.as_object_mut() {
        map.entry("metadata").or_insert_with(|| json!({}));
    }
    Part {
        name: name.to_string(),
        body,
        external_name: None,
        uses: Vec::new(),
        role,
        import_params: None,
        fixed: Vec::new(),
    }
}

/// Selects the resource composed under `name` by this same XR.
pub fn select(name: &str) -> Value {
    let mut labels = Map::new();
    labels.insert(RESOURCE_LABEL.into(), Value::String(label_value(name)));
    let mut selector = Map::new();
    selector.insert("matchControllerRef".into(), Value::Bool(true));
    selector.insert("matchLabels".into(), Value::Object(labels));
    Value::Object(selector)
}

/// A resource name as a label value: at most 63 characters, so long names
/// keep a prefix and a stable hash of the whole name.
pub fn label_value(name: &str) -> String {
    let bytes = name.as_bytes();
    let valid = bytes.len() <= 63
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        return name.to_string();
    }
    let hash = stable_hash(name);
    let prefix = dns_label(name, 54);
    format!("{prefix}-{:08x}", hash as u32)
}

/// Selects every resource of this XR carrying `key: value`.
pub fn select_label(key: &str, value: &str) -> Value {
    json!({"matchControllerRef": true, "matchLabels": {key: value}})
}

/// The resources of one render, in the order the layers added them.
#[derive(Debug, Default)]
pub struct Plan {
    pub parts: Vec<Part>,
}

impl Plan {
    pub fn add(&mut self, part: Part) {
        // A later layer may replace an earlier resource of the same name.
        self.parts.retain(|p| p.name != part.name);
        self.parts.push(part);
    }

    pub fn get(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.parts.iter().map(|p| p.name.as_str()).collect()
    }
}

/// What the import workflow decided for one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Normal, fully managed resource.
    Full,
    /// Observed only (observe mode, or manage mode before first observation).
    ObserveOnly,
}

/// The desired composed resources, and any `uses` that names a resource
/// the plan does not have (a bug in a layer: its Usage cannot exist).
pub struct Finished {
    pub resources: BTreeMap<String, Resource>,
    pub dangling: Vec<String>,
}

/// Turns the plan into desired composed resources.
pub fn finish(
    plan: Plan,
    p: &Platform,
    observed: Observed<'_>,
    policies: &BTreeMap<String, Policy>,
    usages: bool,
) -> Finished {
    let (usages, dangling) = if usages {
        usage_parts(&plan, p)
    } else {
        (Vec::new(), Vec::new())
    };
    let provider_config =
        ProviderConfigRef::reference(p.provider_config.as_ref(), p.id.form != Form::Legacy);
    let common = common_labels(p);
    let mut out = BTreeMap::new();
    // The plan is consumed: each body moves into its resource uncopied.
    for part in plan.parts {
        let imported = p
            .import
            .as_ref()
            .is_some_and(|i| i.resources.contains_key(&part.name));
        let upbound = part.api_version().contains(".upbound.io/");
        let mut body = part.body;
        label(&mut body, &common, &part.name);
        let external = if imported {
            p.import
                .as_ref()
                .and_then(|i| i.resources.get(&part.name))
                .cloned()
        } else {
            part.external_name.clone()
        };
        if let Some(external) = external {
            annotate(&mut body, "crossplane.io/external-name", &external);
        }
        if imported
            && let (Some(params), Some(fp)) =
                (&part.import_params, body.at_mut("/spec/forProvider"))
        {
            deep_merge(fp, params);
        }
        if imported
            && policies.get(&part.name) == Some(&Policy::Full)
            && let Some(import) = &p.import
        {
            adopt(&mut body, part.import_params.as_ref(), import.deletion);
        }
        let observe_only =
            part.role == Role::Shared || policies.get(&part.name) == Some(&Policy::ObserveOnly);
        if observe_only && let Some(spec) = body.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert("managementPolicies".into(), json!(["Observe"]));
            // Nothing is created or updated: creation-time fields and
            // connection secrets do not apply.
            spec.remove("initProvider");
            spec.remove("writeConnectionSecretToRef");
        }
        if matches!(part.role, Role::Managed | Role::CreateOnly | Role::Shared)
            && upbound
            && let Some(reference) = provider_config.clone()
            && let Some(spec) = body.get_mut("spec").and_then(Value::as_object_mut)
        {
            spec.insert("providerConfigRef".into(), reference);
        }
        if let Some(existing) = observed.body(&part.name) {
            keep_fixed(&mut body, existing, &part.fixed);
        }
        if let Some(over) = p.templates.get(&part.name) {
            deep_merge(&mut body, over);
        }
        let ready = match part.role {
            Role::ReadyByConstruction => Ready::True,
            _ if observed.is_ready(&part.name) => Ready::True,
            _ => Ready::False,
        };
        out.insert(
            part.name,
            Resource {
                body,
                ready,
                ..Resource::default()
            },
        );
    }
    for usage in usages {
        let mut body = usage.body;
        label(&mut body, &common, &usage.name);
        out.insert(
            usage.name,
            Resource {
                body,
                ready: Ready::True,
                ..Resource::default()
            },
        );
    }
    Finished {
        resources: out,
        dangling,
    }
}

/// Sets each fixed field to its observed value, or removes it when the
/// existing resource has none (it was created without it).
fn keep_fixed(body: &mut Value, existing: &Value, fixed: &[&str]) {
    // An observation without parameters says nothing about them.
    if existing.at("/spec/forProvider").is_none() {
        return;
    }
    for pointer in fixed {
        let observed = existing.at(&format!("/spec/forProvider{pointer}")).cloned();
        let Some((parent, key)) = pointer.rsplit_once('/') else {
            continue;
        };
        let Some(Value::Object(map)) = body.at_mut(&format!("/spec/forProvider{parent}")) else {
            continue;
        };
        match observed {
            Some(value) => map.insert(key.to_string(), value),
            None => map.remove(key),
        };
    }
}

/// `forProvider` fields that say which cloud resource this is, kept when
/// a resource is adopted; a cloud's `import_params` add their own. The
/// parents (a pool's cluster, a credential's identity) are among them:
/// Upjet leaves identifying references out of `initProvider` altogether.
const IDENTITY_FIELDS: &[&str] = &[
    "project",
    "location",
    "region",
    "resourceGroupName",
    "kubernetesClusterId",
    "parentId",
    "privateDnsZoneName",
    "clusterName",
    "principalArn",
    "policyArn",
];

/// Takes over an existing resource without replacing or deleting it: only
/// what identifies it stays in `forProvider` (the claim's own templates,
/// merged later, add what it means to enforce); the platform's other
/// fields move to `initProvider`, which applies only on creation, so the
/// rest is late-initialised from what the cloud reports and no field that
/// forces a replacement is changed. Delete only when the claim says so.
fn adopt(body: &mut Value, import_params: Option<&Value>, deletion: Deletion) {
    let Some(spec) = body.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    // A parent's selector or reference (a pool's `clusterSelector`) is as
    // much identity as the parent's name.
    let identity = |key: &str| {
        let field = key
            .strip_suffix("Selector")
            .or_else(|| key.strip_suffix("Ref"))
            .unwrap_or(key);
        IDENTITY_FIELDS.contains(&field) || import_params.is_some_and(|p| p.get(field).is_some())
    };
    if let Some(Value::Object(fp)) = spec.get_mut("forProvider") {
        let keys: Vec<String> = fp.keys().filter(|k| !identity(k)).cloned().collect();
        let moved: Map<String, Value> = keys
            .into_iter()
            .filter_map(|k| fp.remove(&k).map(|v| (k, v)))
            .collect();
        if !moved.is_empty() {
            let init = spec
                .entry("initProvider")
                .or_insert_with(|| Value::Object(Map::new()));
            // What the platform already gave initProvider stays on top.
            let mut merged = Value::Object(moved);
            deep_merge(&mut merged, init);
            *init = merged;
        }
    }
    let policies = match deletion {
        Deletion::Delete => json!(["*"]),
        Deletion::Orphan => json!(["Observe", "Create", "Update", "LateInitialize"]),
    };
    spec.insert("managementPolicies".into(), policies);
}

fn label(body: &mut Value, common: &Map<String, Value>, name: &str) {
    let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let resource = Value::String(label_value(name));
    match meta.get_mut("labels") {
        Some(Value::Object(labels)) => {
            labels.insert(RESOURCE_LABEL.into(), resource);
            for (key, value) in common {
                labels.insert(key.clone(), value.clone());
            }
        }
        Some(_) => {}
        // Most resources have no labels of their own: a copy of the
        // common map is cheaper than inserting its entries one by one.
        None => {
            let mut labels = common.clone();
            labels.insert(RESOURCE_LABEL.into(), resource);
            meta.insert("labels".into(), Value::Object(labels));
        }
    }
}

/// The labels every resource of the composite carries, worked out once
/// per render rather than once per resource.
fn common_labels(p: &Platform) -> Map<String, Value> {
    let mut labels = Map::new();
    labels.insert(CLUSTER_LABEL.into(), Value::String(p.id.cluster.clone()));
    labels.insert(
        "myplatform.io/cloud".into(),
        Value::String(p.id.cloud.clone()),
    );
    labels.insert(
        "myplatform.io/plane-id".into(),
        Value::String(dns_label(&p.id.plane, 63)),
    );
    if let Some(pt) = &p.id.plane_type {
        labels.insert(
            "myplatform.io/plane-type".into(),
            Value::String(dns_label(pt, 63)),
        );
    }
    labels
}

fn annotate(body: &mut Value, key: &str, value: &str) {
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = annotations.as_object_mut() {
            a.insert(key.to_string(), json!(value));
        }
    }
}

/// Which Usage API the composite's resources need: a namespaced XR's
/// resources are protected by namespaced `Usage`s in its namespace; a
/// legacy XR's cluster-scoped ones by `ClusterUsage`s on Crossplane 2, or
/// by the `apiextensions.crossplane.io` Usage Crossplane 1 has.
fn usage_type(p: &Platform) -> (&'static str, &'static str) {
    match &p.id.form {
        Form::Namespaced(_) => ("protection.crossplane.io/v1beta1", "Usage"),
        Form::Legacy if legacy_usages(p) => ("apiextensions.crossplane.io/v1beta1", "Usage"),
        Form::Legacy => ("protection.crossplane.io/v1beta1", "ClusterUsage"),
    }
}

/// Crossplane 1's Usage API: `usages.legacy` in the environment when it
/// is set, otherwise what the request tells of the Crossplane sending it.
pub fn legacy_usages(p: &Platform) -> bool {
    match p.env_value("usages.legacy").and_then(Value::as_bool) {
        Some(legacy) => legacy,
        None => p.crossplane_v1,
    }
}

/// One Usage per consumer and used resource: a Usage's `by` resolves to a
/// single resource, and `replayDeletion` re-triggers the used resource's
/// deletion once its consumer is gone.
fn usage_parts(plan: &Plan, p: &Platform) -> (Vec<Part>, Vec<String>) {
    let (api_version, kind) = usage_type(p);
    let mut out = Vec::new();
    let mut dangling = Vec::new();
    for by in &plan.parts {
        for of_name in &by.uses {
            let Some(of) = plan.get(of_name) else {
                dangling.push(format!("{} uses {of_name}", by.name));
                continue;
            };
            let name = format!("usage-{}-by-{}", of.name, by.name);
            let mut metadata = Map::new();
            if let Some(ns) = p.id.form.namespace() {
                metadata.insert("namespace".into(), Value::String(ns.to_string()));
            }
            let mut spec = Map::new();
            spec.insert("of".into(), usage_end(of));
            spec.insert("by".into(), usage_end(by));
            spec.insert("replayDeletion".into(), Value::Bool(true));
            let body = body(api_version, kind, metadata, spec);
            out.push(object(&name, body, Role::ReadyByConstruction));
        }
    }
    (out, dangling)
}

/// One end of a Usage (`of` or `by`): the resource's type and the selector
/// of its composition resource name.
fn usage_end(part: &Part) -> Value {
    let mut end = Map::new();
    end.insert(
        "apiVersion".into(),
        Value::String(part.api_version().into()),
    );
    end.insert("kind".into(), Value::String(part.kind().into()));
    end.insert("resourceSelector".into(), select(&part.name));
    Value::Object(end)
}

/// Keeps the observe-mode policy for every imported resource and decides
/// manage mode per resource: full management only once observed.
pub fn import_policies(
    plan: &Plan,
    p: &Platform,
    observed: Observed<'_>,
) -> (BTreeMap<String, Policy>, Vec<String>) {
    let mut policies = BTreeMap::new();
    let mut waiting = Vec::new();
    let Some(import) = &p.import else {
        return (policies, waiting);
    };
    for part in &plan.parts {
        if !import.resources.contains_key(&part.name) {
            continue;
        }
        let policy = match import.mode {
            ImportMode::Observe => Policy::ObserveOnly,
            ImportMode::Manage if observed.has_been_observed(&part.name) => Policy::Full,
            ImportMode::Manage => {
                waiting.push(part.name.clone());
                Policy::ObserveOnly
            }
        };
        policies.insert(part.name.clone(), policy);
    }
    (policies, waiting)
}
