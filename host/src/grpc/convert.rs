//! The protocol adapter: the wire's `RunFunctionRequest` to the WIT
//! request, the WIT response back to the wire's `RunFunctionResponse`.
//! Kubernetes objects are the bytes of a `Struct` on both sides (see
//! [`wire`]), so they are copied, never parsed; the host only checks that
//! what a module returns is a `Struct`. Maps become lists sorted by key, so
//! a module sees a deterministic request.

use std::collections::HashMap;

use function_sdk_rust::proto::v1 as pb;

use crate::grpc::wire;
use crate::wasm::bindings::wit;

fn sorted<V>(map: &HashMap<String, V>) -> Vec<(&String, &V)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    entries
}

fn key_bytes(map: &HashMap<String, Vec<u8>>) -> Vec<wit::KeyBytes> {
    sorted(map)
        .into_iter()
        .map(|(k, v)| wit::KeyBytes {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

fn ready_to_wit(ready: i32) -> wit::Ready {
    match pb::Ready::try_from(ready) {
        Ok(pb::Ready::True) => wit::Ready::ReadyTrue,
        Ok(pb::Ready::False) => wit::Ready::ReadyFalse,
        _ => wit::Ready::ReadyUnspecified,
    }
}

fn resource_to_wit(r: &wire::Resource) -> wit::Composed {
    wit::Composed {
        body: r.resource.clone().unwrap_or_default(),
        connection_details: key_bytes(&r.connection_details),
        ready: ready_to_wit(r.ready),
    }
}

fn state_to_wit(s: Option<&wire::State>) -> wit::State {
    let Some(s) = s else {
        return wit::State {
            composite: None,
            resources: Vec::new(),
        };
    };
    wit::State {
        composite: s.composite.as_ref().map(resource_to_wit),
        resources: sorted(&s.resources)
            .into_iter()
            .map(|(name, r)| wit::NamedComposed {
                name: name.clone(),
                resource: resource_to_wit(r),
            })
            .collect(),
    }
}

fn required_to_wit(map: &HashMap<String, wire::Resources>) -> Vec<wit::Required> {
    sorted(map)
        .into_iter()
        .map(|(name, resources)| wit::Required {
            name: name.clone(),
            items: resources.items.iter().map(resource_to_wit).collect(),
        })
        .collect()
}

fn capability_to_wit(c: i32) -> Option<wit::Capability> {
    Some(match pb::Capability::try_from(c).ok()? {
        pb::Capability::Unspecified => wit::Capability::CapabilityUnspecified,
        pb::Capability::Capabilities => wit::Capability::Capabilities,
        pb::Capability::RequiredResources => wit::Capability::RequiredResources,
        pb::Capability::Credentials => wit::Capability::Credentials,
        pb::Capability::Conditions => wit::Capability::Conditions,
        pb::Capability::RequiredSchemas => wit::Capability::RequiredSchemas,
    })
}

pub fn request_to_wit(req: &wire::RunFunctionRequest) -> wit::Request {
    let meta = req.meta.as_ref();
    wit::Request {
        meta: wit::RequestMeta {
            tag: meta.map(|m| m.tag.clone()).unwrap_or_default(),
            capabilities: meta
                .map(|m| {
                    m.capabilities
                        .iter()
                        .filter_map(|&c| capability_to_wit(c))
                        .collect()
                })
                .unwrap_or_default(),
        },
        observed: state_to_wit(req.observed.as_ref()),
        desired: state_to_wit(req.desired.as_ref()),
        input: req.input.clone(),
        context: req.context.clone(),
        extra_resources: required_to_wit(&req.extra_resources),
        credentials: sorted(&req.credentials)
            .into_iter()
            .map(|(name, c)| wit::Credentials {
                name: name.clone(),
                data: match &c.source {
                    Some(pb::credentials::Source::CredentialData(d)) => key_bytes(&d.data),
                    None => Vec::new(),
                },
            })
            .collect(),
        required_resources: required_to_wit(&req.required_resources),
        required_schemas: sorted(&req.required_schemas)
            .into_iter()
            .map(|(name, s)| wit::Schema {
                name: name.clone(),
                openapi_v3: s.openapi_v3.clone(),
            })
            .collect(),
    }
}

/// An object the module returned, once it is known to be a `Struct`
/// (without building one); `what` names it in the error, and is only
/// called then.
fn checked_struct(bytes: Vec<u8>, what: impl FnOnce() -> String) -> Result<Vec<u8>, String> {
    module_sdk::structpb::check(&bytes)
        .map_err(|e| format!("{} is not a protobuf Struct ({e})", what()))?;
    Ok(bytes)
}

fn resource_from_wit(
    c: wit::Composed,
    what: impl FnOnce() -> String,
) -> Result<wire::Resource, String> {
    Ok(wire::Resource {
        resource: Some(checked_struct(c.body, what)?),
        connection_details: c
            .connection_details
            .into_iter()
            .map(|kv| (kv.key, kv.value))
            .collect(),
        ready: match c.ready {
            wit::Ready::ReadyUnspecified => pb::Ready::Unspecified,
            wit::Ready::ReadyTrue => pb::Ready::True,
            wit::Ready::ReadyFalse => pb::Ready::False,
        } as i32,
    })
}

fn target_from_wit(t: Option<wit::Target>) -> Option<i32> {
    t.map(|t| {
        (match t {
            wit::Target::TargetUnspecified => pb::Target::Unspecified,
            wit::Target::Composite => pb::Target::Composite,
            wit::Target::CompositeAndClaim => pb::Target::CompositeAndClaim,
        }) as i32
    })
}

fn selectors_from_wit(list: Vec<wit::ResourceSelector>) -> HashMap<String, pb::ResourceSelector> {
    list.into_iter()
        .map(|s| {
            let matching = match s.match_ {
                wit::MatchBy::Name(n) => pb::resource_selector::Match::MatchName(n),
                wit::MatchBy::Labels(l) => {
                    pb::resource_selector::Match::MatchLabels(pb::MatchLabels {
                        labels: l.into_iter().collect(),
                    })
                }
            };
            let selector = pb::ResourceSelector {
                api_version: s.api_version,
                kind: s.kind,
                namespace: s.namespace,
                r#match: Some(matching),
            };
            (s.name, selector)
        })
        .collect()
}

/// Converts the module's response; any malformed object is an error that
/// names it. The tag is the request's, whatever the module returned.
pub fn response_from_wit(
    rsp: wit::Response,
    tag: &str,
) -> Result<wire::RunFunctionResponse, String> {
    let composite = rsp
        .desired
        .composite
        .map(|c| resource_from_wit(c, || "the desired composite".into()))
        .transpose()?;
    let resources = rsp
        .desired
        .resources
        .into_iter()
        .map(|n| {
            let resource =
                resource_from_wit(n.resource, || format!("desired resource {:?}", n.name))?;
            Ok((n.name, resource))
        })
        .collect::<Result<_, String>>()?;
    Ok(wire::RunFunctionResponse {
        meta: Some(pb::ResponseMeta {
            tag: tag.to_string(),
            ttl: rsp.meta.ttl.map(|d| pbjson_types::Duration {
                seconds: d.seconds,
                nanos: d.nanos,
            }),
        }),
        desired: Some(wire::State {
            composite,
            resources,
        }),
        results: rsp
            .results
            .into_iter()
            .map(|r| pb::Result {
                severity: (match r.severity {
                    wit::Severity::SeverityUnspecified => pb::Severity::Unspecified,
                    wit::Severity::Fatal => pb::Severity::Fatal,
                    wit::Severity::Warning => pb::Severity::Warning,
                    wit::Severity::Normal => pb::Severity::Normal,
                }) as i32,
                message: r.message,
                reason: r.reason,
                target: target_from_wit(r.target),
            })
            .collect(),
        context: rsp
            .context
            .map(|c| checked_struct(c, || "the context".into()))
            .transpose()?,
        requirements: Some(pb::Requirements {
            extra_resources: selectors_from_wit(rsp.requirements.extra_resources),
            resources: selectors_from_wit(rsp.requirements.resources),
            schemas: rsp
                .requirements
                .schemas
                .into_iter()
                .map(|s| {
                    (
                        s.name,
                        pb::SchemaSelector {
                            api_version: s.api_version,
                            kind: s.kind,
                        },
                    )
                })
                .collect(),
        }),
        conditions: rsp
            .conditions
            .into_iter()
            .map(|c| pb::Condition {
                r#type: c.type_,
                status: (match c.status {
                    wit::ConditionStatus::StatusUnspecified => pb::Status::ConditionUnspecified,
                    wit::ConditionStatus::StatusUnknown => pb::Status::ConditionUnknown,
                    wit::ConditionStatus::StatusTrue => pb::Status::ConditionTrue,
                    wit::ConditionStatus::StatusFalse => pb::Status::ConditionFalse,
                }) as i32,
                reason: c.reason,
                message: c.message,
                target: target_from_wit(c.target),
            })
            .collect(),
        output: rsp
            .output
            .map(|o| checked_struct(o, || "the output".into()))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn composed(body: Vec<u8>) -> wit::Composed {
        wit::Composed {
            body,
            connection_details: Vec::new(),
            ready: wit::Ready::ReadyTrue,
        }
    }

    fn response(resources: Vec<(&str, Vec<u8>)>) -> wit::Response {
        wit::Response {
            meta: wit::ResponseMeta {
                tag: "module's".into(),
                ttl: None,
            },
            desired: wit::State {
                composite: None,
                resources: resources
                    .into_iter()
                    .map(|(name, body)| wit::NamedComposed {
                        name: name.into(),
                        resource: composed(body),
                    })
                    .collect(),
            },
            results: Vec::new(),
            context: None,
            requirements: wit::Requirements {
                extra_resources: Vec::new(),
                resources: Vec::new(),
                schemas: Vec::new(),
            },
            conditions: Vec::new(),
            output: None,
        }
    }

    #[test]
    fn objects_are_copied_as_they_are_and_the_tag_is_the_requests() {
        let body = module_sdk::structpb::encode(
            serde_json::json!({"kind": "Bucket", "spec": {"size": 3}})
                .as_object()
                .unwrap(),
        );
        let rsp = response_from_wit(response(vec![("bucket", body.clone())]), "request's").unwrap();
        assert_eq!(rsp.meta.unwrap().tag, "request's");
        let bucket = &rsp.desired.unwrap().resources["bucket"];
        assert_eq!(bucket.resource.as_deref(), Some(body.as_slice()));
        assert_eq!(bucket.ready, pb::Ready::True as i32);
    }

    #[test]
    fn bytes_that_are_not_a_struct_are_refused_naming_the_resource() {
        let truncated = module_sdk::structpb::encode(
            serde_json::json!({"kind": "Bucket"}).as_object().unwrap(),
        );
        let truncated = truncated[..truncated.len() - 1].to_vec();
        let error = response_from_wit(
            response(vec![("fine", Vec::new()), ("bucket", truncated)]),
            "t",
        )
        .unwrap_err();
        assert!(
            error.starts_with("desired resource \"bucket\" is not a protobuf Struct ("),
            "{error}"
        );
    }
}
