//! `RunFunctionRequest` and `RunFunctionResponse` in protobuf's JSON
//! mapping (camelCase fields, enums by name, bytes as base64, default
//! values left out): what `wasmtime run module.wasm < request.json` reads
//! and writes, so a module can be tried with nothing but the wasmtime CLI.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::protocol as p;

/// A request field that is not what the mapping says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub expected: &'static str,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} must be {}", self.field, self.expected)
    }
}

impl std::error::Error for FieldError {}

/// A protobuf `Struct` holds every number as a double, so `3` may arrive as
/// `3.0`; whole numbers become integers again, as the SDK's own
/// conversion makes them (up to 2^53, where doubles stay exact).
fn whole_numbers(value: Value) -> Value {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => crate::structpb::number(f),
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(whole_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, whole_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

fn bad(field: &str, expected: &'static str) -> FieldError {
    FieldError {
        field: field.to_string(),
        expected,
    }
}

/// The object at `field`, or an empty one when absent.
fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, FieldError> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    match value {
        Value::Null => Ok(EMPTY.get_or_init(Map::new)),
        Value::Object(map) => Ok(map),
        _ => Err(bad(field, "an object")),
    }
}

fn bytes_map(value: &Value, field: &str) -> Result<BTreeMap<String, Vec<u8>>, FieldError> {
    object(value, field)?
        .iter()
        .map(|(k, v)| {
            let text = v
                .as_str()
                .ok_or_else(|| bad(&format!("{field}.{k}"), "base64 text"))?;
            let bytes = STANDARD
                .decode(text)
                .map_err(|_| bad(&format!("{field}.{k}"), "base64 text"))?;
            Ok((k.clone(), bytes))
        })
        .collect()
}

fn resource(value: &Value, field: &str) -> Result<p::Resource, FieldError> {
    if !value.is_object() {
        return Err(bad(field, "an object"));
    }
    let body = match &value["resource"] {
        Value::Null => Value::Object(Map::new()),
        Value::Object(map) => whole_numbers(Value::Object(map.clone())),
        _ => return Err(bad(&format!("{field}.resource"), "an object")),
    };
    let ready = match value["ready"].as_str() {
        None | Some("READY_UNSPECIFIED") => p::Ready::Unspecified,
        Some("READY_TRUE") => p::Ready::True,
        Some("READY_FALSE") => p::Ready::False,
        Some(_) => {
            return Err(bad(
                &format!("{field}.ready"),
                "READY_TRUE, READY_FALSE or READY_UNSPECIFIED",
            ));
        }
    };
    Ok(p::Resource {
        body,
        connection_details: bytes_map(
            &value["connectionDetails"],
            &format!("{field}.connectionDetails"),
        )?,
        ready,
    })
}

fn state(value: &Value, field: &str) -> Result<p::State, FieldError> {
    let composite = match &value["composite"] {
        Value::Null => None,
        c => Some(resource(c, &format!("{field}.composite"))?),
    };
    let resources = object(&value["resources"], &format!("{field}.resources"))?
        .iter()
        .map(|(name, r)| {
            Ok((
                name.clone(),
                resource(r, &format!("{field}.resources.{name}"))?,
            ))
        })
        .collect::<Result<_, FieldError>>()?;
    Ok(p::State {
        composite,
        resources,
    })
}

fn required(value: &Value, field: &str) -> Result<BTreeMap<String, Vec<Value>>, FieldError> {
    object(value, field)?
        .iter()
        .map(|(name, found)| {
            let items = match &found["items"] {
                Value::Null => Vec::new(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| Ok(resource(i, &format!("{field}.{name}.items"))?.body))
                    .collect::<Result<_, FieldError>>()?,
                _ => return Err(bad(&format!("{field}.{name}.items"), "a list")),
            };
            Ok((name.clone(), items))
        })
        .collect()
}

fn optional_object(value: &Value, field: &str) -> Result<Option<Value>, FieldError> {
    match value {
        Value::Null => Ok(None),
        Value::Object(_) => Ok(Some(whole_numbers(value.clone()))),
        _ => Err(bad(field, "an object")),
    }
}

/// Reads a `RunFunctionRequest` in protobuf's JSON mapping.
pub fn request(value: &Value) -> Result<p::Request, FieldError> {
    if !value.is_object() {
        return Err(bad("the request", "a JSON object"));
    }
    let capabilities = &value["meta"]["capabilities"];
    Ok(p::Request {
        tag: value["meta"]["tag"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        lists_capabilities: capabilities
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "CAPABILITY_CAPABILITIES")),
        observed: state(&value["observed"], "observed")?,
        desired: state(&value["desired"], "desired")?,
        input: optional_object(&value["input"], "input")?,
        context: optional_object(&value["context"], "context")?,
        extra_resources: required(&value["extraResources"], "extraResources")?,
        required_resources: required(&value["requiredResources"], "requiredResources")?,
        credentials: object(&value["credentials"], "credentials")?
            .iter()
            .map(|(name, c)| {
                let field = format!("credentials.{name}.credentialData.data");
                Ok((
                    name.clone(),
                    bytes_map(&c["credentialData"]["data"], &field)?,
                ))
            })
            .collect::<Result<_, FieldError>>()?,
    })
}

