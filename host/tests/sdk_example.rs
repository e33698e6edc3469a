//! The SDK's example module (`examples/modules/label`), built from its own
//! crate with the SDK alone, served by the host as the second step of a
//! pipeline after the cluster platform.

mod common;

use common::*;
use function_sdk_rust::proto::v1::Severity;
use function_sdk_rust::resource::struct_to_json;

#[tokio::test]
async fn the_example_module_labels_everything_the_platform_composed() {
    let modules = modules_dir(&[CLUSTER_WASM, LABEL_WASM]);
    let address = serve(modules.path(), &["--insecure"]).await;
    let mut client = insecure_client(&address).await;

    let platform = client
        .run_function(cluster_request("platform"))
        .await
        .unwrap()
        .into_inner();
    let composed = platform.desired.clone().unwrap().resources;
    assert!(composed.len() > 20, "{} resources", composed.len());

    // Crossplane hands the next step what the earlier ones desired.
    let mut next = request(
        "label",
        &gcp_claim(),
        Some(
            &serde_json::json!({"apiVersion": "myplatform.io/v1alpha1", "kind": "Input", "module": "label", "key": "team.example.io/cluster"}),
        ),
    );
    next.desired = platform.desired;
    let labelled = client.run_function(next).await.unwrap().into_inner();
    assert!(
        labelled
            .results
            .iter()
            .all(|r| r.severity != Severity::Fatal as i32),
        "{:?}",
        labelled.results
    );
    let resources = labelled.desired.unwrap().resources;
    assert_eq!(resources.len(), composed.len());
    for (name, resource) in resources {
        let body = struct_to_json(resource.resource.as_ref().unwrap());
        assert_eq!(
            body["metadata"]["labels"]["team.example.io/cluster"], "prod-cluster",
            "{name} was not labelled"
        );
    }
}
