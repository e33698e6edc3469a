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
    assert_eq!(
        fatal_for(without_label("planeId")),
        "metadata.labels.planeId is missing: set it to the GCP project the cluster lives in"
    );
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
        let configs = common::env_configs_for_production(json!({
            "ingress": {"controller": "ingress-nginx"},
            "charts": {"ingress-nginx": {"values": values}},
        }));
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

/// Input the cloud would refuse an hour later is refused at render.
#[test]
fn a_domain_must_be_a_dns_name() {
    let long = format!("{}.example.com", vec!["a".repeat(60); 5].join("."));
    let m = fatal_for(with("/spec/parameters/domain", json!(long)));
    assert!(
        m.starts_with("spec.parameters.domain is 316 characters long: expected a DNS name"),
        "{m}"
    );
    let m = fatal_for(with(
        "/spec/parameters/domain",
        json!("{{ 7*7 }}.example.com"),
    ));
    assert!(
        m.starts_with(
            "spec.parameters.domain is \"{{ 7*7 }}.example.com\": its label \"{{ 7*7 }}\" is not valid"
        ),
        "{m}"
    );
    let label = "a".repeat(64);
    let m = fatal_for(with(
        "/spec/parameters/domain",
        json!(format!("{label}.example.com")),
    ));
    assert!(m.contains("labels of 1 to 63"), "{m}");
    for bad in [
        "-prod.example.com",
        "prod..example.com",
        "localhost",
        "prod_x.example.com",
    ] {
        let m = fatal_for(with("/spec/parameters/domain", json!(bad)));
        assert!(m.starts_with("spec.parameters.domain is"), "{bad}: {m}");
    }
    // A trailing dot and capitals are what users type: accepted.
    let rsp = run_with(
        request(with("/spec/parameters/domain", json!("Prod.Example.com."))),
        &common::env_configs(),
    );
    assert!(!rsp.is_fatal(), "{:?}", rsp.results);
}

#[test]
fn pool_names_fit_each_clouds_rules() {
    for (cloud, name, rule) in [
        (
            "azure",
            "general-purpose",
            "AKS pool names are 1 to 12 lowercase",
        ),
        ("azure", "system", "not system"),
        ("gcp", "Batch", "GKE pool names are 1 to 32 lowercase"),
        (
            "gcp",
            "a-very-long-pool-name-for-batch-jobs",
            "GKE pool names",
        ),
        (
            "aws",
            "a-very-long-pool-name-for-batch",
            "EKS pool names are 1 to 22",
        ),
    ] {
        let mut xr = claim(cloud);
        set(
            &mut xr,
            &format!("/spec/parameters/pools/{name}"),
            json!({"autoscaling": {"minNodeCount": 1, "maxNodeCount": 2}}),
        );
        let m = fatal_for(xr);
        assert!(
            m.starts_with(&format!(
                "spec.parameters.pools.{name}: the pool name {name:?} does not fit {cloud}: "
            )) && m.contains(rule),
            "{cloud} {name}: {m}"
        );
    }
}

#[test]
fn a_label_that_is_not_a_string_says_so() {
    for label in ["cloud", "planeId", "planeType"] {
        let m = fatal_for(with(&format!("/metadata/labels/{label}"), json!(7)));
        assert_eq!(
            m,
            format!("metadata.labels.{label} is 7: expected a string (quote it in the claim)")
        );
    }
}

#[test]
fn import_deletion_policy() {
    let m = fatal_for(with(
        "/spec/parameters/import",
        json!({"enabled": true, "deletionPolicy": "Keep", "resources": {"cluster": "x"}}),
    ));
    assert!(
        m.starts_with("spec.parameters.import.deletionPolicy is \"Keep\": expected Orphan"),
        "{m}"
    );
}
