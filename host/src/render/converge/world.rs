//! The simulated control plane: the composed resources as Crossplane and
//! the providers hold them, what each one references, and when it becomes
//! ready. A resource is ready one round after everything it references
//! (selectors, references, its ProviderConfig and that config's secrets,
//! the resources its Usages protect) is ready. A Helm Release installed
//! while no node pool is ready fails, and recovers only as provider-helm
//! would: with `spec.rollbackLimit`, retried once a round up to the limit.

use std::collections::BTreeMap;
use std::fmt;

use function_sdk_rust::proto::v1 as pb;
use serde_json::{Value, json};

use super::providers::Providers;
use crate::render::docs::{merge, str_at};
use crate::render::pipeline;

/// Why the platform cannot converge: each names the resource and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// A selector or reference matches no composed resource, so the
    /// provider would wait for it forever.
    Unresolved {
        resource: String,
        path: String,
        wanted: String,
    },
    /// A Release failed and provider-helm will not retry it.
    ReleaseFailed { resource: String, why: String },
    /// A composed resource Crossplane itself would refuse.
    Malformed { resource: String, why: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unresolved {
                resource,
                path,
                wanted,
            } => write!(
                f,
                "{resource}: {path} resolves to nothing: no composed resource is {wanted}"
            ),
            Problem::ReleaseFailed { resource, why } | Problem::Malformed { resource, why } => {
                write!(f, "{resource}: {why}")
            }
        }
    }
}

impl std::error::Error for Problem {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Install {
    Deployed,
    /// Failed attempts so far.
    Failed(u32),
}

struct Simulated {
    body: Value,
    created: usize,
    ready: Option<usize>,
    install: Option<Install>,
}

/// What one round changed.
#[derive(Debug, Default)]
pub(crate) struct Round {
    pub(crate) created: Vec<String>,
    pub(crate) deleted: Vec<String>,
    pub(crate) ready: Vec<String>,
    /// Releases that failed this round, with why.
    pub(crate) failed: Vec<(String, String)>,
    /// Resources not ready, with the unready resources they wait for.
    pub(crate) waiting: Vec<(String, Vec<String>)>,
}

pub(crate) struct World {
    providers: Providers,
    xr_name: String,
    resources: BTreeMap<String, Simulated>,
}

const USAGE_KINDS: &[&str] = &["Usage", "ClusterUsage"];

impl World {
    pub(crate) fn new(providers: Providers, xr: &Value) -> Self {
        Self {
            providers,
            xr_name: str_at(xr, "/metadata/name").to_string(),
            resources: BTreeMap::new(),
        }
    }

    /// Every resource exists and is ready.
    pub(crate) fn settled(&self, desired: &pb::State) -> bool {
        desired.resources.len() == self.resources.len()
            && desired
                .resources
                .keys()
                .all(|name| self.resources.get(name).is_some_and(|r| r.ready.is_some()))
    }

    /// The names Crossplane gave the composed resources.
    pub(crate) fn names(&self) -> BTreeMap<String, String> {
        self.resources
            .iter()
            .map(|(name, r)| (name.clone(), str_at(&r.body, "/metadata/name").to_string()))
            .collect()
    }

    /// The observed state the pipeline sees this round.
    pub(crate) fn observed(&self, xr: &Value) -> pb::State {
        let mut state = pb::State {
            composite: Some(pipeline::resource(xr)),
            ..Default::default()
        };
        for (name, r) in &self.resources {
            let report = self
                .providers
                .report(str_at(&r.body, "/apiVersion"), str_at(&r.body, "/kind"));
            let mut body = r.body.clone();
            let mut at_provider = json!({});
            if r.ready.is_some() {
                // Upjet providers mirror the parameters into atProvider.
                if let Some(fp) = body
                    .pointer("/spec/forProvider")
                    .filter(|fp| fp.is_object())
                {
                    at_provider = fp.clone();
                }
                at_provider["id"] = json!(format!("simulated/{}", str_at(&body, "/metadata/name")));
                if let Some(computed) = report.and_then(|k| k.at_provider.as_ref()) {
                    merge(&mut at_provider, computed);
                }
            }
            if let Some(install) = r.install {
                at_provider["state"] = json!(match install {
                    Install::Deployed => "deployed",
                    Install::Failed(_) => "failed",
                });
            }
            let ready = r.ready.is_some();
            body["status"] = json!({
                "atProvider": at_provider,
                "conditions": [
                    {"type": "Ready", "status": if ready { "True" } else { "False" }, "reason": if ready { "Available" } else { "Creating" }},
                    {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
                ],
            });
            let connection_details = match report {
                Some(k) if ready && writes_secret(&r.body) => k
                    .connection
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone().into_bytes()))
                    .collect(),
                _ => Default::default(),
            };
            state.resources.insert(
                name.clone(),
                pb::Resource {
                    resource: Some(pipeline::to_struct(&body)),
                    connection_details,
                    ready: pb::Ready::Unspecified as i32,
                },
            );
        }
        state
    }

