//! `RunFunctionRequest` and `RunFunctionResponse` as the host reads and
//! writes them on the wire: Crossplane's `apiextensions.fn.proto.v1`
//! messages field for field, except that every `google.protobuf.Struct`
//! stays the bytes it is encoded as.
//!
//! Protobuf's wire format does not tell an embedded message from a `bytes`
//! field of the same number, so these types decode exactly what Crossplane
//! sends and encode exactly what its stubs read, and the host passes each
//! Kubernetes object between the wire and the module without building or
//! walking a tree for it. The messages that hold no `Struct` are the SDK's.
//! `optional bytes` keeps an empty object present, as an empty `Struct`
//! message is.

use std::collections::HashMap;

use function_sdk_rust::proto::v1 as pb;
use prost::Message;

/// The bytes of one `google.protobuf.Struct`.
pub type StructBytes = Vec<u8>;

#[derive(Clone, PartialEq, Message)]
pub struct RunFunctionRequest {
    #[prost(message, optional, tag = "1")]
    pub meta: Option<pb::RequestMeta>,
    #[prost(message, optional, tag = "2")]
    pub observed: Option<State>,
    #[prost(message, optional, tag = "3")]
    pub desired: Option<State>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub input: Option<StructBytes>,
    #[prost(bytes = "vec", optional, tag = "5")]
    pub context: Option<StructBytes>,
    #[prost(map = "string, message", tag = "6")]
    pub extra_resources: HashMap<String, Resources>,
    #[prost(map = "string, message", tag = "7")]
    pub credentials: HashMap<String, pb::Credentials>,
    #[prost(map = "string, message", tag = "8")]
    pub required_resources: HashMap<String, Resources>,
    #[prost(map = "string, message", tag = "9")]
    pub required_schemas: HashMap<String, Schema>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Resources {
    #[prost(message, repeated, tag = "1")]
    pub items: Vec<Resource>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Schema {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub openapi_v3: Option<StructBytes>,
}

#[derive(Clone, PartialEq, Message)]
pub struct State {
    #[prost(message, optional, tag = "1")]
    pub composite: Option<Resource>,
    #[prost(map = "string, message", tag = "2")]
    pub resources: HashMap<String, Resource>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Resource {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub resource: Option<StructBytes>,
    #[prost(map = "string, bytes", tag = "2")]
    pub connection_details: HashMap<String, Vec<u8>>,
    #[prost(enumeration = "pb::Ready", tag = "3")]
    pub ready: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct RunFunctionResponse {
    #[prost(message, optional, tag = "1")]
    pub meta: Option<pb::ResponseMeta>,
    #[prost(message, optional, tag = "2")]
    pub desired: Option<State>,
    #[prost(message, repeated, tag = "3")]
    pub results: Vec<pb::Result>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub context: Option<StructBytes>,
    #[prost(message, optional, tag = "5")]
    pub requirements: Option<pb::Requirements>,
    #[prost(message, repeated, tag = "6")]
    pub conditions: Vec<pb::Condition>,
    #[prost(bytes = "vec", optional, tag = "7")]
    pub output: Option<StructBytes>,
}

/// A message read again as another type of the same wire format: the SDK's
/// types and these, either way. It fails only where bytes held as a
/// `Struct` are not one.
pub fn transcode<To: Message + Default>(from: &impl Message) -> Result<To, prost::DecodeError> {
    To::decode(from.encode_to_vec().as_slice())
}

impl From<&pb::RunFunctionRequest> for RunFunctionRequest {
    fn from(request: &pb::RunFunctionRequest) -> Self {
        transcode(request).expect("the SDK's request encodes as this type's wire format")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use function_sdk_rust::resource::json_to_struct;
    use serde_json::json;

    fn object(value: serde_json::Value) -> pbjson_types::Struct {
        json_to_struct(value.as_object().expect("an object"))
    }

    fn resource(value: serde_json::Value) -> pb::Resource {
        pb::Resource {
            resource: Some(object(value)),
            connection_details: [("kubeconfig".to_string(), b"apiVersion: v1".to_vec())].into(),
            ready: pb::Ready::True as i32,
        }
    }

    /// Every field of the protocol set, an empty object among them.
    fn full_request() -> pb::RunFunctionRequest {
        let state = pb::State {
            composite: Some(resource(json!({"kind": "XCluster", "n": 3}))),
            resources: [("empty".to_string(), resource(json!({})))].into(),
        };
        pb::RunFunctionRequest {
            meta: Some(pb::RequestMeta {
                tag: "t".into(),
                capabilities: vec![pb::Capability::RequiredResources as i32],
            }),
            observed: Some(state.clone()),
            desired: Some(state),
            input: Some(object(json!({"module": "cluster"}))),
            context: Some(object(json!({}))),
            extra_resources: [(
                "old".to_string(),
                pb::Resources {
                    items: vec![resource(json!({"kind": "EnvironmentConfig"}))],
                },
            )]
            .into(),
            credentials: [(
                "creds".to_string(),
                pb::Credentials {
                    source: Some(pb::credentials::Source::CredentialData(
                        pb::CredentialData {
                            data: [("key".to_string(), b"secret".to_vec())].into(),
                        },
                    )),
                },
            )]
            .into(),
            required_resources: [(
                "env".to_string(),
                pb::Resources {
                    items: vec![resource(json!({"data": {"a": [1, "b", null]}}))],
                },
            )]
            .into(),
            required_schemas: [(
                "s".to_string(),
                pb::Schema {
                    openapi_v3: Some(object(json!({"type": "object"}))),
                },
            )]
            .into(),
        }
    }

    #[test]
    fn the_sdk_request_reads_back_unchanged_through_the_wire_type() {
        let sdk = full_request();
        let wire = RunFunctionRequest::from(&sdk);
        assert_eq!(
            wire.input.as_deref(),
            Some(sdk.input.as_ref().unwrap().encode_to_vec().as_slice())
        );
        // The empty object stays present, as an empty Struct message.
        let empty = &wire.observed.as_ref().unwrap().resources["empty"];
        assert_eq!(empty.resource.as_deref(), Some(&[][..]));
        assert_eq!(wire.context.as_deref(), Some(&[][..]));
        let back: pb::RunFunctionRequest = transcode(&wire).unwrap();
        assert_eq!(back, sdk);
    }

    #[test]
    fn the_wire_response_decodes_as_the_sdk_response_it_mirrors() {
        let sdk = pb::RunFunctionResponse {
            meta: Some(pb::ResponseMeta {
                tag: "t".into(),
                ttl: Some(pbjson_types::Duration {
                    seconds: 60,
                    nanos: 0,
                }),
            }),
            desired: full_request().desired,
            results: vec![pb::Result {
                severity: pb::Severity::Normal as i32,
                message: "m".into(),
                reason: Some("R".into()),
                target: Some(pb::Target::CompositeAndClaim as i32),
            }],
            context: Some(object(
                json!({"apiextensions.crossplane.io/environment": {"a": 1}}),
            )),
            requirements: Some(pb::Requirements::default()),
            conditions: Vec::new(),
            output: Some(object(json!({}))),
        };
        let wire: RunFunctionResponse = transcode(&sdk).unwrap();
        assert_eq!(wire.encoded_len(), sdk.encoded_len());
        let back: pb::RunFunctionResponse = transcode(&wire).unwrap();
        assert_eq!(back, sdk);
    }

    #[test]
    fn bytes_that_are_not_a_struct_do_not_decode_as_the_sdk_type() {
        let wire = RunFunctionResponse {
            context: Some(vec![0xff, 0xff]),
            ..Default::default()
        };
        assert!(transcode::<pb::RunFunctionResponse>(&wire).is_err());
    }
}