fn resource_json(r: &p::Resource) -> Value {
    let mut out = json!({"resource": r.body});
    if !r.connection_details.is_empty() {
        out["connectionDetails"] = r
            .connection_details
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(STANDARD.encode(v))))
            .collect::<Map<_, _>>()
            .into();
    }
    match r.ready {
        p::Ready::Unspecified => {}
        p::Ready::True => out["ready"] = "READY_TRUE".into(),
        p::Ready::False => out["ready"] = "READY_FALSE".into(),
    }
    out
}

fn target(t: p::Target) -> &'static str {
    match t {
        p::Target::Composite => "TARGET_COMPOSITE",
        p::Target::CompositeAndClaim => "TARGET_COMPOSITE_AND_CLAIM",
    }
}

fn selectors(map: &BTreeMap<String, p::Selector>) -> Value {
    map.iter()
        .map(|(name, s)| {
            let mut out = json!({"apiVersion": s.api_version, "kind": s.kind});
            match &s.matching {
                p::Match::Name(n) => out["matchName"] = n.clone().into(),
                p::Match::Labels(l) => out["matchLabels"] = json!({"labels": l}),
            }
            if let Some(ns) = &s.namespace {
                out["namespace"] = ns.clone().into();
            }
            (name.clone(), out)
        })
        .collect::<Map<_, _>>()
        .into()
}

