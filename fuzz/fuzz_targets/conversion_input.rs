//! What the conversion fuzz target does with its bytes: shared with the
//! test that replays the saved corpus.

use fnhost::grpc::convert::{request_to_wit, response_from_wit};
use fnhost::wasm::bindings::wit;
use function_sdk_rust::proto::v1::RunFunctionRequest;
use prost::Message;

/// Converts `data` as a request (when it decodes as one) and as the text
/// of every JSON field a module returns; either converts or is refused.
pub fn exercise(data: &[u8]) {
    if let Ok(request) = RunFunctionRequest::decode(data) {
        let _ = request_to_wit(&request);
    }
    let text = String::from_utf8_lossy(data).to_string();
    let composed = wit::Composed {
        body: text.clone(),
        connection_details: Vec::new(),
        ready: wit::Ready::ReadyTrue,
    };
    let response = wit::Response {
        meta: wit::ResponseMeta {
            tag: String::new(),
            ttl: None,
        },
        desired: wit::State {
            composite: Some(composed.clone()),
            resources: vec![wit::NamedComposed {
                name: "r".into(),
                resource: composed,
            }],
        },
        results: Vec::new(),
        context: Some(text.clone()),
        requirements: wit::Requirements {
            extra_resources: Vec::new(),
            resources: Vec::new(),
            schemas: Vec::new(),
        },
        conditions: Vec::new(),
        output: Some(text),
    };
    let _ = response_from_wit(response, "tag");
}
