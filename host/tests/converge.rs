//! `converge` through the CLI binary: every example reaches a Ready
//! composite round by round, and what cannot converge says why.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde::Deserialize;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_function-cluster-platform");

fn converge(modules: &Path, claim: &Path, extra: &[&str]) -> Output {
    converge_through(modules, claim, "apis/legacy/composition.yaml", extra)
}

fn converge_through(modules: &Path, xr: &Path, composition: &str, extra: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(workspace_root())
        .arg("converge")
        .arg(xr)
        .arg(composition)
        .args([
            "examples/functions.yaml",
            "-e",
            "examples/envconfigs",
            "--modules-dir",
        ])
        .arg(modules)
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The claim of `example` with `edit` applied, written to `dir`.
fn claim_with(dir: &Path, example: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let path = workspace_root()
        .join("examples")
        .join(example)
        .join("claim.yaml");
    let mut claim: Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut claim);
    let out = dir.join(format!("{example}-claim.yaml"));
    std::fs::write(&out, serde_yaml::to_string(&claim).unwrap()).unwrap();
    out
}

/// The composite of a converged stream, which must be Ready.
fn ready_composite(out: &Output) -> Value {
    assert!(out.status.success(), "converge failed:\n{}", stderr(out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap())
        .collect();
    let xr = docs[0].clone();
    let ready = xr["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    assert_eq!(ready["status"], "True", "{xr}");
    assert!(stderr(out).contains("converged after"), "{}", stderr(out));
    xr
}

#[test]
fn every_example_converges_to_a_ready_composite_with_its_status() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let dir = tempfile::tempdir().unwrap();
    for cloud in ["gcp", "aws", "azure"] {
        for plane in ["production", "development"] {
            let claim = claim_with(dir.path(), cloud, |c| {
                c["metadata"]["labels"]["planeType"] = json!(plane);
            });
            let out = converge(modules.path(), &claim, &[]);
            let xr = ready_composite(&out);
            let status = &xr["status"];
            assert!(
                status["clusterEndpoint"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("https://")),
                "{cloud} {plane}: {status}"
            );
            assert!(
                status["kubeconfigSecretRef"].is_object() || cloud == "aws",
                "{cloud}: {status}"
            );
            let log = stderr(&out);
            // Releases go out only once a node pool is ready: no install fails.
            assert!(!log.contains("failed:"), "{cloud} {plane}:\n{log}");
            assert!(log.contains("helm-cert-manager"), "{cloud} {plane}:\n{log}");
        }
    }
}

/// The namespaced composite converges like the claim, with everything it
/// composes in its namespace and its kubeconfig in its own Secret.
#[test]
fn every_namespaced_example_converges_in_its_namespace() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    for cloud in ["gcp", "aws", "azure"] {
        let xr = workspace_root().join(format!("examples/{cloud}/cluster.yaml"));
        let out = converge_through(modules.path(), &xr, "apis/namespaced/composition.yaml", &[]);
        let status = &ready_composite(&out)["status"];
        assert!(status["clusterEndpoint"].is_string(), "{cloud}: {status}");
        let text = String::from_utf8(out.stdout.clone()).unwrap();
        let composed: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
            .map(|d| Value::deserialize(d).unwrap())
            .skip(1)
            .filter(|d| d["kind"] != "Result")
            .collect();
        assert!(composed.len() > 60, "{cloud}: {}", composed.len());
        for r in &composed {
            assert_eq!(r["metadata"]["namespace"], "team-a", "{cloud}: {r}");
            assert_ne!(r["kind"], "ClusterUsage", "{cloud}");
        }
        let secret = composed
            .iter()
            .find(|r| r["kind"] == "Secret")
            .unwrap_or_else(|| panic!("{cloud}: no connection Secret"));
        assert_eq!(secret["metadata"]["name"], "prod-cluster-connection");
        assert!(
            secret["data"]["kubeconfig"].is_string(),
            "{cloud}: {secret}"
        );
        assert!(secret["data"]["endpoint"].is_string(), "{cloud}: {secret}");
    }
}

#[test]
fn the_import_example_converges_in_both_modes() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let dir = tempfile::tempdir().unwrap();
    let observe = workspace_root().join("examples/import/claim.yaml");
    ready_composite(&converge(modules.path(), &observe, &[]));
    let manage = claim_with(dir.path(), "import", |c| {
        c["spec"]["parameters"]["import"]["mode"] = json!("manage");
    });
    let out = converge(modules.path(), &manage, &[]);
    ready_composite(&out);
    // An observed-only resource resolves nothing, so a selector of it
    // naming what was not imported is no problem.
    let only_cluster = claim_with(dir.path(), "import", |c| {
        c["spec"]["parameters"]["import"]["resources"] = json!({"cluster": "legacy-gke"});
    });
    ready_composite(&converge(modules.path(), &only_cluster, &[]));
}

#[test]
fn the_rounds_show_what_waits_for_what() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let out = converge(
        modules.path(),
        &workspace_root().join("examples/gcp/claim.yaml"),
        &[],
    );
    ready_composite(&out);
    let log = stderr(&out);
    assert!(log.starts_with("round 1:\n  created "), "{log}");
    assert!(log.contains("  waiting: cluster for "), "{log}");
    assert!(
        log.contains("  waiting: nodepool-default for cluster"),
        "{log}"
    );
}

#[test]
fn a_selector_that_matches_nothing_stops_converge() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let dir = tempfile::tempdir().unwrap();
    let claim = claim_with(dir.path(), "gcp", |c| {
        c["spec"]["parameters"]["templates"] = json!({"nodepool-default": {"spec": {"forProvider": {
            "clusterSelector": {"matchLabels": {"myplatform.io/resource": "no-such-cluster"}}
        }}}});
    });
    let out = converge(modules.path(), &claim, &[]);
    assert!(!out.status.success());
    let log = stderr(&out);
    assert!(
        log.contains(
            "error: nodepool-default: spec.forProvider.clusterSelector resolves to nothing"
        ),
        "{log}"
    );
}

#[test]
fn a_platform_that_needs_more_rounds_than_allowed_fails() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let out = converge(
        modules.path(),
        &workspace_root().join("examples/aws/claim.yaml"),
        &["--max-rounds", "3"],
    );
    assert!(!out.status.success());
    let log = stderr(&out);
    assert!(log.contains("did not converge within 3 rounds"), "{log}");
    assert!(log.contains("round 3:"), "{log}");
}