/// Writes `response` as a `RunFunctionResponse` in protobuf's JSON mapping.
pub fn response(response: &p::Response, tag: &str) -> Value {
    let mut meta = json!({"tag": tag});
    if let Some(ttl) = response.ttl_seconds {
        meta["ttl"] = format!("{ttl}s").into();
    }
    let mut desired = Map::new();
    if let Some(c) = &response.desired.composite {
        desired.insert("composite".into(), resource_json(c));
    }
    if !response.desired.resources.is_empty() {
        let resources: Map<_, _> = response
            .desired
            .resources
            .iter()
            .map(|(n, r)| (n.clone(), resource_json(r)))
            .collect();
        desired.insert("resources".into(), resources.into());
    }
    let mut out = json!({"meta": meta, "desired": desired});
    if !response.results.is_empty() {
        out["results"] = response
            .results
            .iter()
            .map(|r| {
                let severity = match r.severity {
                    p::Severity::Fatal => "SEVERITY_FATAL",
                    p::Severity::Warning => "SEVERITY_WARNING",
                    p::Severity::Normal => "SEVERITY_NORMAL",
                };
                let mut out =
                    json!({"severity": severity, "message": r.message, "target": target(r.target)});
                if let Some(reason) = &r.reason {
                    out["reason"] = reason.clone().into();
                }
                out
            })
            .collect();
    }
    if let Some(context) = &response.context {
        out["context"] = context.clone();
    }
    let mut requirements = Map::new();
    for (field, map) in [
        ("extraResources", &response.requirements.extra_resources),
        ("resources", &response.requirements.resources),
    ] {
        if !map.is_empty() {
            requirements.insert(field.into(), selectors(map));
        }
    }
    if !requirements.is_empty() {
        out["requirements"] = requirements.into();
    }
    if !response.conditions.is_empty() {
        out["conditions"] = response
            .conditions
            .iter()
            .map(|c| {
                let status = match c.status {
                    p::ConditionStatus::Unknown => "STATUS_CONDITION_UNKNOWN",
                    p::ConditionStatus::True => "STATUS_CONDITION_TRUE",
                    p::ConditionStatus::False => "STATUS_CONDITION_FALSE",
                };
                let mut out = json!({"type": c.kind, "status": status, "reason": c.reason, "target": target(c.target)});
                if let Some(message) = &c.message {
                    out["message"] = message.clone().into();
                }
                out
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reads_every_field_of_the_mapping() {
        let request = request(&json!({
            "meta": {"tag": "t", "capabilities": ["CAPABILITY_CAPABILITIES"]},
            "observed": {
                "composite": {"resource": {"kind": "XCluster"}, "connectionDetails": {"k": "aGk="}},
                "resources": {"vpc": {"resource": {"kind": "Network"}, "ready": "READY_TRUE"}},
            },
            "input": {"module": "cluster"},
            "requiredResources": {"env": {"items": [{"resource": {"kind": "EnvironmentConfig"}}]}},
            "credentials": {"c": {"credentialData": {"data": {"token": "aGk="}}}},
        }))
        .unwrap();
        assert_eq!(request.tag, "t");
        assert!(request.lists_capabilities);
        let composite = request.observed.composite.as_ref().unwrap();
        assert_eq!(composite.connection_details["k"], b"hi");
        assert_eq!(request.observed.resources["vpc"].ready, p::Ready::True);
        assert_eq!(
            request.required_resources["env"][0]["kind"],
            "EnvironmentConfig"
        );
        assert_eq!(request.credentials["c"]["token"], b"hi");
        assert_eq!(request.input_str("module"), Some("cluster"));
        let numbers =
            super::request(&json!({"input": {"n": 3.0, "x": 2.5, "big": 1e300}})).unwrap();
        let input = numbers.input.unwrap();
        assert_eq!(
            (input["n"].as_i64(), input["x"].as_f64()),
            (Some(3), Some(2.5))
        );
        assert_eq!(input["big"].as_f64(), Some(1e300));
    }

    #[test]
    fn a_field_of_the_wrong_shape_is_named() {
        let err = super::request(&json!({"observed": {"resources": {"vpc": {"ready": "YES"}}}}))
            .unwrap_err();
        assert_eq!(err.field, "observed.resources.vpc.ready");
        let err = super::request(&json!({"input": "cluster"})).unwrap_err();
        assert_eq!((err.field.as_str(), err.expected), ("input", "an object"));
    }

    #[test]
    fn a_response_leaves_defaults_out_and_names_enums() {
        let mut rsp = p::Response {
            ttl_seconds: Some(60),
            ..p::Response::default()
        };
        rsp.fatal("boom");
        let mut ready = p::Resource::new(json!({"kind": "Network"}));
        ready.ready = p::Ready::True;
        rsp.desired.resources.insert("vpc".into(), ready);
        let out = response(&rsp, "t");
        assert_eq!(out["meta"], json!({"tag": "t", "ttl": "60s"}));
        assert_eq!(out["results"][0]["severity"], "SEVERITY_FATAL");
        assert_eq!(out["desired"]["resources"]["vpc"]["ready"], "READY_TRUE");
        assert!(out.get("conditions").is_none());
    }
}
