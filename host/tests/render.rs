//! `render` through the CLI binary: the YAML stream it prints, the legacy
//! environment, claims, requirements, a Development-runtime step, and the
//! fatal path.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde::Deserialize;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_function-cluster-platform");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn render(modules: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(workspace_root())
        .arg("render")
        .args(args)
        .arg("--modules-dir")
        .arg(modules)
        .output()
        .unwrap()
}

fn documents(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap())
        .collect()
}

/// The composition resource names of composed documents, in order.
fn resource_names(composed: &[Value]) -> Vec<&str> {
    composed
        .iter()
        .map(|d| {
            d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
                .as_str()
                .unwrap()
        })
        .collect()
}

fn kinds(docs: &[Value]) -> Vec<String> {
    docs.iter()
        .map(|d| d["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_claim_renders_as_its_composite_with_crossplane_metadata() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let out = render(
        modules.path(),
        &[
            "examples/gcp/claim.yaml",
            "apis/legacy/composition.yaml",
            "examples/functions.yaml",
            "-e",
            "examples/envconfigs",
        ],
    );
    let docs = documents(&out);
    let xr = &docs[0];
    assert_eq!(xr["kind"], "XCluster", "the claim became its composite");
    assert_eq!(xr["status"]["conditions"][0]["type"], "Ready");

    let composed = &docs[1..];
    assert!(
        composed.len() > 5,
        "a whole platform, got {:?}",
        kinds(&docs)
    );
    let names = resource_names(composed);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        names, sorted,
        "composed resources are sorted by resource name"
    );
    for doc in composed {
        let metadata = &doc["metadata"];
        // Crossplane names a resource unless the module did (ProviderConfigs
        // are named so releases can refer to them).
        assert!(
            metadata["generateName"] == "prod-cluster-" || metadata["name"].is_string(),
            "{metadata}"
        );
        assert_eq!(
            metadata["labels"]["crossplane.io/composite"],
            "prod-cluster"
        );
        assert_eq!(
            metadata["labels"]["crossplane.io/claim-name"],
            "prod-cluster"
        );
        assert_eq!(
            metadata["labels"]["crossplane.io/claim-namespace"],
            "default"
        );
        assert_eq!(metadata["ownerReferences"][0]["kind"], "XCluster");
        assert_eq!(metadata["ownerReferences"][0]["controller"], true);
    }
    assert!(kinds(&docs).contains(&"Cluster".to_string()));
}

#[test]
fn the_legacy_environment_section_selects_and_merges_environment_configs() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let composition = fixture("legacy-composition.yaml");
    let out = render(
        modules.path(),
        &[
            "examples/gcp/claim.yaml",
            composition.to_str().unwrap(),
            "examples/functions.yaml",
            "--xrd",
            "apis/legacy/definition.yaml",
            "-e",
            "examples/envconfigs",
            "-c",
        ],
    );
    let docs = documents(&out);
    let context = docs.last().unwrap();
    assert_eq!(context["kind"], "Context");
    let env = &context["fields"]["apiextensions.crossplane.io/environment"];
    assert_eq!(env["kind"], "Environment");
    // baseline, then cloud.gcp, then planetype.production: later wins.
    let defaults = docs_from(&workspace_root().join("examples/envconfigs"));
    let production = defaults
        .iter()
        .find(|d| d["metadata"]["labels"]["planeType"] == "production")
        .unwrap();
    for (key, value) in production["data"].as_object().unwrap() {
        if value.is_object() {
            for (inner, v) in value.as_object().unwrap() {
                assert_eq!(&env[key][inner], v, "{key}.{inner}");
            }
        } else {
            assert_eq!(&env[key], value, "{key}");
        }
    }
}

fn docs_from(dir: &Path) -> Vec<Value> {
    fnhost::render::docs::read(dir).unwrap()
}

#[test]
fn results_are_printed_with_r_and_the_requirements_loop_answers_the_module() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    // Without -e the module's EnvironmentConfig requirements find nothing,
    // and it still renders from its defaults; with -e they are answered.
    let with = documents(&render(
        modules.path(),
        &[
            "examples/aws/claim.yaml",
            "apis/legacy/composition.yaml",
            "examples/functions.yaml",
            "-e",
            "examples/envconfigs",
            "-r",
        ],
    ));
    assert!(kinds(&with).iter().any(|k| k == "Cluster"));
    for result in with.iter().filter(|d| d["kind"] == "Result") {
        assert_eq!(result["apiVersion"], "render.crossplane.io/v1beta1");
        assert_eq!(result["step"], "cluster-platform");
    }
}

