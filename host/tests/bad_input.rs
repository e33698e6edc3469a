//! A table of bad requests over gRPC: each gets a clear fatal result or a
//! gRPC status, never a panic or a hang, and the next good request is
//! served.

mod common;

use common::*;
use function_sdk_rust::proto::v1::{RunFunctionRequest, Severity, State};
use pbjson_types::value::Kind;
use serde_json::{Value, json};

enum Expect {
    /// A fatal result whose message contains this.
    Fatal(&'static str),
    /// A normal answer (the module has a documented default).
    Answer,
    /// The transport refuses the message.
    Status(&'static [tonic::Code]),
}

fn claim_with(pointer: &str, value: Value) -> RunFunctionRequest {
    let mut xr = gcp_claim();
    set(&mut xr, pointer, value);
    with_environment(request("case", &xr, Some(&input("cluster"))))
}

fn set(v: &mut Value, pointer: &str, value: Value) {
    let mut current = v;
    for key in pointer.trim_start_matches('/').split('/') {
        current = current
            .as_object_mut()
            .expect("an object on the way")
            .entry(key)
            .or_insert(json!({}));
    }
    *current = value;
}

fn with_environment(mut req: RunFunctionRequest) -> RunFunctionRequest {
    req.context = cluster_request("env").context;
    req
}

fn nested(depth: usize) -> Value {
    let mut v = json!("leaf");
    for _ in 0..depth {
        v = json!({ "n": v });
    }
    v
}

fn cases() -> Vec<(&'static str, RunFunctionRequest, Expect)> {
    let long_label = "x".repeat(10_000);
    let mut no_composite = request("case", &gcp_claim(), Some(&input("cluster")));
    no_composite.observed = Some(State::default());
    let mut nan = cluster_request("case");
    let composite = nan.observed.as_mut().unwrap().composite.as_mut().unwrap();
    let spec = composite
        .resource
        .as_mut()
        .unwrap()
        .fields
        .get_mut("spec")
        .unwrap();
    if let Some(Kind::StructValue(spec)) = spec.kind.as_mut() {
        spec.fields.insert(
            "nan".into(),
            pbjson_types::Value {
                kind: Some(Kind::NumberValue(f64::NAN)),
            },
        );
    }
    let wrong_kind =
        json!({"apiVersion": "myplatform.io/v1alpha1", "kind": "Other", "module": "cluster"});
    let no_module = json!({"apiVersion": "myplatform.io/v1alpha1", "kind": "Input"});
    vec![
        (
            "no input",
            request("case", &gcp_claim(), None),
            Expect::Fatal("the pipeline step has no input"),
        ),
        (
            "wrong Input kind",
            request("case", &gcp_claim(), Some(&wrong_kind)),
            Expect::Fatal("this function takes"),
        ),
        (
            "Input without module",
            request("case", &gcp_claim(), Some(&no_module)),
            Expect::Fatal("input.module is missing"),
        ),
        (
            "unknown module",
            request("case", &gcp_claim(), Some(&input("database"))),
            Expect::Fatal("no loaded module serves input module"),
        ),
        (
            "no observed composite",
            no_composite,
            Expect::Fatal("no observed composite resource"),
        ),
        (
            "odd characters in the cloud label",
            claim_with("/metadata/labels/cloud", json!("gcp\u{0};💥 DROP")),
            Expect::Fatal("expected one of gcp, aws, azure"),
        ),
        (
            "a 10,000-character cloud label",
            claim_with("/metadata/labels/cloud", json!(long_label)),
            Expect::Fatal("expected one of gcp, aws, azure"),
        ),
        (
            "an unknown cloud",
            claim_with("/metadata/labels/cloud", json!("oracle")),
            Expect::Fatal("\"oracle\""),
        ),
        (
            "no planeId",
            claim_with("/metadata/labels/planeId", json!("")),
            Expect::Fatal("planeId"),
        ),
        (
            "no location",
            claim_with("/spec/parameters/forProvider", json!({})),
            Expect::Fatal("spec.parameters.forProvider.location"),
        ),
        (
            "a domain that is a number",
            claim_with("/spec/parameters/domain", json!(42)),
            Expect::Fatal("spec.parameters.domain"),
        ),
        (
            "an invalid CIDR",
            claim_with(
                "/spec/parameters/network",
                json!({"vpcCidr": "10.0.0.0/33"}),
            ),
            Expect::Fatal("vpcCidr"),
        ),
        (
            "a pool with min > max",
            claim_with(
                "/spec/parameters/pools",
                json!({"p": {"autoscaling": {"minNodeCount": 5, "maxNodeCount": 2}}}),
            ),
            Expect::Fatal("autoscaling.minNodeCount is 5, greater than maxNodeCount 2"),
        ),
        (
            "a pool without bounds",
            claim_with("/spec/parameters/pools", json!({"p": {"nodeConfig": {}}})),
            Expect::Fatal("autoscaling"),
        ),
        (
            "empty pools",
            claim_with("/spec/parameters/pools", json!({})),
            Expect::Answer,
        ),
        (
            "an unknown import mode",
            claim_with(
                "/spec/parameters/import",
                json!({"enabled": true, "mode": "adopt", "resources": {"cluster": "x"}}),
            ),
            Expect::Fatal("import.mode"),
        ),
        (
            "an import of a resource the platform does not have",
            claim_with(
                "/spec/parameters/import",
                json!({"enabled": true, "mode": "observe", "resources": {"database": "x"}}),
            ),
            Expect::Fatal("database"),
        ),
        ("NaN in the composite", nan, Expect::Answer),
        (
            "a composite nested 25 deep",
            claim_with("/spec/parameters/extra", nested(25)),
            Expect::Answer,
        ),
        // The host passes objects on as bytes, so prost's recursion limit
        // (about 33 levels of JSON) no longer applies; the module reads
        // up to 100 levels and names the object past that.
        (
            "a composite nested 60 deep",
            claim_with("/spec/parameters/extra", nested(60)),
            Expect::Answer,
        ),
        (
            "a composite nested past the 100 levels a module reads",
            claim_with("/spec/parameters/extra", nested(200)),
            Expect::Fatal(
                "cannot read the observed composite: it nests objects and lists deeper than 100 levels",
            ),
        ),
        (
            "3 MiB, under the message limit",
            claim_with("/metadata/annotations/blob", json!("x".repeat(3 << 20))),
            Expect::Answer,
        ),
        (
            "5 MiB, over the message limit",
            claim_with("/metadata/annotations/blob", json!("x".repeat(5 << 20))),
            Expect::Status(&[tonic::Code::OutOfRange, tonic::Code::ResourceExhausted]),
        ),
    ]
}

#[tokio::test]
async fn every_bad_request_gets_a_clear_answer_and_the_next_good_one_is_served() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let address = serve(modules.path(), &["--insecure"]).await;
    let mut client = insecure_client(&address).await;
    for (what, req, expect) in cases() {
        let outcome = client.run_function(req).await;
        match (expect, outcome) {
            (Expect::Fatal(needle), Ok(rsp)) => {
                let rsp = rsp.into_inner();
                let fatal = rsp
                    .results
                    .iter()
                    .find(|r| r.severity == Severity::Fatal as i32);
                let message = &fatal
                    .unwrap_or_else(|| panic!("{what}: no fatal result: {:?}", rsp.results))
                    .message;
                assert!(message.contains(needle), "{what}: {message}");
                assert_eq!(
                    rsp.meta.unwrap().tag,
                    "case",
                    "{what}: the tag was not copied"
                );
            }
            (Expect::Answer, Ok(rsp)) => {
                let rsp = rsp.into_inner();
                assert!(
                    rsp.results
                        .iter()
                        .all(|r| r.severity != Severity::Fatal as i32),
                    "{what}: {:?}",
                    rsp.results
                );
            }
            (Expect::Status(codes), Err(status)) => {
                assert!(codes.contains(&status.code()), "{what}: {status:?}");
            }
            (_, Ok(rsp)) => panic!(
                "{what}: expected a gRPC status, got {:?}",
                rsp.into_inner().results
            ),
            (_, Err(status)) => panic!("{what}: expected an answer, got {status:?}"),
        }
        let good = client
            .run_function(cluster_request("good"))
            .await
            .unwrap()
            .into_inner();
        assert!(
            good.results
                .iter()
                .all(|r| r.severity != Severity::Fatal as i32),
            "after {what}: {:?}",
            good.results
        );
        assert!(
            good.desired.unwrap().resources.contains_key("cluster"),
            "after {what}"
        );
    }
}
