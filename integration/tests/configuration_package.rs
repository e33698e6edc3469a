//! The Configuration package: `make configuration` stages its root, which
//! must pass the checks Crossplane's Configuration linter makes (one
//! Configuration meta, only XRDs, Compositions and activation policies,
//! valid version constraints), validate against Crossplane's CRDs, and
//! depend on exactly the providers whose kinds it activates.

use test_support::schema;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use fnhost::render::docs;
use platform_integration::root;
use serde_json::Value;

/// A Masterminds constraint (`>=v2.6.0, <v4.0.0`) as a Rust requirement.
fn constraint(text: &str) -> semver::VersionReq {
    semver::VersionReq::parse(&text.replace('v', ""))
        .unwrap_or_else(|e| panic!("{text:?} is not a version constraint: {e}"))
}

/// Every YAML document under the staged package root.
fn staged(dir: &Path) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "yaml") {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                for doc in docs::read(&path).unwrap() {
                    out.push((name.clone(), doc));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The provider package serving an activated kind's group:
/// `<service>.<cloud>[.m].upbound.io` is `provider-<cloud>-<service>`, the
/// bare `<cloud>.upbound.io` the family's own, `helm` and `kubernetes`
/// the contrib providers.
fn provider_of(group: &str) -> String {
    let group = group.replacen(".m.", ".", 1);
    let parts: Vec<&str> = group.split('.').collect();
    let name = match parts.as_slice() {
        [service, cloud, "upbound", "io"] => format!("provider-{cloud}-{service}"),
        [cloud, "upbound", "io"] => format!("provider-family-{cloud}"),
        [provider, "crossplane", "io"] => format!("provider-{provider}"),
        _ => panic!("no provider known for group {group}"),
    };
    format!("xpkg.crossplane.io/crossplane-contrib/{name}")
}

#[test]
fn the_staged_configuration_passes_the_package_checks() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("configuration");
    let make = Command::new("make")
        .current_dir(root())
        .args(["-s", "configuration"])
        .arg(format!("CONFIGURATION={}", target.display()))
        .output()
        .expect("make runs");
    assert!(
        make.status.success(),
        "{}",
        String::from_utf8_lossy(&make.stderr)
    );
    let objects = staged(&target);

    // One meta, and it is a Configuration with valid constraints.
    let metas: Vec<&Value> = objects
        .iter()
        .map(|(_, o)| o)
        .filter(|o| {
            o["apiVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with("meta.pkg.crossplane.io/"))
        })
        .collect();
    assert_eq!(metas.len(), 1, "not exactly one package meta");
    let meta = metas[0];
    assert_eq!(meta["apiVersion"], "meta.pkg.crossplane.io/v1");
    assert_eq!(meta["kind"], "Configuration");
    let crossplane = constraint(meta["spec"]["crossplane"]["version"].as_str().unwrap());
    // A Configuration may carry an activation policy from Crossplane v2.0.3.
    assert!(!crossplane.matches(&semver::Version::new(2, 0, 2)));
    assert!(crossplane.matches(&semver::Version::new(2, 0, 3)));

    // Only the kinds a Configuration may hold, each valid for Crossplane.
    let allowed = [
        (
            "apiextensions.crossplane.io/v1",
            "CompositeResourceDefinition",
        ),
        (
            "apiextensions.crossplane.io/v2",
            "CompositeResourceDefinition",
        ),
        ("apiextensions.crossplane.io/v1", "Composition"),
        (
            "apiextensions.crossplane.io/v1alpha1",
            "ManagedResourceActivationPolicy",
        ),
    ];
    let crds_dir = schema::crds_dir();
    let crds = crds_dir
        .is_dir()
        .then(|| schema::Crds::load(&crds_dir).unwrap());
    if crds.is_none() {
        eprintln!(
            "SKIPPING the CRD validation of the package: {} does not exist (set CRDS_DIR)",
            crds_dir.display()
        );
    }
    let mut kinds = Vec::new();
    for (file, object) in objects.iter().filter(|(_, o)| !std::ptr::eq(o, meta)) {
        let gvk = (
            object["apiVersion"].as_str().unwrap_or_default(),
            object["kind"].as_str().unwrap_or_default(),
        );
        assert!(
            allowed.contains(&gvk),
            "{file}: {gvk:?} is not allowed in a Configuration"
        );
        kinds.push(gvk.1);
        if let Some(crds) = &crds {
            let errors = crds.validate(object);
            assert!(errors.is_empty(), "{file}: {errors:?}");
        }
    }
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "CompositeResourceDefinition",
            "CompositeResourceDefinition",
            "Composition",
            "Composition",
            "ManagedResourceActivationPolicy"
        ]
    );

    // It depends on the function at this version, and on exactly the
    // providers of the kinds it activates.
    let depends = meta["spec"]["dependsOn"].as_array().unwrap();
    let function = depends.iter().find(|d| d["kind"] == "Function").unwrap();
    let functions = &docs::read(&root().join("examples/functions.yaml")).unwrap()[0];
    let image = functions["spec"]["package"].as_str().unwrap();
    assert_eq!(
        Some(function["package"].as_str().unwrap()),
        image.rsplit_once(':').map(|(repo, _)| repo)
    );
    let ours = semver::Version::parse(env!("CARGO_PKG_VERSION")).unwrap();
    assert!(constraint(function["version"].as_str().unwrap()).matches(&ours));
    let mut providers = BTreeSet::new();
    for dependency in depends {
        assert_eq!(dependency["apiVersion"], "pkg.crossplane.io/v1");
        constraint(dependency["version"].as_str().unwrap());
        if dependency["kind"] == "Provider" {
            providers.insert(dependency["package"].as_str().unwrap().to_string());
        }
    }
    let policy = objects
        .iter()
        .find(|(_, o)| o["kind"] == "ManagedResourceActivationPolicy")
        .map(|(_, o)| o)
        .unwrap();
    let needed: BTreeSet<String> = policy["spec"]["activate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| {
            let name = name.as_str().unwrap();
            provider_of(name.split_once('.').map_or("", |(_, group)| group))
        })
        .collect();
    assert_eq!(providers, needed);
}