    /// Applies the desired state of round `round` and lets the simulated
    /// providers act on it.
    pub(crate) fn advance(&mut self, round: usize, desired: &pb::State) -> Result<Round, Problem> {
        let mut report = Round::default();
        let wanted: BTreeMap<String, Value> = desired
            .resources
            .iter()
            .map(|(name, r)| {
                let body = r
                    .resource
                    .as_ref()
                    .map(function_sdk_rust::resource::struct_to_json)
                    .unwrap_or_else(|| json!({}));
                (name.clone(), body)
            })
            .collect();
        let gone: Vec<String> = self
            .resources
            .keys()
            .filter(|name| !wanted.contains_key(*name))
            .cloned()
            .collect();
        for name in gone {
            self.resources.remove(&name);
            report.deleted.push(name);
        }
        for (name, mut body) in wanted {
            if body.get("metadata").is_some_and(|m| !m.is_object()) {
                return Err(Problem::Malformed {
                    resource: name,
                    why: "metadata is not an object".into(),
                });
            }
            match self.resources.get_mut(&name) {
                Some(existing) => {
                    let assigned = existing.body["metadata"]["name"].clone();
                    body["metadata"]["name"] = assigned;
                    existing.body = body;
                }
                None => {
                    if str_at(&body, "/metadata/name").is_empty() {
                        body["metadata"]["name"] = json!(generated_name(&self.xr_name, &name));
                    }
                    self.resources.insert(
                        name.clone(),
                        Simulated {
                            body,
                            created: round,
                            ready: None,
                            install: None,
                        },
                    );
                    report.created.push(name);
                }
            }
        }

        let dependencies = self.dependencies()?;
        let schedulable = self.resources.values().any(|r| {
            r.ready.is_some_and(|at| at < round)
                && self
                    .providers
                    .report(str_at(&r.body, "/apiVersion"), str_at(&r.body, "/kind"))
                    .is_some_and(|k| k.schedulable)
        });
        let mut decisions = Vec::new();
        for (name, r) in &self.resources {
            if r.ready.is_some() {
                continue;
            }
            let unready: Vec<String> = dependencies
                .get(name)
                .into_iter()
                .flatten()
                .filter(|dep| {
                    self.resources
                        .get(*dep)
                        .is_none_or(|d| d.ready.is_none_or(|at| at >= round))
                })
                .cloned()
                .collect();
            if r.created >= round || !unready.is_empty() {
                if !unready.is_empty() {
                    report.waiting.push((name.clone(), unready));
                }
                continue;
            }
            decisions.push((name.clone(), is_release(&r.body)));
        }
        for (name, release) in decisions {
            let Some(r) = self.resources.get_mut(&name) else {
                continue;
            };
            if !release {
                r.ready = Some(round);
                report.ready.push(name);
                continue;
            }
            let failed_before = match r.install {
                Some(Install::Failed(n)) => n,
                _ => 0,
            };
            if failed_before > 0 {
                let limit = r
                    .body
                    .pointer("/spec/rollbackLimit")
                    .and_then(Value::as_u64);
                match limit {
                    None => {
                        return Err(Problem::ReleaseFailed {
                            resource: name,
                            why: "the release failed and has no spec.rollbackLimit, so provider-helm never retries it; set spec.rollbackLimit".into(),
                        });
                    }
                    Some(limit) if u64::from(failed_before) > limit => {
                        return Err(Problem::ReleaseFailed {
                            resource: name,
                            why: format!(
                                "the release failed {failed_before} times, past its spec.rollbackLimit of {limit}"
                            ),
                        });
                    }
                    Some(_) => {}
                }
            }
            if schedulable {
                r.install = Some(Install::Deployed);
                r.ready = Some(round);
                report.ready.push(name);
            } else {
                r.install = Some(Install::Failed(failed_before + 1));
                report.failed.push((
                    name,
                    "installed while no node pool was ready: its pods and hook Jobs stayed Pending past the wait".into(),
                ));
            }
        }
        Ok(report)
    }

