//! Runs a Composition's pipeline the way Crossplane does: steps in order,
//! desired state and context handed on, requirements answered from the
//! given resources until they stabilise (at most 5 iterations).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use function_sdk_rust::proto::v1 as pb;
use function_sdk_rust::proto::v1::function_runner_service_client::FunctionRunnerServiceClient;
use function_sdk_rust::resource::json_to_struct;
use pbjson_types::Struct;
use serde_json::Value;

use super::docs::str_at;
use crate::grpc::service::Dispatcher;

/// Crossplane's bound on requirement round-trips for one step.
pub const MAX_REQUIREMENTS_ITERATIONS: usize = 5;

/// How a step's function is run.
pub(crate) enum Runner {
    /// This package: through the wasm registry and sandbox, in-process.
    InProcess(Arc<Dispatcher>),
    /// A function served elsewhere (`render.crossplane.io/runtime: Development`).
    Grpc(String),
}

impl Runner {
    async fn call(&self, req: pb::RunFunctionRequest) -> anyhow::Result<pb::RunFunctionResponse> {
        match self {
            Runner::InProcess(dispatcher) => Ok(dispatcher.run(req).await),
            Runner::Grpc(target) => {
                let endpoint = endpoint(target);
                let mut client = FunctionRunnerServiceClient::connect(endpoint.clone())
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!("cannot connect to the function at {endpoint}: {e}")
                    })?;
                Ok(client.run_function(req).await?.into_inner())
            }
        }
    }
}

/// A gRPC target as Crossplane writes it (`host:port`, `dns:///host:port`
/// or a URL) as the address tonic connects to.
fn endpoint(target: &str) -> String {
    if let Some(rest) = target.strip_prefix("dns:") {
        // `dns:[//authority]/host:port`: the authority names a DNS server,
        // which the system resolver stands in for.
        let host = rest
            .strip_prefix("//")
            .map_or(rest, |r| r.split_once('/').map_or(r, |(_, host)| host));
        return format!("http://{}", host.trim_start_matches('/'));
    }
    if target.contains("://") {
        target.to_string()
    } else {
        format!("http://{target}")
    }
}

pub(crate) struct Step {
    pub(crate) name: String,
    pub(crate) runner: Runner,
    pub(crate) input: Option<Value>,
    pub(crate) credentials: HashMap<String, pb::Credentials>,
}

pub(crate) struct Outcome {
    pub(crate) desired: pb::State,
    pub(crate) context: Option<Struct>,
    /// Non-fatal results, with the step that returned them.
    pub(crate) results: Vec<(String, pb::Result)>,
    pub(crate) conditions: Vec<pb::Condition>,
}

pub fn to_struct(v: &Value) -> Struct {
    v.as_object().map(json_to_struct).unwrap_or_default()
}

pub fn resource(v: &Value) -> pb::Resource {
    pb::Resource {
        resource: Some(to_struct(v)),
        ..Default::default()
    }
}

fn capabilities() -> Vec<i32> {
    use pb::Capability::*;
    [
        Capabilities,
        RequiredResources,
        Credentials,
        Conditions,
        RequiredSchemas,
    ]
    .into_iter()
    .map(|c| c as i32)
    .collect()
}

/// Runs every step; a fatal result ends the pipeline with its message.
pub(crate) async fn run(
    steps: &[Step],
    observed: pb::State,
    context: Struct,
    available: &[Value],
) -> anyhow::Result<Outcome> {
    let mut desired = pb::State::default();
    let mut context = Some(context);
    let mut results = Vec::new();
    let mut conditions = Vec::new();
    for step in steps {
        let base = pb::RunFunctionRequest {
            meta: Some(pb::RequestMeta {
                tag: String::new(),
                capabilities: capabilities(),
            }),
            observed: Some(observed.clone()),
            desired: Some(desired.clone()),
            input: step.input.as_ref().map(to_struct),
            context: context.clone(),
            credentials: step.credentials.clone(),
            ..Default::default()
        };
        let rsp = run_step(step, base, available).await?;
        for result in rsp.results {
            if result.severity == pb::Severity::Fatal as i32 {
                anyhow::bail!(
                    "pipeline step {:?} returned a fatal result: {}",
                    step.name,
                    result.message
                );
            }
            results.push((step.name.clone(), result));
        }
        conditions.extend(rsp.conditions);
        desired = rsp.desired.unwrap_or_default();
        context = rsp.context;
    }
    Ok(Outcome {
        desired,
        context,
        results,
        conditions,
    })
}

