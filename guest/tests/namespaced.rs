//! The Crossplane 2 form: a namespaced composite gets the namespaced twin
//! of the legacy platform, in its own namespace, valid against the
//! providers' `.m.` CRDs.

use cluster_platform::testing as common;
use test_support::schema;

use std::collections::BTreeSet;

use cluster_platform::protocol::{Response, Severity};
use serde_json::{Value, json};

use schema::Crds;

const CLOUDS: [&str; 3] = ["gcp", "aws", "azure"];
const NAMESPACE: &str = "team-a";

fn crds() -> Option<Crds> {
    schema::load_or_skip("namespaced schema validation")
}

/// The first call and the cluster-up call of a cloud's namespaced XR.
fn calls(cloud: &str) -> [(&'static str, Response); 2] {
    let xr = common::namespaced(cloud);
    [
        ("first call", common::render_first(xr.clone())),
        ("cluster up", common::render(xr)),
    ]
}

#[test]
fn every_resource_is_a_schema_valid_namespaced_twin_in_the_xr_namespace() {
    let Some(crds) = crds() else { return };
    let mut failures = Vec::new();
    let mut checked = 0;
    for cloud in CLOUDS {
        for (call, rsp) in calls(cloud) {
            assert!(
                !rsp.results.iter().any(|r| r.severity != Severity::Normal),
                "{cloud} {call}: {:?}",
                rsp.results
            );
            for (name, resource) in &rsp.desired.resources {
                checked += 1;
                let body = &resource.body;
                let api_version = body["apiVersion"].as_str().unwrap_or_default();
                let kind = body["kind"].as_str().unwrap_or_default();
                let at = format!("{cloud} {call} / {name} ({api_version} {kind})");
                if body["metadata"]["namespace"] != NAMESPACE {
                    failures.push(format!("{at}: not in namespace {NAMESPACE}"));
                }
                if (api_version, kind) == ("v1", "Secret") {
                    continue;
                }
                match crds.scope(api_version, kind) {
                    Some("Namespaced") => {}
                    scope => failures.push(format!("{at}: scope {scope:?}, expected Namespaced")),
                }
                failures.extend(
                    crds.validate(body)
                        .into_iter()
                        .map(|e| format!("{at}: {e}")),
                );
            }
        }
    }
    assert!(checked > 300, "only {checked} resources checked");
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn both_forms_compose_the_same_platform() {
    for cloud in CLOUDS {
        // In the claim's namespace, the cloud names are the claim's too.
        let legacy = common::render(common::claim(cloud));
        let mut xr = common::namespaced(cloud);
        xr["metadata"]["namespace"] = json!("default");
        let modern = common::render(xr);
        let names = |rsp: &Response| -> BTreeSet<String> {
            rsp.desired.resources.keys().cloned().collect()
        };
        assert_eq!(names(&legacy), names(&modern), "{cloud}");
        for (name, resource) in &modern.desired.resources {
            let old = &legacy.desired.resources[name].body;
            let new = &resource.body;
            assert_eq!(
                old["kind"],
                new["kind"]
                    .as_str()
                    .map(|k| match k {
                        "Usage" => "ClusterUsage",
                        k => k,
                    })
                    .unwrap_or_default(),
                "{cloud} {name}"
            );
            assert_eq!(
                old["spec"]["forProvider"], new["spec"]["forProvider"],
                "{cloud} {name}"
            );
            assert_eq!(
                resource.ready, legacy.desired.resources[name].ready,
                "{cloud} {name}"
            );
        }
        let status = |rsp: &Response| {
            rsp.desired
                .composite
                .as_ref()
                .map(|c| c.body["status"].clone())
        };
        assert_eq!(status(&legacy), status(&modern), "{cloud}: status differs");
    }
}

#[test]
fn references_name_their_kind() {
    for cloud in CLOUDS {
        let rsp = common::render(common::namespaced(cloud));
        let cluster = common::resource(&rsp, "cluster");
        assert_eq!(
            cluster["spec"]["providerConfigRef"],
            json!({"kind": "ClusterProviderConfig", "name": "default"}),
            "{cloud}"
        );
        for release in rsp
            .desired
            .resources
            .values()
            .filter(|r| r.body["kind"] == "Release")
        {
            assert_eq!(
                release.body["spec"]["providerConfigRef"],
                json!({"kind": "ProviderConfig", "name": "prod-cluster"}),
                "{cloud}"
            );
        }
        let pc = common::resource(&rsp, "helm-providerconfig");
        assert_eq!(pc["apiVersion"], "helm.m.crossplane.io/v1beta1");
        assert_eq!(pc["metadata"]["name"], "prod-cluster");
        assert_eq!(
            pc["spec"]["credentials"]["secretRef"]["namespace"],
            NAMESPACE
        );
        let secrets: Vec<&Value> = rsp
            .desired
            .resources
            .values()
            .filter_map(|r| r.body["spec"].get("writeConnectionSecretToRef"))
            .collect();
        assert!(!secrets.is_empty(), "{cloud}");
        for secret in secrets {
            assert_eq!(secret.get("namespace"), None, "{cloud}: {secret}");
        }
    }
}

#[test]
fn the_environment_chooses_the_managed_resources_provider_config() {
    let configs = common::env_configs_with(
        "aws",
        json!({"providerConfigs": {"aws": {"kind": "ProviderConfig", "name": "team-a-aws"}}}),
    );
    let rsp = common::run_with(common::request(common::namespaced("aws")), &configs);
    assert_eq!(
        common::resource(&rsp, "network")["spec"]["providerConfigRef"],
        json!({"kind": "ProviderConfig", "name": "team-a-aws"})
    );
    // The legacy form takes the name only: its kinds have no `kind`.
    let rsp = common::run_with(common::request(common::claim("aws")), &configs);
    assert_eq!(
        common::resource(&rsp, "network")["spec"]["providerConfigRef"],
        json!({"name": "team-a-aws"})
    );
    let configs = common::env_configs_with(
        "aws",
        json!({"providerConfigs": {"aws": {"kind": "Secret", "name": "x"}}}),
    );
    let rsp = common::run_with(common::request(common::namespaced("aws")), &configs);
    assert_eq!(
        common::fatal_message(&rsp),
        "environment providerConfigs.aws.kind is \"Secret\": expected ClusterProviderConfig or ProviderConfig"
    );
}

#[test]
fn usages_are_namespaced_in_the_xr_namespace() {
    let rsp = common::render(common::namespaced("gcp"));
    let usages: Vec<&Value> = rsp
        .desired
        .resources
        .values()
        .map(|r| &r.body)
        .filter(|b| b["kind"] == "Usage")
        .collect();
    assert!(usages.len() > 20, "{}", usages.len());
    for usage in usages {
        assert_eq!(usage["apiVersion"], "protection.crossplane.io/v1beta1");
        assert_eq!(usage["metadata"]["namespace"], NAMESPACE);
        assert!(
            usage["spec"]["of"]["apiVersion"]
                .as_str()
                .is_some_and(|v| v.contains(".m.")),
            "{usage}"
        );
    }
    let configs = common::env_configs_with("gcp", json!({"usages": {"legacy": true}}));
    let rsp = common::run_with(common::request(common::namespaced("gcp")), &configs);
    assert!(
        rsp.results.iter().any(|r| r.severity == Severity::Warning
            && r.message.starts_with("usages.legacy is ignored")),
        "{:?}",
        rsp.results
    );
}

/// Crossplane 2 publishes no connection details for a modern XR: the
/// platform's own Secret carries the kubeconfig once it is known.
#[test]
fn the_connection_secret_carries_the_kubeconfig_once_known() {
    use base64::Engine;
    let decode = |v: &Value| {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 text"))
            .expect("base64");
        String::from_utf8(bytes).expect("utf-8")
    };
    for (cloud, source) in [
        ("gcp", "cluster"),
        ("aws", "cluster-auth"),
        ("azure", "cluster"),
    ] {
        let xr = common::namespaced(cloud);
        let configs = common::env_configs();
        let mut req = common::cluster_up(common::request(xr.clone()), &configs);
        let first = common::run_with(req.clone(), &configs);
        assert!(
            !first.desired.resources.contains_key("connection-secret"),
            "{cloud}: a Secret before the kubeconfig is known"
        );
        let observed = req.observed.resources.get_mut(source).expect(source);
        observed.connection_details.insert(
            "kubeconfig".into(),
            b"apiVersion: v1\nkind: Config\n".to_vec(),
        );
        let rsp = common::run_with(req, &configs);
        let secret = common::resource(&rsp, "connection-secret");
        assert_eq!(secret["metadata"]["name"], "prod-cluster-connection");
        assert_eq!(secret["metadata"]["namespace"], NAMESPACE);
        assert_eq!(secret["type"], "connection.crossplane.io/v1alpha1");
        assert_eq!(
            decode(&secret["data"]["kubeconfig"]),
            "apiVersion: v1\nkind: Config\n"
        );
        // The legacy form composes none: the cluster's own connection
        // secret is in the claim's namespace already.
        let mut legacy = common::cluster_up(common::request(common::claim(cloud)), &configs);
        legacy
            .observed
            .resources
            .get_mut(source)
            .expect(source)
            .connection_details
            .insert("kubeconfig".into(), b"k".to_vec());
        let rsp = common::run_with(legacy, &configs);
        assert!(!rsp.desired.resources.contains_key("connection-secret"));
    }
}