#[test]
fn a_development_runtime_step_is_called_over_grpc() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let remote_modules = modules_dir(&[HOSTILE_WASM]);
    let port = free_port();
    let mut remote = Command::new(BIN)
        .args([
            "--insecure",
            "--metrics-address=",
            "--address",
            &format!("127.0.0.1:{port}"),
            "--modules-dir",
        ])
        .arg(remote_modules.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let functions = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        functions.path(),
        format!(
            "{}---\napiVersion: pkg.crossplane.io/v1\nkind: Function\nmetadata:\n  name: function-remote\n  annotations:\n    render.crossplane.io/runtime: Development\n    render.crossplane.io/runtime-development-target: 127.0.0.1:{port}\nspec:\n  package: example.org/function-remote:v0\n",
            std::fs::read_to_string(workspace_root().join("examples/functions.yaml")).unwrap()
        ),
    )
    .unwrap();
    // The remote host may still be starting: retry briefly.
    let composition = fixture("two-step-composition.yaml");
    let mut out = None;
    for _ in 0..100 {
        let attempt = render(
            modules.path(),
            &[
                "examples/gcp/claim.yaml",
                composition.to_str().unwrap(),
                functions.path().to_str().unwrap(),
                "--xrd",
                "apis/legacy/definition.yaml",
                "-e",
                "examples/envconfigs",
            ],
        );
        if attempt.status.success() {
            out = Some(attempt);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = remote.kill();
    let _ = remote.wait();
    let docs = documents(&out.expect("render with a Development step never succeeded"));
    let names = resource_names(&docs[1..]);
    assert!(
        names.contains(&"hello"),
        "the remote step's resource is missing: {names:?}"
    );
    assert!(
        names.contains(&"cluster"),
        "the in-process step's resources were not carried forward: {names:?}"
    );
}

#[test]
fn a_fatal_result_prints_its_message_and_exits_non_zero() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let claim = tempfile::NamedTempFile::new().unwrap();
    let mut text =
        std::fs::read_to_string(workspace_root().join("examples/gcp/claim.yaml")).unwrap();
    text = text.replace("cloud: gcp", "cloud: oracle");
    std::fs::write(claim.path(), text).unwrap();
    let out = render(
        modules.path(),
        &[
            claim.path().to_str().unwrap(),
            "apis/legacy/composition.yaml",
            "examples/functions.yaml",
            "-e",
            "examples/envconfigs",
        ],
    );
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "nothing is printed on a fatal result"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pipeline step \"cluster-platform\" returned a fatal result"),
        "{stderr}"
    );
    assert!(stderr.contains("oracle"), "{stderr}");
}

#[test]
fn a_step_render_cannot_run_says_how_to_make_it_runnable() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let functions = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        functions.path(),
        "apiVersion: pkg.crossplane.io/v1\nkind: Function\nmetadata:\n  name: function-cluster-platform-other\nspec:\n  package: example.org/other:v1\n",
    )
    .unwrap();
    let composition = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        composition.path(),
        std::fs::read_to_string(workspace_root().join("apis/legacy/composition.yaml"))
            .unwrap()
            .replace(
                "name: function-cluster-platform",
                "name: function-cluster-platform-other",
            ),
    )
    .unwrap();
    let out = render(
        modules.path(),
        &[
            "examples/gcp/claim.yaml",
            composition.path().to_str().unwrap(),
            functions.path().to_str().unwrap(),
            "--xrd",
            "apis/legacy/definition.yaml",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("render.crossplane.io/runtime: Development"),
        "{stderr}"
    );
}

