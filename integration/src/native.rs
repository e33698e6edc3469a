//! The cluster platform as a native `function-sdk-rust` function would run
//! it: the guest library called directly, with the SDK's conversions
//! between protobuf and JSON values on both ends. The benches compare the
//! wasm path against this.

use std::collections::{BTreeMap, HashMap};

use cluster_platform::protocol as native;
use function_sdk_rust::proto::v1 as pb;
use function_sdk_rust::resource::{json_to_struct, struct_to_json};
use serde_json::Value;

/// One call, protobuf in and protobuf out, as a native function answers.
pub fn run(req: &pb::RunFunctionRequest) -> pb::RunFunctionResponse {
    let mut log = cluster_platform::log::Log::default();
    let tag = req
        .meta
        .as_ref()
        .map(|m| m.tag.as_str())
        .unwrap_or_default();
    response(
        cluster_platform::platform::run(&request(req), &mut log),
        tag,
    )
}

/// The same request as the guest library sees it natively.
pub fn request(req: &pb::RunFunctionRequest) -> native::Request {
    let body = |r: &pb::Resource| {
        r.resource
            .as_ref()
            .map(struct_to_json)
            .unwrap_or(Value::Null)
    };
    let state = |s: Option<&pb::State>| native::State {
        composite: s
            .and_then(|s| s.composite.as_ref())
            .map(|r| native::Resource::new(body(r))),
        resources: s
            .map(|s| {
                s.resources
                    .iter()
                    .map(|(k, v)| (k.clone(), native::Resource::new(body(v))))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let required = |m: &HashMap<String, pb::Resources>| -> BTreeMap<String, Vec<Value>> {
        m.iter()
            .map(|(k, v)| (k.clone(), v.items.iter().map(body).collect()))
            .collect()
    };
    native::Request {
        tag: req.meta.as_ref().map(|m| m.tag.clone()).unwrap_or_default(),
        lists_capabilities: req.meta.as_ref().is_some_and(|m| {
            m.capabilities
                .contains(&(pb::Capability::Capabilities as i32))
        }),
        observed: state(req.observed.as_ref()),
        desired: state(req.desired.as_ref()),
        input: req.input.as_ref().map(struct_to_json),
        context: req.context.as_ref().map(struct_to_json),
        extra_resources: required(&req.extra_resources),
        required_resources: required(&req.required_resources),
        credentials: BTreeMap::new(),
    }
}

fn target(t: native::Target) -> Option<i32> {
    Some(match t {
        native::Target::Composite => pb::Target::Composite,
        native::Target::CompositeAndClaim => pb::Target::CompositeAndClaim,
    } as i32)
}

/// What a native function built on the SDK answers to the request tagged
/// `tag`: the library's response turned into protobuf, as the module SDK
/// and the host turn it on the wasm path.
pub fn response(rsp: native::Response, tag: &str) -> pb::RunFunctionResponse {
    let structure = |v: &Value| v.as_object().map(json_to_struct);
    let resource = |r: &native::Resource| pb::Resource {
        resource: structure(&r.body),
        connection_details: r.connection_details.clone().into_iter().collect(),
        ready: match r.ready {
            native::Ready::Unspecified => pb::Ready::Unspecified,
            native::Ready::True => pb::Ready::True,
            native::Ready::False => pb::Ready::False,
        } as i32,
    };
    pb::RunFunctionResponse {
        meta: Some(pb::ResponseMeta {
            tag: tag.to_string(),
            ttl: rsp.ttl_seconds.map(|s| pbjson_types::Duration {
                seconds: s as i64,
                nanos: 0,
            }),
        }),
        requirements: Some(pb::Requirements {
            extra_resources: selectors(&rsp.requirements.extra_resources),
            resources: selectors(&rsp.requirements.resources),
            ..Default::default()
        }),
        desired: Some(pb::State {
            composite: rsp.desired.composite.as_ref().map(resource),
            resources: rsp
                .desired
                .resources
                .iter()
                .map(|(name, r)| (name.clone(), resource(r)))
                .collect(),
        }),
        results: rsp
            .results
            .iter()
            .map(|r| pb::Result {
                severity: match r.severity {
                    native::Severity::Fatal => pb::Severity::Fatal,
                    native::Severity::Warning => pb::Severity::Warning,
                    native::Severity::Normal => pb::Severity::Normal,
                } as i32,
                message: r.message.clone(),
                reason: r.reason.clone(),
                target: target(r.target),
            })
            .collect(),
        context: rsp.context.as_ref().and_then(structure),
        conditions: rsp
            .conditions
            .iter()
            .map(|c| pb::Condition {
                r#type: c.kind.clone(),
                status: match c.status {
                    native::ConditionStatus::Unknown => pb::Status::ConditionUnknown,
                    native::ConditionStatus::True => pb::Status::ConditionTrue,
                    native::ConditionStatus::False => pb::Status::ConditionFalse,
                } as i32,
                reason: c.reason.clone(),
                message: c.message.clone(),
                target: target(c.target),
            })
            .collect(),
        ..Default::default()
    }
}

fn selectors(map: &BTreeMap<String, native::Selector>) -> HashMap<String, pb::ResourceSelector> {
    use pb::resource_selector::Match;
    map.iter()
        .map(|(name, s)| {
            let matching = match &s.matching {
                native::Match::Name(n) => Match::MatchName(n.clone()),
                native::Match::Labels(l) => Match::MatchLabels(pb::MatchLabels {
                    labels: l.clone().into_iter().collect(),
                }),
            };
            let selector = pb::ResourceSelector {
                api_version: s.api_version.clone(),
                kind: s.kind.clone(),
                namespace: s.namespace.clone(),
                r#match: Some(matching),
            };
            (name.clone(), selector)
        })
        .collect()
}
