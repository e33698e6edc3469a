//! Test helpers for this crate's tests and the integration tests: the
//! example claims and EnvironmentConfigs, and a requirements loop that
//! answers the function as Crossplane does. Built with the `testing`
//! feature only, which no module enables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::log::Log;
use crate::platform::run;
use crate::protocol::{Match, Ready, Request, Resource, Response, Severity};
use serde_json::{Value, json};

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

pub fn load_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The example claim, as Crossplane presents its composite to functions.
pub fn claim(name: &str) -> Value {
    let claim = load_yaml(&examples_dir().join(name).join("claim.yaml"));
    composite_of(claim)
}

/// The example namespaced composite (Crossplane 2, no claim), as
/// Crossplane presents it: its machinery under `spec.crossplane`.
pub fn namespaced(cloud: &str) -> Value {
    let mut xr = load_yaml(&examples_dir().join(cloud).join("cluster.yaml"));
    xr["spec"]["crossplane"] =
        json!({"compositionRef": {"name": "clusters.platform.myplatform.io"}});
    xr
}

pub fn composite_of(mut claim: Value) -> Value {
    let name = claim["metadata"]["name"]
        .as_str()
        .unwrap_or("claim")
        .to_string();
    let ns = claim["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    claim["kind"] = json!("XCluster");
    claim["metadata"]["name"] = json!(format!("{name}-x7k2p"));
    if let Some(meta) = claim["metadata"].as_object_mut() {
        meta.remove("namespace");
    }
    claim["metadata"]["labels"]["crossplane.io/claim-name"] = json!(name);
    claim["metadata"]["labels"]["crossplane.io/claim-namespace"] = json!(ns);
    claim
}

pub fn env_configs() -> Vec<Value> {
    let mut out = Vec::new();
    let dir = examples_dir().join("envconfigs");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    for path in paths {
        out.push(load_yaml(&path));
    }
    out
}

/// The example EnvironmentConfigs plus one for `cloud` carrying `data`,
/// which wins over the others.
pub fn env_configs_with(cloud: &str, data: Value) -> Vec<Value> {
    let mut configs = env_configs();
    configs.push(json!({
        "apiVersion": "apiextensions.crossplane.io/v1beta1", "kind": "EnvironmentConfig",
        "metadata": {"name": "zz-overrides", "labels": {"cloud": cloud}},
        "data": data,
    }));
    configs
}

/// The example EnvironmentConfigs plus one for the production plane
/// carrying `data`, which wins over every other.
pub fn env_configs_for_production(data: Value) -> Vec<Value> {
    let mut configs = env_configs();
    configs.push(json!({
        "apiVersion": "apiextensions.crossplane.io/v1beta1", "kind": "EnvironmentConfig",
        "metadata": {"name": "zz-production-overrides", "labels": {"planeType": "production"}},
        "data": data,
    }));
    configs
}

pub fn request(xr: Value) -> Request {
    Request {
        observed: crate::protocol::State {
            composite: Some(Resource::new(xr)),
            resources: BTreeMap::new(),
        },
        ..Request::default()
    }
}

/// Answers every requirement from `configs`, matching apiVersion, kind and
/// labels, and calls again until the requirements stop changing.
pub fn run_with(req: Request, configs: &[Value]) -> Response {
    settle(req, configs).1
}

/// `req` with its requirements answered from `configs`, and the response
/// to it: the last call of the loop Crossplane runs.
pub fn settle(mut req: Request, configs: &[Value]) -> (Request, Response) {
    let mut log = Log::default();
    let mut previous = None;
    for _ in 0..5 {
        let rsp = run(&req, &mut log);
        if rsp.is_fatal() || previous.as_ref() == Some(&rsp.requirements) {
            return (req, rsp);
        }
        req.required_resources = answer(&rsp.requirements.resources, configs);
        req.extra_resources = answer(&rsp.requirements.extra_resources, configs);
        previous = Some(rsp.requirements.clone());
    }
    panic!("requirements did not stabilise");
}

/// What Crossplane answers for `selectors`: the `configs` matching
/// apiVersion, kind and name or labels.
pub fn answer(
    selectors: &BTreeMap<String, crate::protocol::Selector>,
    configs: &[Value],
) -> BTreeMap<String, Vec<Value>> {
    selectors
        .iter()
        .map(|(name, s)| {
            let items = configs
                .iter()
                .filter(|c| c["apiVersion"] == json!(s.api_version) && c["kind"] == json!(s.kind))
                .filter(|c| match &s.matching {
                    Match::Name(n) => c["metadata"]["name"] == json!(n),
                    Match::Labels(l) => l
                        .iter()
                        .all(|(k, v)| c["metadata"]["labels"][k] == json!(v)),
                })
                .cloned()
                .collect();
            (name.clone(), items)
        })
        .collect()
}

/// Renders an example claim with the example environment, as on the first
/// call: nothing observed yet.
pub fn render_first(xr: Value) -> Response {
    let rsp = run_with(request(xr), &env_configs());
    assert!(
        !rsp.is_fatal(),
        "unexpected fatal result: {:?}",
        rsp.results
    );
    rsp
}

/// Renders an example claim once its cluster is up: the whole platform,
/// Helm releases included.
pub fn render(xr: Value) -> Response {
    run_with(
        cluster_up(request(xr.clone()), &env_configs()),
        &env_configs(),
    )
}

/// What the charts wait for, besides the node pools: the cluster, the
/// resource writing its kubeconfig, and the resources the charts' first
/// installs need (Azure's cert-manager identity and the cluster's right to
/// its subnet, GKE's webhook firewall, EKS's Pod Identity associations, the
/// monitoring release whose ServiceMonitor CRD the others use),
/// with the status fields that unlock
/// them.
const CHART_INPUTS: &[(&str, &str)] = &[
    (
        "cluster",
        r#"{"identity": {"principalId": "44444444-4444-4444-4444-444444444444"}}"#,
    ),
    ("cluster-auth", "{}"),
    ("identity-cert-manager", "{}"),
    ("firewall-control-plane", "{}"),
    (
        "subnet",
        r#"{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/n"}"#,
    ),
    ("cluster-network-contributor", "{}"),
    ("pod-identity-cert-manager", "{}"),
    ("pod-identity-cluster-autoscaler", "{}"),
    ("helm-monitoring", "{}"),
    ("addon-ebs-csi-driver", "{}"),
];

/// `req` once the cluster is up: the charts' inputs and the node pools
/// observed ready, as the calls before render them.
pub fn cluster_up(mut req: Request, configs: &[Value]) -> Request {
    for _ in 0..6 {
        let rsp = run_with(req.clone(), configs);
        for (name, r) in &rsp.desired.resources {
            if req.observed.resources.contains_key(name) {
                continue;
            }
            let input = CHART_INPUTS.iter().find(|(n, _)| n == name);
            if let Some((_, at_provider)) = input {
                let at_provider = serde_json::from_str(at_provider).unwrap();
                observe(&mut req, name, &r.body, at_provider, true);
            } else if name.starts_with("nodepool-") {
                observe(&mut req, name, &r.body, json!({}), true);
            }
        }
    }
    req
}

pub fn set(xr: &mut Value, pointer: &str, value: Value) {
    let mut parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    let last = parts.pop().expect("pointer");
    let mut cur = xr;
    for p in parts {
        if cur.get(p).is_none() {
            cur[p] = json!({});
        }
        cur = &mut cur[p];
    }
    cur[last] = value;
}

pub fn kinds(rsp: &Response) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in rsp.desired.resources.values() {
        let kind = format!(
            "{} {}",
            r.body["apiVersion"].as_str().unwrap_or("?"),
            r.body["kind"].as_str().unwrap_or("?")
        );
        *out.entry(kind).or_insert(0) += 1;
    }
    out
}

