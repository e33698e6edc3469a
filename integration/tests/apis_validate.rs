//! The project's YAML (XRD, Composition, EnvironmentConfigs, Functions)
//! validates against Crossplane's own CRDs, each example claim against the
//! XRD's schema, and the Composition's step input against the package's
//! Input CRD.

use test_support::schema;

use std::path::Path;

use fnhost::render::docs;
use platform_integration::root;
use serde_json::{Value, json};

fn read(path: &str) -> Vec<Value> {
    docs::read(&root().join(path)).unwrap_or_else(|e| panic!("{path}: {e:#}"))
}

/// The served version's openAPIV3Schema of a CRD-like document.
fn version_schema(definition: &Value, version: &str) -> Value {
    definition["spec"]["versions"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["name"] == version))
        .map(|v| v["schema"]["openAPIV3Schema"].clone())
        .unwrap_or_else(|| panic!("no version {version}"))
}

#[test]
fn apis_and_examples_validate_against_crossplane_crds() {
    let dir = schema::crds_dir();
    if !dir.is_dir() {
        eprintln!(
            "SKIPPING: the CRD directory {} does not exist (set CRDS_DIR)",
            dir.display()
        );
        return;
    }
    let crds = schema::Crds::load(&dir).unwrap();
    let mut errors = Vec::new();
    let mut checked = 0;
    for path in [
        "apis/legacy/definition.yaml",
        "apis/legacy/composition.yaml",
        "apis/namespaced/definition.yaml",
        "apis/namespaced/composition.yaml",
        "examples/envconfigs",
        "examples/functions.yaml",
    ] {
        for doc in read(path) {
            checked += 1;
            errors.extend(
                crds.validate(&doc)
                    .into_iter()
                    .map(|e| format!("{path}: {e}")),
            );
        }
    }
    assert_eq!(
        checked, 11,
        "expected two XRDs, two Compositions, 6 EnvironmentConfigs, 1 Function"
    );
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn example_claims_validate_against_the_xrd_schema() {
    let xrd = &read("apis/legacy/definition.yaml")[0];
    let schema = version_schema(xrd, "v1alpha1");
    let mut errors = Vec::new();
    for cloud in ["gcp", "aws", "azure", "import"] {
        let claim = &read(&format!("examples/{cloud}/claim.yaml"))[0];
        assert_eq!(claim["kind"], xrd["spec"]["claimNames"]["kind"]);
        schema::validate(&schema, &json!({"spec": claim["spec"]}), cloud, &mut errors);
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));

    let xrd = &read("apis/namespaced/definition.yaml")[0];
    let schema = version_schema(xrd, "v1alpha1");
    for cloud in ["gcp", "aws", "azure"] {
        let xr = &read(&format!("examples/{cloud}/cluster.yaml"))[0];
        assert_eq!(xr["kind"], xrd["spec"]["names"]["kind"]);
        assert_eq!(
            xr["apiVersion"],
            format!("{}/v1alpha1", xrd["spec"]["group"].as_str().unwrap())
        );
        assert!(xr["metadata"]["namespace"].is_string(), "{cloud}");
        schema::validate(&schema, &json!({"spec": xr["spec"]}), cloud, &mut errors);
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));

    // The validator does catch a claim the XRD refuses.
    let mut bad = read("examples/gcp/claim.yaml")[0].clone();
    bad["spec"]["parameters"]["import"] = json!({"enabled": true, "mode": "adopt"});
    bad["spec"]["parameters"]["pools"]["default"]["autoscaling"] = json!({"minNodeCount": 1});
    let mut caught = Vec::new();
    schema::validate(&schema, &json!({"spec": bad["spec"]}), "bad", &mut caught);
    assert!(caught.iter().any(|e| e.contains("adopt")), "{caught:?}");
    assert!(
        caught.iter().any(|e| e.contains("maxNodeCount")),
        "{caught:?}"
    );
}

/// The namespaced XRD offers what the legacy one does: the same
/// parameters and status, so neither form lags the other.
#[test]
fn both_xrds_declare_the_same_parameters_and_status() {
    let legacy = &read("apis/legacy/definition.yaml")[0];
    let namespaced = &read("apis/namespaced/definition.yaml")[0];
    assert_eq!(legacy["apiVersion"], "apiextensions.crossplane.io/v1");
    assert_eq!(namespaced["apiVersion"], "apiextensions.crossplane.io/v2");
    assert_eq!(namespaced["spec"]["scope"], "Namespaced");
    assert_eq!(namespaced["spec"].get("claimNames"), None);
    assert_eq!(legacy["spec"]["versions"], namespaced["spec"]["versions"]);
    // Each Composition serves its own XRD with the same pipeline.
    for form in ["legacy", "namespaced"] {
        let xrd = &read(&format!("apis/{form}/definition.yaml"))[0];
        let composition = &read(&format!("apis/{form}/composition.yaml"))[0];
        let group = xrd["spec"]["group"].as_str().unwrap();
        assert_eq!(
            composition["spec"]["compositeTypeRef"],
            json!({"apiVersion": format!("{group}/v1alpha1"), "kind": xrd["spec"]["names"]["kind"]}),
            "{form}"
        );
        assert_eq!(
            composition["spec"]["pipeline"],
            read("apis/legacy/composition.yaml")[0]["spec"]["pipeline"]
        );
    }
}

#[test]
fn the_composition_step_input_validates_against_the_package_input_crd() {
    let input_crd = &read("package/input/myplatform.io_inputs.yaml")[0];
    let schema = version_schema(input_crd, "v1alpha1");
    let composition = &read("apis/legacy/composition.yaml")[0];
    let mut errors = Vec::new();
    for step in composition["spec"]["pipeline"].as_array().unwrap() {
        schema::validate(&schema, &step["input"], "input", &mut errors);
        assert_eq!(step["input"]["kind"], input_crd["spec"]["names"]["kind"]);
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));

    // The function runs the legacy form on Crossplane 1.19 and later: it
    // serves EnvironmentConfig v1beta1 (1.18) and the v1beta1 Usage (1.19).
    let meta = &read("package/crossplane.yaml")[0];
    assert_eq!(meta["spec"]["crossplane"]["version"], ">=v1.19.0");
    assert!(Path::new(&root().join("package/configuration/crossplane.yaml")).exists());
}