/// The printed stream for each example, from the all-in-one module and
/// from the cloud's own module, matches its golden file
/// (`UPDATE_GOLDEN=1` rewrites them after an intended change): the legacy
/// claim (`<cloud>.yaml`) and the namespaced composite
/// (`<cloud>-namespaced.yaml`), on the first call and once the cluster is
/// up (`…-cluster-up.yaml`, with `-o examples/<cloud>/observed`: the module
/// reads observed resources by their composition resource name, so the
/// same observations serve both forms).
#[test]
fn each_example_renders_its_golden_stream() {
    let all_in_one = modules_dir(&[CLUSTER_WASM]);
    // Each cloud's own module alone renders exactly the same stream.
    let per_cloud =
        ["gcp", "aws", "azure"].map(|cloud| (cloud, modules_dir(&[&cloud_wasm(cloud)])));
    let forms = [
        ("claim.yaml", "apis/legacy/composition.yaml", ""),
        (
            "cluster.yaml",
            "apis/namespaced/composition.yaml",
            "-namespaced",
        ),
    ];
    for ((cloud, stage), (example, composition, form)) in ["gcp", "aws", "azure"]
        .into_iter()
        .flat_map(|c| [(c, None), (c, Some("-cluster-up"))])
        .flat_map(|case| forms.map(|form| (case, form)))
    {
        let xr = format!("examples/{cloud}/{example}");
        let observed = format!("examples/{cloud}/observed");
        let mut args = vec![
            xr.as_str(),
            composition,
            "examples/functions.yaml",
            "-e",
            "examples/envconfigs",
            "-r",
        ];
        if stage.is_some() {
            args.extend(["-o", observed.as_str()]);
        }
        let out = render(all_in_one.path(), &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8(out.stdout).unwrap();
        let own = &per_cloud.iter().find(|(c, _)| *c == cloud).unwrap().1;
        let by_own = render(own.path(), &args);
        assert_eq!(
            String::from_utf8_lossy(&by_own.stdout),
            printed,
            "{cloud}{form}: cluster_{cloud}.wasm renders another stream than cluster_all.wasm: {}",
            String::from_utf8_lossy(&by_own.stderr)
        );
        let stage = stage.unwrap_or_default();
        let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/golden/{cloud}{form}{stage}.yaml"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&golden, &printed).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap();
        if printed != expected {
            let line = printed
                .lines()
                .zip(expected.lines())
                .position(|(a, b)| a != b)
                .map_or_else(|| "the length".to_string(), |n| format!("line {}", n + 1));
            panic!(
                "{cloud}: the rendered stream differs from {} at {line}; if the change is intended, rerun with UPDATE_GOLDEN=1",
                golden.display()
            );
        }
    }
}

/// `-o`, `-x`, `--context-values`, `-c`, `--function-credentials` and the
/// older `--extra-resources` spelling, together.
#[test]
fn observed_resources_full_xr_context_and_credentials_render() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let composition = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        composition.path(),
        std::fs::read_to_string(workspace_root().join("apis/legacy/composition.yaml")).unwrap().replace(
            "      input:\n",
            "      credentials:\n        - name: gcp\n          source: Secret\n          secretRef: {namespace: crossplane-system, name: gcp-creds}\n      input:\n",
        ),
    )
    .unwrap();
    let observed = workspace_root().join("examples/gcp/observed");
    let credentials = fixture("credentials.yaml");
    let args = [
        "examples/gcp/claim.yaml",
        composition.path().to_str().unwrap(),
        "examples/functions.yaml",
        "--xrd",
        "apis/legacy/definition.yaml",
        "--extra-resources",
        "examples/envconfigs",
        "-o",
        observed.to_str().unwrap(),
        "-x",
        "-c",
        "--context-values",
        "example.org/note={\"from\": \"render\"}",
        "--function-credentials",
        credentials.to_str().unwrap(),
    ];
    let docs = documents(&render(modules.path(), &args));
    let xr = &docs[0];
    assert_eq!(
        xr["status"]["clusterEndpoint"], "https://34.1.2.3",
        "status from the observed cluster"
    );
    assert_eq!(
        xr["spec"]["parameters"]["domain"], "prod.example.com",
        "-x prints the spec"
    );
    let cluster = docs[1..]
        .iter()
        .find(|d| {
            d["metadata"]["annotations"]["crossplane.io/composition-resource-name"] == "cluster"
        })
        .unwrap();
    assert_eq!(
        cluster["metadata"]["name"], "prod-cluster-abc12",
        "an observed resource keeps its name"
    );
    assert_eq!(cluster["metadata"]["generateName"], Value::Null);
    // With the cluster observed ready, the charts are released.
    let releases = docs.iter().filter(|d| d["kind"] == "Release").count();
    assert_eq!(releases, 3);
    let context = docs.last().unwrap();
    assert_eq!(context["fields"]["example.org/note"]["from"], "render");

    // A step's credentials must be given.
    let without = render(modules.path(), &args[..args.len() - 2]);
    assert!(!without.status.success());
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert!(stderr.contains("--function-credentials"), "{stderr}");
}