pub fn resource<'a>(rsp: &'a Response, name: &str) -> &'a Value {
    &rsp.desired
        .resources
        .get(name)
        .unwrap_or_else(|| {
            panic!(
                "no resource {name}; have {:?}",
                rsp.desired.resources.keys().collect::<Vec<_>>()
            )
        })
        .body
}

pub fn fatal_message(rsp: &Response) -> String {
    rsp.results
        .iter()
        .find(|r| r.severity == Severity::Fatal)
        .map(|r| r.message.clone())
        .unwrap_or_else(|| panic!("expected a fatal result, got {:?}", rsp.results))
}

/// Marks observed resources as ready with the given `atProvider`.
pub fn observe(req: &mut Request, name: &str, body: &Value, at_provider: Value, ready: bool) {
    let mut body = body.clone();
    body["status"] = json!({
        "atProvider": at_provider,
        "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }, "reason": if ready { "Available" } else { "Creating" }}],
    });
    req.observed.resources.insert(
        name.to_string(),
        Resource {
            body,
            ready: Ready::Unspecified,
            ..Resource::default()
        },
    );
}

/// Every golden case: (name, composite).
pub fn cases() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for cloud in ["gcp", "aws", "azure"] {
        let prod = claim(cloud);
        out.push((format!("{cloud}-production"), prod.clone()));
        let mut dev = prod.clone();
        set(&mut dev, "/metadata/labels/planeType", json!("development"));
        out.push((format!("{cloud}-development"), dev));
        let mut no_dns = prod.clone();
        set(&mut no_dns, "/spec/parameters/createDnsZones", json!(false));
        out.push((format!("{cloud}-no-dns"), no_dns));
        let mut public = prod.clone();
        set(&mut public, "/spec/parameters/privateCluster", json!(false));
        out.push((format!("{cloud}-public"), public));
        let mut pools = prod.clone();
        set(
            &mut pools,
            "/spec/parameters/pools/batch",
            json!({"autoscaling": {"minNodeCount": 0, "maxNodeCount": 20}, "nodeConfig": {"diskSizeGb": 200, "labels": {"workload": "batch"}}}),
        );
        out.push((format!("{cloud}-two-pools"), pools));
    }
    // Adoption on the other clouds: manage mode takes over what the
    // cluster-up render has observed (cluster, pool, subnet).
    for (cloud, resources) in [
        (
            "aws",
            json!({"network": "vpc-0a1b2c", "subnet-private-a": "subnet-0a1b2c", "cluster": "legacy-eks", "nodepool-default": "legacy-eks-pool"}),
        ),
        (
            "azure",
            json!({"network": "legacy-vnet", "subnet": "legacy-nodes", "cluster": "legacy-aks", "nodepool-default": "legacy"}),
        ),
    ] {
        let mut xr = claim(cloud);
        set(
            &mut xr,
            "/spec/parameters/import",
            json!({"enabled": true, "mode": "manage", "resources": resources}),
        );
        out.push((format!("{cloud}-import-manage"), xr));
    }
    let import = claim("import");
    out.push(("import-observe".into(), import.clone()));
    let mut manage = import;
    set(&mut manage, "/spec/parameters/import/mode", json!("manage"));
    out.push(("import-manage".into(), manage));
    // The namespaced form of the production examples, and of adoption.
    for cloud in ["gcp", "aws", "azure"] {
        out.push((format!("{cloud}-namespaced"), namespaced(cloud)));
    }
    let mut import = load_yaml(&examples_dir().join("import/claim.yaml"));
    set(
        &mut import,
        "/apiVersion",
        json!("platform.myplatform.io/v1alpha1"),
    );
    set(&mut import, "/metadata/namespace", json!("team-a"));
    set(&mut import, "/spec/parameters/import/mode", json!("manage"));
    out.push(("import-namespaced-manage".into(), import));
    out
}
