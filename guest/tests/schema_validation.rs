//! Every composed resource of every golden case validates against its
//! provider CRD, including the CEL rules marking `forProvider` fields
//! required.

use cluster_platform::testing as common;
use test_support::schema;

use std::collections::BTreeSet;

use cluster_platform::log::Log;
use cluster_platform::platform::run;
use cluster_platform::protocol::Request;
use serde_json::json;

use schema::{Crds, cel, crds_dir};

fn crds() -> Option<Crds> {
    schema::load_or_skip("schema validation")
}

#[test]
fn every_composed_resource_of_every_case_is_schema_valid() {
    let Some(crds) = crds() else { return };
    assert!(
        crds.len() > 50,
        "expected the provider CRDs, found {}",
        crds.len()
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    for (case, xr) in common::cases() {
        let rsp = common::render(xr);
        for (name, resource) in &rsp.desired.resources {
            checked += 1;
            for error in crds.validate(&resource.body) {
                failures.push(format!("{case} / {name}: {error}"));
            }
        }
    }
    assert!(checked > 300, "only {checked} resources checked");
    assert!(
        failures.is_empty(),
        "{} schema errors:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Previous provider majors in the supported matrix (the README's
/// compatibility table). provider-upjet-aws v1 (Route53 zones need a
/// region) and provider-upjet-azure v1 (azurerm 3's `enableAutoScaling`)
/// take fields the current majors refuse, so they are not.
const SUPPORTED_PREVIOUS: &[&str] = &["provider-gcp-v2.6.0"];

/// Every composed kind a supported previous major has (`crds/previous/`)
/// must validate against it, at a version it serves.
#[test]
fn every_case_is_schema_valid_on_the_supported_previous_provider_majors() {
    let dir = crds_dir().join("previous");
    if !dir.is_dir() {
        eprintln!(
            "SKIPPING previous-major validation: {} does not exist",
            dir.display()
        );
        return;
    }
    let families: Vec<Crds> = SUPPORTED_PREVIOUS
        .iter()
        .map(|family| {
            Crds::load(&dir.join(family)).unwrap_or_else(|e| panic!("cannot load CRDs: {e}"))
        })
        .collect();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (case, xr) in common::cases() {
        let rsp = common::render(xr);
        for (name, resource) in &rsp.desired.resources {
            let api_version = resource.body["apiVersion"].as_str().unwrap_or_default();
            let kind = resource.body["kind"].as_str().unwrap_or_default();
            for crds in families.iter().filter(|c| c.has_kind(api_version, kind)) {
                checked += 1;
                for error in crds.validate(&resource.body) {
                    failures.push(format!("{case} / {name}: {error}"));
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} resources checked");
    assert!(
        failures.is_empty(),
        "{} schema errors on the previous majors:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn resources_unlocked_by_observation_are_schema_valid() {
    // Azure's federated credential and role assignment only render once
    // the cluster, identity and zone report their IDs.
    let Some(crds) = crds() else { return };
    let rsp = common::render(common::claim("azure"));
    let mut req = common::request(common::claim("azure"));
    common::observe(
        &mut req,
        "cluster",
        common::resource(&rsp, "cluster"),
        json!({"oidcIssuerUrl": "https://westeurope.oic.prod-aks.azure.com/t/u/", "fqdn": "prod.hcp.westeurope.azmk8s.io"}),
        true,
    );
    common::observe(
        &mut req,
        "identity-cert-manager",
        common::resource(&rsp, "identity-cert-manager"),
        json!({"principalId": "11111111-2222-3333-4444-555555555555", "clientId": "c1"}),
        true,
    );
    common::observe(
        &mut req,
        "public-dns-zone",
        common::resource(&rsp, "public-dns-zone"),
        json!({"id": "/subscriptions/s/resourceGroups/prod-platform-rg/providers/Microsoft.Network/dnsZones/prod.example.com"}),
        true,
    );
    let rsp = common::run_with(req, &common::env_configs());
    for name in [
        "identity-cert-manager-federation",
        "identity-cert-manager-dns",
    ] {
        let errors = crds.validate(common::resource(&rsp, name));
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn the_objects_unlocked_by_running_charts_are_schema_valid() {
    let Some(crds) = crds() else { return };
    for cloud in ["gcp", "aws"] {
        let configs = common::env_configs();
        let up = common::render(common::claim(cloud));
        let mut req = common::cluster_up(common::request(common::claim(cloud)), &configs);
        for name in ["helm-cert-manager", "helm-envoy-gateway"] {
            let release = common::resource(&up, name).clone();
            common::observe(&mut req, name, &release, json!({}), true);
        }
        let rsp = common::run_with(req, &configs);
        for (name, r) in &rsp.desired.resources {
            let errors = crds.validate(&r.body);
            assert!(errors.is_empty(), "{cloud} / {name}: {errors:?}");
        }
        for object in [
            "cluster-issuer",
            "gateway-proxy",
            "gateway-class",
            "gateway",
        ] {
            assert!(
                rsp.desired.resources.contains_key(object),
                "{cloud}: {object}"
            );
        }
    }
}

#[test]
fn example_environment_configs_are_schema_valid() {
    let Some(crds) = crds() else { return };
    for config in common::env_configs() {
        let errors = crds.validate(&config);
        assert!(
            errors.is_empty(),
            "{}: {errors:?}",
            config["metadata"]["name"]
        );
    }
}

#[test]
fn the_validator_catches_what_it_must() {
    let Some(crds) = crds() else { return };
    let good = json!({
        "apiVersion": "eks.aws.upbound.io/v1beta2", "kind": "NodeGroup", "metadata": {},
        "spec": {"forProvider": {"region": "eu-west-1", "scalingConfig": {"minSize": 1, "maxSize": 2}}},
    });
    assert_eq!(crds.validate(&good), Vec::<String>::new());

    let mut unknown = good.clone();
    unknown["spec"]["forProvider"]["nodeCount"] = json!(3);
    assert!(
        crds.validate(&unknown)
            .iter()
            .any(|e| e.contains("nodeCount: unknown field"))
    );

    let mut wrong_type = good.clone();
    wrong_type["spec"]["forProvider"]["scalingConfig"]["minSize"] = json!("1");
    assert!(
        crds.validate(&wrong_type)
            .iter()
            .any(|e| e.contains("expected number"))
    );

    let mut no_region = good.clone();
    no_region["spec"]["forProvider"]
        .as_object_mut()
        .unwrap()
        .remove("region");
    assert!(
        crds.validate(&no_region)
            .iter()
            .any(|e| e.contains("required field region"))
    );

    // CEL: scalingConfig is required when creating...
    let mut cel_missing = good.clone();
    cel_missing["spec"]["forProvider"]
        .as_object_mut()
        .unwrap()
        .remove("scalingConfig");
    assert!(
        crds.validate(&cel_missing)
            .iter()
            .any(|e| e.contains("scalingConfig is a required parameter"))
    );
    // ...may come from initProvider...
    let mut from_init = cel_missing.clone();
    from_init["spec"]["initProvider"] = json!({"scalingConfig": {"desiredSize": 1}});
    assert_eq!(crds.validate(&from_init), Vec::<String>::new());
    // ...and is not required when only observing.
    let mut observe = cel_missing.clone();
    observe["spec"]["managementPolicies"] = json!(["Observe"]);
    assert_eq!(crds.validate(&observe), Vec::<String>::new());

    let mut bad_enum = good.clone();
    bad_enum["spec"]["deletionPolicy"] = json!("Keep");
    assert!(
        crds.validate(&bad_enum)
            .iter()
            .any(|e| e.contains("is not one of"))
    );

    let unknown_kind = json!({"apiVersion": "eks.aws.upbound.io/v9", "kind": "NodeGroup"});
    assert!(crds.validate(&unknown_kind)[0].contains("no served CRD"));
}

#[test]
fn cel_rules_outside_the_subset_fail_loudly() {
    let this = json!({"a": "x"});
    assert!(matches!(
        cel::evaluate("self.a.upperAscii() == 'X'", &this),
        Err(cel::Skip::Unsupported(_))
    ));
    assert!(matches!(
        cel::evaluate("self.a.startsWith('x')", &this),
        Err(cel::Skip::Unsupported(_))
    ));
    // The string methods Crossplane's own CRDs use.
    assert!(cel::evaluate("self.a == self.a.lowerAscii()", &json!({"a": "abc"})).unwrap());
    assert!(!cel::evaluate("self.a == self.a.lowerAscii()", &json!({"a": "Abc"})).unwrap());
    assert!(cel::evaluate(r"self.a.matches('^[a-z]+\\.io$')", &json!({"a": "x.io"})).unwrap());
    assert!(!cel::evaluate(r"self.a.matches('^[a-z]+\\.io$')", &json!({"a": "x_io"})).unwrap());
    // `||` absorbs an absent key when its other side is true, as CEL does.
    assert!(cel::evaluate("!has(self.b) || self.b == self.b.lowerAscii()", &this).unwrap());
    assert!(matches!(
        cel::evaluate("self.b == 'x'", &this),
        Err(cel::Skip::Missing)
    ));
    assert!(matches!(
        cel::evaluate("self == oldSelf", &this),
        Err(cel::Skip::Transition)
    ));
    assert!(
        cel::evaluate(
            "has(self.a) && !has(self.b) && size(self.a) > 0 && self.a != 'y'",
            &this
        )
        .unwrap()
    );
    assert!(cel::evaluate("'x' in self.l || has(self.a)", &json!({"a": 1, "l": ["y"]})).unwrap());
    // The size of an absent field, absorbed by `||` (provider-kubernetes's
    // readiness rule).
    let rule = "self.p != 'Q' || (self.p == 'Q' && size(self.q) > 0)";
    assert!(cel::evaluate(rule, &json!({"p": "D"})).unwrap());
    assert!(matches!(
        cel::evaluate(rule, &json!({"p": "Q"})),
        Err(cel::Skip::Missing)
    ));
}

/// Crossplane 1.x (1.19 and later) has no `protection.crossplane.io`:
/// with `usages.legacy: true` the legacy form's Usages are the
/// `apiextensions.crossplane.io/v1beta1` Usage it serves, and valid.
#[test]
fn the_crossplane_1_usages_are_schema_valid() {
    let Some(crds) = crds() else { return };
    for cloud in ["gcp", "aws", "azure"] {
        let configs = common::env_configs_with(cloud, json!({"usages": {"legacy": true}}));
        let req = common::cluster_up(common::request(common::claim(cloud)), &configs);
        let rsp = common::run_with(req, &configs);
        let usages: Vec<_> = rsp
            .desired
            .resources
            .values()
            .filter(|r| r.body["kind"] == "Usage")
            .collect();
        assert!(usages.len() > 20, "{cloud}: {}", usages.len());
        for usage in usages {
            assert_eq!(
                usage.body["apiVersion"],
                "apiextensions.crossplane.io/v1beta1"
            );
            let errors = crds.validate(&usage.body);
            assert!(errors.is_empty(), "{cloud}: {errors:?}");
        }
        assert!(
            !rsp.desired
                .resources
                .values()
                .any(|r| r.body["kind"] == "ClusterUsage"),
            "{cloud}"
        );
    }
}

/// A Crossplane that answers only the deprecated `extra_resources` and
/// lists no capabilities is 1.x: it gets Crossplane 1's Usages without
/// being told, and the environment's `usages.legacy: false` says
/// otherwise.
#[test]
fn a_crossplane_answering_only_extra_resources_gets_its_usages() {
    let kinds = |mut req: Request, configs: &[serde_json::Value]| {
        // Answer the way Crossplane 1.x does: the old field only.
        let asked = run(&req, &mut Log::default());
        req.extra_resources = common::answer(&asked.requirements.extra_resources, configs);
        run(&req, &mut Log::default())
            .desired
            .resources
            .values()
            .filter(|r| {
                r.body["kind"]
                    .as_str()
                    .is_some_and(|k| k.ends_with("Usage"))
            })
            .map(|r| format!("{} {}", r.body["apiVersion"], r.body["kind"]).replace('"', ""))
            .collect::<BTreeSet<_>>()
    };
    let configs = common::env_configs();
    let req = common::cluster_up(common::request(common::claim("gcp")), &configs);
    assert_eq!(
        kinds(req.clone(), &configs),
        ["apiextensions.crossplane.io/v1beta1 Usage".to_string()].into()
    );
    // A Crossplane listing its capabilities is 2.2 or later, whatever it
    // answers.
    let mut listing = req.clone();
    listing.lists_capabilities = true;
    assert_eq!(
        kinds(listing, &configs),
        ["protection.crossplane.io/v1beta1 ClusterUsage".to_string()].into()
    );
    let configs = common::env_configs_with("gcp", json!({"usages": {"legacy": false}}));
    assert_eq!(
        kinds(req, &configs),
        ["protection.crossplane.io/v1beta1 ClusterUsage".to_string()].into()
    );
}
