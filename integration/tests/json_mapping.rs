//! The SDK's protobuf JSON mapping (`module_sdk::json`) agrees with the
//! official stubs: a request serialised by `function-sdk-rust` (pbjson)
//! reads into the module's request, and the module's response written by
//! the SDK deserialises into exactly the `RunFunctionResponse` the host
//! serves through wasm for the same request.

use cluster_platform::log::Log;
use fnhost::wasm::limits::Limits;
use fnhost::wasm::runtime::Runtime;
use function_sdk_rust::proto::v1 as pb;
use module_sdk::json;
use platform_integration::*;

#[test]
fn the_json_mapping_matches_what_the_host_serves() {
    let runtime = Runtime::new(Limits::default(), None).unwrap();
    let module = runtime.load(&wasm("cluster_all.wasm")).unwrap();
    let serve = |r: &pb::RunFunctionRequest| serve_in_process(&runtime, &module, r);
    for cloud in ["gcp", "aws", "azure"] {
        let bare = with_cluster_up(bare_request(&example_xr(cloud), "cluster"), cloud);
        let request = answer_requirements(bare, serve);
        let served = serve(&request);
        assert!(served.desired.as_ref().unwrap().resources.len() > 20);

        let text = serde_json::to_value(&request).unwrap();
        let read = json::request(&text).unwrap();
        let response = cluster_platform::platform::run(&read, &mut Log::default());
        let written = json::response(&response, &read.tag);
        let answered: pb::RunFunctionResponse = serde_json::from_value(written)
            .unwrap_or_else(|e| panic!("{cloud}: not a RunFunctionResponse: {e}"));
        // Compared in the mapping: pbjson reads a JSON null as a Value
        // with no kind, where the module's encoding (like the SDK's own
        // conversion) writes NullValue; both are null on the wire.
        assert_eq!(
            serde_json::to_value(&answered).unwrap(),
            serde_json::to_value(&served).unwrap(),
            "{cloud}: the JSON mapping answered otherwise"
        );
    }
}
