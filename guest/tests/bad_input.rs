//! Bad input gives one FATAL result naming the field and what is expected,
//! and never a panic.

use cluster_platform::testing as common;

use cluster_platform::log::Log;
use cluster_platform::platform::error::{FieldError, RenderError};
use cluster_platform::platform::{TTL_SECONDS, render, run};
use cluster_platform::protocol::{Request, Response};
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

/// The typed error of rendering `xr`; the FATAL result says exactly it.
fn error_for(xr: Value) -> FieldError {
    let (req, rsp) = common::settle(request(xr), &common::env_configs());
    let mut again = Response::to(&req, TTL_SECONDS);
    let error = match render(&req, &mut again, &mut Log::default()) {
        Err(RenderError::Field(error)) => error,
        other => panic!("expected a field error, got {other:?}"),
    };
    assert_eq!(fatal_message(&rsp), error.to_string());
    error
}

/// The field and what it holds, to compare in one go.
fn at(error: &FieldError) -> (&str, &str) {
    (&error.field, &error.got)
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
    let e = error_for(without_label("cloud"));
    assert_eq!(at(&e), ("metadata.labels.cloud", "is missing"));
    assert!(e.expected.contains("gcp, aws, azure"), "{e}");
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
    let e = error_for(with("/spec/parameters/forProvider", json!({})));
    assert_eq!(
        at(&e),
        ("spec.parameters.forProvider.location", "is missing")
    );
}

#[test]
fn invalid_cidrs_name_the_field() {
    let e = error_for(with(
        "/spec/parameters/network",
        json!({"podsCidr": "10.4.0.0/33"}),
    ));
    assert_eq!(at(&e), ("network.podsCidr", "is \"10.4.0.0/33\""));
    assert!(e.expected.starts_with("expected an IPv4 CIDR"), "{e}");
    let e = error_for(with(
        "/spec/parameters/network",
        json!({"subnetCidr": "10.0.0.1/20"}),
    ));
    assert_eq!(e.field, "network.subnetCidr");
    assert!(e.expected.contains("host bits"), "{e}");
    let e = error_for(with(
        "/spec/parameters/network",
        json!({"servicesCidr": "10.4.0.0/20"}),
    ));
    assert_eq!(
        at(&e),
        (
            "network.podsCidr",
            "10.4.0.0/14 overlaps network.servicesCidr 10.4.0.0/20"
        )
    );
    assert_eq!(e.expected, "expected disjoint ranges");
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
    let e = error_for(with(
        "/spec/parameters/import",
        json!({"enabled": true, "mode": "observe", "resources": {"clutser": "x"}}),
    ));
    assert_eq!(
        at(&e),
        (
            "spec.parameters.import.resources.clutser",
            "names no resource this platform renders"
        )
    );
    assert!(
        e.expected.starts_with("expected one of network, subnet"),
        "{e}"
    );
    let e = error_for(with(
        "/spec/parameters/import",
        json!({"enabled": true, "mode": "observe", "resources": {"gsa-provider-key": "x"}}),
    ));
    assert_eq!(
        at(&e),
        (
            "spec.parameters.import.resources.gsa-provider-key",
            "names a ServiceAccountKey, which the platform creates and cannot import"
        )
    );
    let e = error_for(with(
        "/spec/parameters/import",
        json!({"enabled": true, "resources": {}}),
    ));
    assert_eq!(
        at(&e),
        ("spec.parameters.import.resources", "is missing or empty")
    );
}

#[test]
fn pools_need_bounds() {
    let pool = "spec.parameters.pools.default.autoscaling";
    let e = error_for(with(
        "/spec/parameters/pools/default/autoscaling",
        Value::Null,
    ));
    assert_eq!(at(&e), (pool, "is missing"));
    let e = error_for(with(
        "/spec/parameters/pools/default/autoscaling",
        json!({"minNodeCount": 3}),
    ));
    assert_eq!(at(&e), (&*format!("{pool}.maxNodeCount"), "is missing"));
    let e = error_for(with(
        "/spec/parameters/pools/default/autoscaling",
        json!({"minNodeCount": 5, "maxNodeCount": 2}),
    ));
    assert_eq!(
        at(&e),
        (
            &*format!("{pool}.minNodeCount"),
            "is 5, greater than maxNodeCount 2"
        )
    );
    assert_eq!(e.expected, "expected min <= max");
    let e = error_for(with(
        "/spec/parameters/pools/default/autoscaling",
        json!({"minNodeCount": -1, "maxNodeCount": 2}),
    ));
    assert_eq!(at(&e), (&*format!("{pool}.minNodeCount"), "is -1"));
    assert!(e.expected.starts_with("expected a whole number"), "{e}");
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
    let domain = "spec.parameters.domain";
    let long = format!("{}.example.com", vec!["a".repeat(60); 5].join("."));
    let e = error_for(with("/spec/parameters/domain", json!(long)));
    assert_eq!(at(&e), (domain, "is 316 characters long"));
    assert!(e.expected.starts_with("expected a DNS name"), "{e}");
    let e = error_for(with(
        "/spec/parameters/domain",
        json!("{{ 7*7 }}.example.com"),
    ));
    assert_eq!(at(&e), (domain, "is \"{{ 7*7 }}.example.com\""));
    assert!(
        e.expected
            .starts_with("its label \"{{ 7*7 }}\" is not valid"),
        "{e}"
    );
    let label = "a".repeat(64);
    let e = error_for(with(
        "/spec/parameters/domain",
        json!(format!("{label}.example.com")),
    ));
    assert!(e.expected.contains("labels of 1 to 63"), "{e}");
    for bad in [
        "-prod.example.com",
        "prod..example.com",
        "localhost",
        "prod_x.example.com",
    ] {
        let e = error_for(with("/spec/parameters/domain", json!(bad)));
        assert_eq!(at(&e), (domain, &*format!("is {bad:?}")));
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
        let e = error_for(xr);
        assert_eq!(
            at(&e),
            (
                "spec.parameters.pools",
                &*format!("has the pool name {name:?}, which {cloud} does not take")
            )
        );
        assert!(e.expected.contains(rule), "{cloud} {name}: {e}");
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
