//! `examples/runtime/fleet.yaml`, the DeploymentRuntimeConfig of a fleet,
//! speaks the host's language: every variable it sets is one the host
//! reads, every file it points a variable at is mounted, and its probes hit
//! the host's probe paths on the probe port.

mod common;

use std::collections::BTreeSet;

use clap::CommandFactory;
use fnhost::render::docs;
use serde_json::Value;

fn fleet() -> Vec<Value> {
    docs::read(&common::examples().join("runtime/fleet.yaml")).unwrap()
}

#[test]
fn the_fleet_runtime_config_sets_only_what_the_host_reads() {
    let docs = fleet();
    let config = docs
        .iter()
        .find(|d| d["kind"] == "DeploymentRuntimeConfig")
        .unwrap();
    let function = docs.iter().find(|d| d["kind"] == "Function").unwrap();
    assert_eq!(
        function["spec"]["runtimeConfigRef"]["name"],
        config["metadata"]["name"]
    );
    let pod = &config["spec"]["deploymentTemplate"]["spec"]["template"]["spec"];
    let container = pod["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "package-runtime")
        .expect("Crossplane merges only the container named package-runtime");

    let command = fnhost::cli::Cli::command();
    let read: BTreeSet<String> = command
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().to_string())
        .collect();
    let mounts: Vec<&str> = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    for variable in container["env"].as_array().unwrap() {
        let name = variable["name"].as_str().unwrap();
        assert!(read.contains(name), "the host does not read {name}");
        let value = variable["value"].as_str().unwrap();
        if value.starts_with('/') {
            assert!(
                mounts.iter().any(|m| value.starts_with(&format!("{m}/"))),
                "{name}={value} is on no mounted volume"
            );
        }
    }

    let default_probes = command
        .get_arguments()
        .find(|a| a.get_id() == "probe_address")
        .unwrap()
        .get_default_values()[0]
        .to_string_lossy()
        .to_string();
    let port = container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "probes")
        .unwrap();
    assert_eq!(
        default_probes,
        format!("0.0.0.0:{}", port["containerPort"]),
        "the probe port is not where the host serves its probes"
    );
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/livez");
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(container[probe]["httpGet"]["port"], "probes");
    }
}