    /// What each resource waits for, by composition resource name; a
    /// selector or reference that matches nothing is a problem.
    fn dependencies(&self) -> Result<BTreeMap<String, Vec<String>>, Problem> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, r) in &self.resources {
            let mut deps = Vec::new();
            for (path, selector, required) in references(&r.body) {
                let found = self.resolve_field(&selector, &path, name);
                if let (true, Selector::Secret { name, namespace }) = (found.is_empty(), &selector)
                {
                    // Nothing writes it yet (an adopted cluster writes its
                    // kubeconfig once taken over): wait for it.
                    deps.push(format!("secret {namespace}/{name}"));
                    continue;
                }
                // An observed-only resource resolves nothing: Crossplane
                // never creates or updates it.
                if found.is_empty() && required && !observe_only(&r.body) {
                    return Err(Problem::Unresolved {
                        resource: name.clone(),
                        path,
                        wanted: selector.to_string(),
                    });
                }
                deps.extend(found);
            }
            if USAGE_KINDS.contains(&str_at(&r.body, "/kind")) {
                // The resource a Usage protects outlives the one using it;
                // the user is ready once what it uses is.
                let of = self.usage_side(name, &r.body, "of")?;
                let by = self.usage_side(name, &r.body, "by")?;
                for user in by {
                    out.entry(user).or_default().extend(of.iter().cloned());
                }
            }
            out.entry(name.clone()).or_default().extend(deps);
        }
        for deps in out.values_mut() {
            deps.sort();
            deps.dedup();
        }
        Ok(out)
    }

    fn usage_side(&self, name: &str, body: &Value, side: &str) -> Result<Vec<String>, Problem> {
        let labels = body
            .pointer(&format!("/spec/{side}/resourceSelector/matchLabels"))
            .cloned()
            .unwrap_or_else(|| json!({}));
        let selector = Selector::Labels(labels);
        let found = self.resolve(&selector);
        if found.is_empty() {
            return Err(Problem::Unresolved {
                resource: name.to_string(),
                path: format!("spec.{side}.resourceSelector"),
                wanted: selector.to_string(),
            });
        }
        Ok(found)
    }

    /// What a field's selector resolves to. A provider's selector only
    /// matches the kind its field refers to, which the simulator does not
    /// know: when the labels match several kinds, the kinds the field is
    /// named after (`subnetIdSelector`: Subnet) are kept, and never the
    /// resource itself.
    fn resolve_field(&self, selector: &Selector, path: &str, this: &str) -> Vec<String> {
        let found: Vec<String> = self
            .resolve(selector)
            .into_iter()
            .filter(|name| name != this)
            .collect();
        let kind_of = |name: &String| {
            self.resources
                .get(name)
                .map(|r| str_at(&r.body, "/kind").to_ascii_lowercase())
                .unwrap_or_default()
        };
        let mut kinds: Vec<String> = found.iter().map(kind_of).collect();
        kinds.sort();
        kinds.dedup();
        if kinds.len() <= 1 {
            return found;
        }
        let field = path
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let named: Vec<String> = found
            .iter()
            .filter(|name| {
                let kind = kind_of(name);
                !kind.is_empty() && field.starts_with(&kind)
            })
            .cloned()
            .collect();
        if named.is_empty() { found } else { named }
    }

    fn resolve(&self, selector: &Selector) -> Vec<String> {
        self.resources
            .iter()
            .filter(|(_, r)| selector.matches(&r.body))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// What a reference asks for.
#[derive(Debug, Clone)]
enum Selector {
    /// A `*Selector`'s `matchLabels`.
    Labels(Value),
    /// A `*Ref`'s or `providerConfigRef`'s name, of any kind or of kinds
    /// ending in the given suffix.
    Name {
        name: String,
        kind_suffix: &'static str,
    },
    /// A secret that a composed resource writes its connection details to.
    Secret { name: String, namespace: String },
}

impl Selector {
    fn matches(&self, body: &Value) -> bool {
        match self {
            Selector::Labels(labels) => labels.as_object().is_some_and(|labels| {
                labels.iter().all(|(k, v)| {
                    body.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(v)
                })
            }),
            Selector::Name { name, kind_suffix } => {
                str_at(body, "/metadata/name") == name
                    && str_at(body, "/kind").ends_with(kind_suffix)
            }
            Selector::Secret { name, namespace } => {
                // A namespaced managed resource writes beside itself.
                let written_to = match str_at(body, "/spec/writeConnectionSecretToRef/namespace") {
                    "" => str_at(body, "/metadata/namespace"),
                    ns => ns,
                };
                str_at(body, "/spec/writeConnectionSecretToRef/name") == name
                    && (namespace.is_empty() || written_to == namespace)
            }
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Labels(labels) => write!(f, "labelled {labels}"),
            Selector::Name {
                name,
                kind_suffix: "",
            } => {
                write!(f, "named {name:?}")
            }
            Selector::Name { name, kind_suffix } => write!(f, "a {kind_suffix} named {name:?}"),
            Selector::Secret { name, namespace } => {
                write!(f, "writing its connection secret to {namespace}/{name}")
            }
        }
    }
}

/// The references of a composed body: where each is, what it asks for,
/// and whether a composed resource must answer it.
fn references(body: &Value) -> Vec<(String, Selector, bool)> {
    let mut found = Vec::new();
    for part in ["forProvider", "initProvider"] {
        if let Some(params) = body.pointer(&format!("/spec/{part}")) {
            walk(params, &format!("spec.{part}"), &mut found);
        }
    }
    let mut out: Vec<(String, Selector, bool)> =
        found.into_iter().map(|(path, s)| (path, s, true)).collect();
    // A ProviderConfig composed here is waited for; any other is the
    // platform team's, made before the claim.
    if let Some(name) = body
        .pointer("/spec/providerConfigRef/name")
        .and_then(Value::as_str)
    {
        out.push((
            "spec.providerConfigRef".into(),
            Selector::Name {
                name: name.to_string(),
                kind_suffix: "ProviderConfig",
            },
            false,
        ));
    }
    if str_at(body, "/kind").ends_with("ProviderConfig") {
        for field in ["credentials", "identity"] {
            let name = str_at(body, &format!("/spec/{field}/secretRef/name"));
            if !name.is_empty() {
                let namespace = str_at(body, &format!("/spec/{field}/secretRef/namespace"));
                out.push((
                    format!("spec.{field}.secretRef"),
                    Selector::Secret {
                        name: name.to_string(),
                        namespace: namespace.to_string(),
                    },
                    true,
                ));
            }
        }
    }
    out
}

/// Parameters that are another API's document, not the provider's: a
/// Release's chart values and an Object's manifest.
const OPAQUE: &[&str] = &["values", "manifest"];

fn walk(value: &Value, path: &str, out: &mut Vec<(String, Selector)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let here = format!("{path}.{key}");
                if OPAQUE.contains(&key.as_str()) && path.matches('.').count() == 1 {
                    continue;
                }
                if key.ends_with("Selector")
                    && let Some(labels) = inner.get("matchLabels")
                {
                    out.push((here, Selector::Labels(labels.clone())));
                } else if key.ends_with("Ref")
                    && let Some(name) = inner.get("name").and_then(Value::as_str)
                {
                    out.push((
                        here,
                        Selector::Name {
                            name: name.to_string(),
                            kind_suffix: "",
                        },
                    ));
                } else {
                    walk(inner, &here, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                walk(inner, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn observe_only(body: &Value) -> bool {
    body.pointer("/spec/managementPolicies") == Some(&json!(["Observe"]))
}

fn is_release(body: &Value) -> bool {
    str_at(body, "/kind") == "Release" && str_at(body, "/apiVersion").starts_with("helm.")
}

fn writes_secret(body: &Value) -> bool {
    body.pointer("/spec/writeConnectionSecretToRef").is_some()
}

/// `<xr>-<five hex digits>`, stable for a resource, as Crossplane's
/// generated names look.
fn generated_name(xr: &str, resource: &str) -> String {
    let hash = format!("{xr}/{resource}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{xr}-{:05x}", hash & 0xf_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(resources: &[(&str, Value)]) -> pb::State {
        pb::State {
            resources: resources
                .iter()
                .map(|(name, body)| (name.to_string(), pipeline::resource(body)))
                .collect(),
            ..Default::default()
        }
    }

    fn labelled(api_version: &str, kind: &str, name: &str, for_provider: Value) -> Value {
        json!({
            "apiVersion": api_version, "kind": kind,
            "metadata": {"labels": {"myplatform.io/resource": name}},
            "spec": {"forProvider": for_provider},
        })
    }

    fn release(rollback_limit: Option<u64>) -> Value {
        let mut body = labelled(
            "helm.crossplane.io/v1beta1",
            "Release",
            "release",
            json!({}),
        );
        if let Some(limit) = rollback_limit {
            body["spec"]["rollbackLimit"] = json!(limit);
        }
        body
    }

    fn world() -> World {
        World::new(
            Providers::built_in().unwrap(),
            &json!({"metadata": {"name": "xr"}}),
        )
    }

    fn cluster() -> Value {
        labelled(
            "container.gcp.upbound.io/v1beta2",
            "Cluster",
            "cluster",
            json!({}),
        )
    }

    fn pool() -> Value {
        labelled(
            "container.gcp.upbound.io/v1beta2",
            "NodePool",
            "pool",
            json!({"clusterSelector": {"matchLabels": {"myplatform.io/resource": "cluster"}}}),
        )
    }

    #[test]
    fn a_release_before_any_node_pool_fails_for_good_without_a_rollback_limit() {
        let mut world = world();
        let desired = state(&[("cluster", cluster()), ("release", release(None))]);
        world.advance(1, &desired).unwrap();
        let round = world.advance(2, &desired).unwrap();
        assert_eq!(round.ready, ["cluster"]);
        assert_eq!(round.failed[0].0, "release");
        let problem = world.advance(3, &desired).unwrap_err();
        assert!(
            matches!(&problem, Problem::ReleaseFailed { resource, why } if resource == "release" && why.contains("set spec.rollbackLimit")),
            "{problem}"
        );
    }

    #[test]
    fn a_release_with_a_rollback_limit_recovers_once_a_node_pool_is_ready() {
        let mut world = world();
        let desired = state(&[
            ("cluster", cluster()),
            ("pool", pool()),
            ("release", release(Some(3))),
        ]);
        let first = world.advance(1, &desired).unwrap();
        assert_eq!(first.created.len(), 3);
        let second = world.advance(2, &desired).unwrap();
        assert_eq!(
            second.waiting,
            [("pool".to_string(), vec!["cluster".to_string()])]
        );
        assert_eq!(second.failed.len(), 1);
        let third = world.advance(3, &desired).unwrap();
        assert_eq!(third.ready, ["pool"]);
        let fourth = world.advance(4, &desired).unwrap();
        assert_eq!(fourth.ready, ["release"]);
        assert!(world.settled(&desired));
    }

    #[test]
    fn a_selector_that_matches_nothing_is_a_problem_naming_it() {
        let mut world = world();
        let desired = state(&[("pool", pool())]);
        let problem = world.advance(1, &desired).unwrap_err();
        assert_eq!(
            problem,
            Problem::Unresolved {
                resource: "pool".into(),
                path: "spec.forProvider.clusterSelector".into(),
                wanted: r#"labelled {"myplatform.io/resource":"cluster"}"#.into(),
            }
        );
    }

    #[test]
    fn a_malformed_resource_is_a_problem_not_a_panic() {
        let mut world = world();
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "m", "spec": {"forProvider": "x"}});
        let problem = world.advance(1, &state(&[("odd", body)])).unwrap_err();
        assert!(matches!(problem, Problem::Malformed { .. }), "{problem}");
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "spec": {"forProvider": "x"}});
        let desired = state(&[("odd", body)]);
        world.advance(1, &desired).unwrap();
        world.advance(2, &desired).unwrap();
        let observed = world.observed(&json!({"metadata": {"name": "xr"}}));
        assert!(observed.resources.contains_key("odd"));
    }

    #[test]
    fn ready_resources_report_what_the_provider_computes() {
        let mut world = world();
        let mut body = cluster();
        body["spec"]["writeConnectionSecretToRef"] = json!({"name": "kc", "namespace": "ns"});
        body["spec"]["forProvider"]["location"] = json!("us-central1");
        let desired = state(&[("cluster", body)]);
        world.advance(1, &desired).unwrap();
        world.advance(2, &desired).unwrap();
        let observed = world.observed(&json!({"metadata": {"name": "xr"}}));
        let cluster = &observed.resources["cluster"];
        let body = function_sdk_rust::resource::struct_to_json(cluster.resource.as_ref().unwrap());
        assert_eq!(body["status"]["atProvider"]["location"], "us-central1");
        assert_eq!(body["status"]["atProvider"]["endpoint"], "203.0.113.10");
        assert_eq!(body["status"]["conditions"][0]["status"], "True");
        assert!(cluster.connection_details.contains_key("kubeconfig"));
    }
}