/// Calls one step, answering its requirements until they stop changing.
async fn run_step(
    step: &Step,
    mut req: pb::RunFunctionRequest,
    available: &[Value],
) -> anyhow::Result<pb::RunFunctionResponse> {
    let mut previous: Option<pb::Requirements> = None;
    for _ in 0..=MAX_REQUIREMENTS_ITERATIONS {
        let rsp = step
            .runner
            .call(req.clone())
            .await
            .map_err(|e| anyhow::anyhow!("cannot run pipeline step {:?}: {e:#}", step.name))?;
        let fatal = rsp
            .results
            .iter()
            .any(|r| r.severity == pb::Severity::Fatal as i32);
        let requirements = rsp.requirements.clone().unwrap_or_default();
        let none = requirements.resources.is_empty() && requirements.extra_resources.is_empty();
        if fatal || none || previous.as_ref() == Some(&requirements) {
            return Ok(rsp);
        }
        req.required_resources = fetch(&requirements.resources, available);
        req.extra_resources = fetch(&requirements.extra_resources, available);
        previous = Some(requirements);
    }
    anyhow::bail!(
        "pipeline step {:?}: requirements didn't stabilize after the maximum number of iterations ({MAX_REQUIREMENTS_ITERATIONS})",
        step.name
    )
}

/// Answers each selector from the given resources; an unmatched selector
/// gets an empty list, so the function knows it was looked up.
pub fn fetch(
    selectors: &HashMap<String, pb::ResourceSelector>,
    available: &[Value],
) -> HashMap<String, pb::Resources> {
    selectors
        .iter()
        .map(|(name, selector)| {
            let mut items: Vec<&Value> =
                available.iter().filter(|r| matches(selector, r)).collect();
            items.sort_by_key(|r| {
                format!(
                    "{}/{}",
                    str_at(r, "/metadata/namespace"),
                    str_at(r, "/metadata/name")
                )
            });
            let items = items.into_iter().map(resource).collect();
            (name.clone(), pb::Resources { items })
        })
        .collect()
}

fn matches(selector: &pb::ResourceSelector, r: &Value) -> bool {
    if str_at(r, "/apiVersion") != selector.api_version || str_at(r, "/kind") != selector.kind {
        return false;
    }
    if let Some(namespace) = &selector.namespace
        && str_at(r, "/metadata/namespace") != namespace
    {
        return false;
    }
    match &selector.r#match {
        Some(pb::resource_selector::Match::MatchName(name)) => str_at(r, "/metadata/name") == name,
        Some(pb::resource_selector::Match::MatchLabels(labels)) => {
            labels.labels.iter().all(|(k, v)| {
                r.pointer("/metadata/labels")
                    .and_then(|l| l.get(k))
                    .and_then(Value::as_str)
                    == Some(v.as_str())
            })
        }
        None => false,
    }
}

/// The credentials a step names, from the given Secrets.
pub(crate) fn credentials(
    step: &Value,
    secrets: &[Value],
) -> anyhow::Result<HashMap<String, pb::Credentials>> {
    let mut out = HashMap::new();
    for credential in step
        .get("credentials")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = str_at(credential, "/name");
        let (namespace, secret) = (
            str_at(credential, "/secretRef/namespace"),
            str_at(credential, "/secretRef/name"),
        );
        let found = secrets
            .iter()
            .find(|s| str_at(s, "/kind") == "Secret" && str_at(s, "/metadata/name") == secret && str_at(s, "/metadata/namespace") == namespace)
            .ok_or_else(|| anyhow::anyhow!("credentials {name:?} name Secret {namespace}/{secret}; pass it with --function-credentials"))?;
        let mut data = HashMap::new();
        for (key, value) in found
            .get("data")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(value.as_str().unwrap_or_default())
                .map_err(|e| {
                    anyhow::anyhow!("Secret {namespace}/{secret} data.{key} is not base64: {e}")
                })?;
            data.insert(key.clone(), bytes);
        }
        for (key, value) in found
            .get("stringData")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            data.insert(
                key.clone(),
                value.as_str().unwrap_or_default().as_bytes().to_vec(),
            );
        }
        out.insert(
            name.to_string(),
            pb::Credentials {
                source: Some(pb::credentials::Source::CredentialData(
                    pb::CredentialData { data },
                )),
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::endpoint;

    #[test]
    fn development_targets_in_every_form_crossplane_accepts() {
        for (target, expected) in [
            ("localhost:9443", "http://localhost:9443"),
            ("dns:///example.org:7443", "http://example.org:7443"),
            ("dns://8.8.8.8/example.org:7443", "http://example.org:7443"),
            ("dns:example.org:7443", "http://example.org:7443"),
            ("https://example.org:7443", "https://example.org:7443"),
        ] {
            assert_eq!(endpoint(target), expected, "{target}");
        }
    }
}
