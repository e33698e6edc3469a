//! What the conversion fuzz target does with its bytes: shared with the
//! test that replays the saved corpus.

use fnhost::grpc::convert::{request_to_wit, response_from_wit};
use fnhost::grpc::wire::RunFunctionRequest;
use fnhost::wasm::bindings::wit;
use prost::Message;

/// Converts `data` as a request (when it decodes as one) and as the bytes
/// of every object a module returns; either converts or is refused.
pub fn exercise(data: &[u8]) {
    if let Ok(request) = RunFunctionRequest::decode(data) {
        let _ = request_to_wit(&request);
    }
    let composed = wit::Composed {
        body: data.to_vec(),
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
        context: Some(data.to_vec()),
        requirements: wit::Requirements {
            extra_resources: Vec::new(),
            resources: Vec::new(),
            schemas: Vec::new(),
        },
        conditions: Vec::new(),
        output: Some(data.to_vec()),
    };
    let _ = response_from_wit(response, "tag");
}
