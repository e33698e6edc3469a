//! Every golden case of the cluster module renders the same through the
//! wasm component, with the host's conversions, as the library does
//! natively, on the first call and once the cluster is up; and what the
//! component renders validates against the providers' CRDs.

use cluster_platform::testing as common;
use test_support::schema;

use std::collections::BTreeMap;

use cluster_platform::protocol::{Ready, Response, Severity};
use fnhost::render::pipeline;
use fnhost::wasm::limits::Limits;
use fnhost::wasm::runtime::Runtime;
use function_sdk_rust::proto::v1 as pb;
use function_sdk_rust::resource::struct_to_json;
use platform_integration::{answer_requirements, bare_request, serve_in_process, wasm};
use serde_json::Value;

fn ready(r: Ready) -> i32 {
    (match r {
        Ready::Unspecified => pb::Ready::Unspecified,
        Ready::True => pb::Ready::True,
        Ready::False => pb::Ready::False,
    }) as i32
}

fn severity(s: Severity) -> i32 {
    (match s {
        Severity::Fatal => pb::Severity::Fatal,
        Severity::Warning => pb::Severity::Warning,
        Severity::Normal => pb::Severity::Normal,
    }) as i32
}

/// The wasm response's resources, after checking they, the composite and
/// the results equal the native response's.
fn same_as_native(
    case: &str,
    rsp: &pb::RunFunctionResponse,
    native: &Response,
) -> BTreeMap<String, (Value, i32)> {
    let desired = rsp.desired.clone().unwrap_or_default();
    let through_wasm: BTreeMap<String, (Value, i32)> = desired
        .resources
        .iter()
        .map(|(name, r)| {
            (
                name.clone(),
                (
                    r.resource.as_ref().map(struct_to_json).unwrap_or_default(),
                    r.ready,
                ),
            )
        })
        .collect();
    let natively: BTreeMap<String, (Value, i32)> = native
        .desired
        .resources
        .iter()
        .map(|(name, r)| (name.clone(), (r.body.clone(), ready(r.ready))))
        .collect();
    assert_eq!(
        through_wasm.keys().collect::<Vec<_>>(),
        natively.keys().collect::<Vec<_>>(),
        "{case}"
    );
    assert_eq!(through_wasm, natively, "{case}: resources differ");
    assert_eq!(
        desired
            .composite
            .and_then(|c| c.resource)
            .map(|s| struct_to_json(&s)),
        native.desired.composite.as_ref().map(|c| c.body.clone()),
        "{case}: composite differs"
    );
    let native_results: Vec<(i32, String)> = native
        .results
        .iter()
        .map(|r| (severity(r.severity), r.message.clone()))
        .collect();
    let wasm_results: Vec<(i32, String)> = rsp
        .results
        .iter()
        .map(|r| (r.severity, r.message.clone()))
        .collect();
    assert_eq!(wasm_results, native_results, "{case}: results differ");
    through_wasm
}

#[test]
fn every_case_renders_the_same_through_wasm_and_is_schema_valid() {
    let runtime = Runtime::new(Limits::default(), None).unwrap();
    let module = runtime.load(&wasm("cluster_all.wasm")).unwrap();
    let call = |r: &pb::RunFunctionRequest| serve_in_process(&runtime, &module, r);
    let crds_dir = schema::crds_dir();
    let crds = if crds_dir.is_dir() {
        Some(schema::Crds::load(&crds_dir).unwrap())
    } else {
        eprintln!(
            "SKIPPING schema validation of the wasm output: {} does not exist (set CRDS_DIR)",
            crds_dir.display()
        );
        None
    };

    let mut checked = 0;
    let mut releases = 0;
    let mut schema_errors = Vec::new();
    for (case, xr) in common::cases() {
        let first = answer_requirements(bare_request(&xr, "cluster"), call);
        // Once the cluster is up: the wasm request observes exactly what
        // the native one does.
        let up = common::cluster_up(common::request(xr.clone()), &common::env_configs());
        let mut first_up = first.clone();
        let observed = first_up.observed.get_or_insert_with(Default::default);
        for (name, r) in &up.observed.resources {
            observed
                .resources
                .insert(name.clone(), pipeline::resource(&r.body));
        }
        let stages = [
            (
                format!("{case} (first call)"),
                first,
                common::render_first(xr.clone()),
            ),
            (format!("{case} (cluster up)"), first_up, common::render(xr)),
        ];
        for (stage, req, native) in stages {
            let through_wasm = same_as_native(&stage, &call(&req), &native);
            releases += through_wasm
                .values()
                .filter(|(body, _)| body["kind"] == "Release")
                .count();
            if let Some(crds) = &crds {
                for (name, (body, _)) in &through_wasm {
                    checked += 1;
                    for error in crds.validate(body) {
                        schema_errors.push(format!("{stage} / {name}: {error}"));
                    }
                }
            }
        }
    }
    // The Helm releases render only once the cluster is up.
    assert!(releases > 0, "no stage rendered the Helm releases");
    assert!(
        crds.is_none() || checked > 600,
        "only {checked} resources validated"
    );
    assert!(
        schema_errors.is_empty(),
        "{} schema errors:\n{}",
        schema_errors.len(),
        schema_errors.join("\n")
    );
}
