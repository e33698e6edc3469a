//! The host writes `RunFunctionResponse` itself, from the bytes of each
//! object the module encoded (`fnhost::grpc::wire`). What it sends must
//! decode, with the SDK's own types, into exactly the response a native
//! `function-sdk-rust` function builds for the same request: every field,
//! every object, in process for every golden case and over gRPC through
//! the host binary and the SDK's client.

use cluster_platform::testing as common;
use fnhost::wasm::limits::Limits;
use fnhost::wasm::runtime::Runtime;
use function_sdk_rust::proto::v1 as pb;
use platform_integration::*;
use prost::Message;

#[test]
fn every_case_decodes_with_the_sdk_types_into_what_a_native_sdk_function_builds() {
    let runtime = Runtime::new(Limits::default(), None).unwrap();
    let module = runtime.load(&wasm("cluster_all.wasm")).unwrap();
    let mut requests: Vec<(String, pb::RunFunctionRequest)> = common::cases()
        .into_iter()
        .map(|(case, xr)| {
            let req = answer_requirements(bare_request(&xr, "cluster"), native::run);
            (case, req)
        })
        .collect();
    for cloud in ["gcp", "aws", "azure"] {
        requests.push((format!("{cloud} cluster up"), cluster_up_request(cloud)));
    }
    let mut resources = 0;
    for (case, req) in &requests {
        let sent = sent_by_the_host(&runtime, &module, req);
        let decoded = pb::RunFunctionResponse::decode(sent.as_slice())
            .unwrap_or_else(|e| panic!("{case}: the SDK's types cannot decode the response: {e}"));
        let native = native::run(req);
        assert_eq!(
            decoded, native,
            "{case}: the response differs from the SDK path's"
        );
        // Byte for byte the same length: nothing was added or lost.
        assert_eq!(sent.len(), native.encoded_len(), "{case}");
        resources += decoded.desired.map_or(0, |d| d.resources.len());
    }
    assert!(
        requests.len() > 10 && resources > 500,
        "{} cases, {resources} resources",
        requests.len()
    );
}

#[test]
fn over_grpc_the_sdk_client_reads_what_a_native_sdk_function_builds() {
    let modules = tempfile::tempdir().unwrap();
    install(
        modules.path(),
        "cluster_all.wasm",
        &std::fs::read(wasm("cluster_all.wasm")).unwrap(),
    );
    let host = HostProcess::spawn(modules.path(), &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    for cloud in ["gcp", "aws", "azure"] {
        let req = cluster_up_request(cloud);
        let served = rt.block_on(async {
            let mut client = host.client().await;
            client.run_function(req.clone()).await.unwrap().into_inner()
        });
        assert_eq!(
            served,
            native::run(&req),
            "{cloud}: the served response differs from the SDK path's"
        );
    }
}
