//! Bad input gives one FATAL result naming the field and what is expected,
//! and never a panic.

mod common;

use cluster_platform::log::Log;
use cluster_platform::platform::run;
use cluster_platform::protocol::Request;
use common::{claim, fatal_message, request, run_with, set};
use serde_json::{Value, json};

fn fatal_for(xr: Value) -> String {
    let rsp = run_with(request(xr), &common::env_configs());
    assert!(
        rsp.desired.resources.is_empty(),
        "{:?}",
        rsp.desired.resources.keys()
    );
    fatal_message(&rsp)
}

fn with(pointer: &str, value: Value) -> Value {
    let mut xr = claim("gcp");
    set(&mut xr, pointer, value);
    xr
}

fn without_label(label: &str) -> Value {
    let mut xr = claim("gcp");
    xr["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove(label);
    xr
}

#[test]
fn cloud_label() {
    let m = fatal_for(without_label("cloud"));
    assert!(
        m.contains("metadata.labels.cloud is missing") && m.contains("gcp, aws, azure"),
        "{m}"
    );
    let m = fatal_for(with("/metadata/labels/cloud", json!("oracle")));
    assert_eq!(
        m,
        "metadata.labels.cloud is \"oracle\": expected one of gcp, aws, azure"
    );
}

#[test]
fn plane_and_location() {
    assert!(fatal_for(without_label("planeId")).starts_with("metadata.labels.planeId is missing"));
    let m = fatal_for(with("/spec/parameters/forProvider", json!({})));
    assert!(
        m.starts_with("spec.parameters.forProvider.location is missing"),
        "{m}"
    );
}

#[test]
fn invalid_cidrs_name_the_field() {
    let m = fatal_for(with(
        "/spec/parameters/network",
        json!({"podsCidr": "10.4.0.0/33"}),
    ));
    assert!(
        m.starts_with("network.podsCidr is \"10.4.0.0/33\": expected an IPv4 CIDR"),
        "{m}"
    );
    let m = fatal_for(with(
        "/spec/parameters/network",
        json!({"subnetCidr": "10.0.0.1/20"}),
    ));
    assert!(
        m.contains("network.subnetCidr") && m.contains("host bits"),
        "{m}"
    );
    let m = fatal_for(with(
        "/spec/parameters/network",
        json!({"servicesCidr": "10.4.0.0/20"}),
    ));
    assert!(m.contains("overlaps"), "{m}");
}

#[test]
fn import_mode_and_names() {
    let m = fatal_for(with(
        "/spec/parameters/import",
        json!({"enabled": true, "mode": "adopt", "resources": {"cluster": "x"}}),
    ));
    assert_eq!(
        m,
        "spec.parameters.import.mode is \"adopt\": expected observe or manage"
    );
    let m = fatal_for(with(
        "/spec/parameters/import",
        json!({"enabled": true, "mode": "observe", "resources": {"clutser": "x"}}),
    ));
    assert!(m.starts_with("spec.parameters.import.resources.clutser: this platform renders no resource of that name; expected one of network, subnet"), "{m}");
    let m = fatal_for(with(
        "/spec/parameters/import",
        json!({"enabled": true, "mode": "observe", "resources": {"gsa-provider-key": "x"}}),
    ));
    assert!(
        m.contains("ServiceAccountKey is created by the platform and cannot be imported"),
        "{m}"
    );
    let m = fatal_for(with(
        "/spec/parameters/import",
        json!({"enabled": true, "resources": {}}),
    ));
    assert!(
        m.starts_with("spec.parameters.import.resources is missing or empty"),
        "{m}"
    );
}

#[test]
fn pools_need_bounds() {
    let m = fatal_for(with(
        "/spec/parameters/pools/default/autoscaling",
        Value::Null,
    ));
    assert!(
        m.starts_with("spec.parameters.pools.default.autoscaling is missing"),
        "{m}"
    );
    let m = fatal_for(with(
        "/spec/parameters/pools/default/autoscaling",
        json!({"minNodeCount": 3}),
    ));
    assert!(
        m.starts_with("spec.parameters.pools.default.autoscaling.maxNodeCount is missing"),
        "{m}"
    );
    let m = fatal_for(with(
        "/spec/parameters/pools/default/autoscaling",
        json!({"minNodeCount": 5, "maxNodeCount": 2}),
    ));
    assert!(
        m.contains("minNodeCount 5 is greater than maxNodeCount 2"),
        "{m}"
    );
    let m = fatal_for(with(
        "/spec/parameters/pools/default/autoscaling",
        json!({"minNodeCount": -1, "maxNodeCount": 2}),
    ));
    assert!(
        m.contains("minNodeCount is -1: expected a whole number"),
        "{m}"
    );
}

#[test]
fn a_broken_values_template_names_the_chart_and_line() {
    let configs = common::env_configs_with(
        "gcp",
        json!({"charts": {"monitoring": {"values": "grafana:\n  enabled: true\n  adminPassword: {{ monitoring.grafana.password | nosuch }}\n"}}}),
    );
    let rsp = run_with(request(claim("gcp")), &configs);
    let m = fatal_message(&rsp);
    assert!(
        m.starts_with("chart monitoring: values template error on line 3"),
        "{m}"
    );
}

#[test]
fn values_that_are_not_one_yaml_map_name_the_chart_and_line() {
    for (values, expected) in [
        (
            "controller:\n  replicaCount: 2\n  service: [unclosed\n",
            "chart ingress-nginx: rendered values are not valid YAML, line 3:",
        ),
        (
            "controller:\n  replicaCount: 2\n---\nother: 1\n",
            "chart ingress-nginx: rendered values are not valid YAML, 2 documents",
        ),
    ] {
        let configs = common::env_configs_with(
            "gcp",
            json!({"charts": {"ingress-nginx": {"values": values}}}),
        );
        let m = fatal_message(&run_with(request(claim("gcp")), &configs));
        assert!(m.starts_with(expected), "{m}");
    }
}

#[test]
fn wrong_types_never_panic() {
    let weird = [
        json!({}),
        json!({"metadata": {"name": "x", "labels": {"cloud": 5}}}),
        json!({"metadata": {"name": "x", "labels": {"cloud": "gcp", "planeId": "p"}}, "spec": {"parameters": "nope"}}),
        json!({"metadata": {"name": "x", "labels": {"cloud": "aws", "planeId": "p"}}, "spec": {"parameters": {"forProvider": {"location": "r"}, "pools": [1], "domain": 3}}}),
        json!({"metadata": {"name": "x", "labels": {"cloud": "azure", "planeId": "p"}}, "spec": {"parameters": {"forProvider": {"location": "r"}, "network": {"zones": "abc"}}}}),
        json!({"metadata": {"name": "x", "labels": {"cloud": "azure", "planeId": "p"}}, "spec": {"parameters": {"forProvider": {"location": "r"}, "templates": {"cluster": 5}, "import": {"enabled": true, "resources": {"cluster": 7}}}}}),
        json!([1, 2]),
        Value::Null,
    ];
    for xr in weird {
        let rsp = run_with(request(xr.clone()), &common::env_configs());
        assert!(
            rsp.is_fatal() || !rsp.desired.resources.is_empty(),
            "{xr}: {:?}",
            rsp.results
        );
    }
    let rsp = run(&Request::default(), &mut Log::default());
    assert_eq!(
        fatal_message(&rsp),
        "the request has no observed composite resource"
    );
}
