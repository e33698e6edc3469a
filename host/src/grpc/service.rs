//! The function itself: routes each `RunFunctionRequest` to a module, runs
//! it in the sandbox, and answers with its response or a fatal result.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use function_sdk_rust::proto::v1 as pb;
use prost::Message;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::grpc::convert;
use crate::grpc::wire::{self, RunFunctionRequest, RunFunctionResponse};
use crate::metrics::{CallLabels, Metrics, ModuleLabels};
use crate::modules::registry::Registry;
use crate::wasm::runtime::Runtime;

/// The step Input this function accepts.
pub(crate) const INPUT_API_VERSION: &str = "myplatform.io/v1alpha1";
pub(crate) const INPUT_KIND: &str = "Input";
/// Crossplane's gRPC client accepts responses up to 4 MiB.
const MAX_RESPONSE_BYTES: usize = 4 << 20;
/// TTL of the host's own fatal results.
const FATAL_TTL: Duration = Duration::from_secs(60);

pub struct Dispatcher {
    runtime: Arc<Runtime>,
    registry: ArcSwap<Registry>,
    permits: Arc<Semaphore>,
    metrics: Metrics,
}

impl Dispatcher {
    pub fn new(runtime: Arc<Runtime>, registry: Registry, metrics: Metrics) -> Self {
        let permits = Arc::new(Semaphore::new(
            runtime.limits().max_concurrent_calls as usize,
        ));
        record_serving(&metrics, &registry);
        Self {
            runtime,
            registry: ArcSwap::from_pointee(registry),
            permits,
            metrics,
        }
    }

    pub fn registry(&self) -> Arc<Registry> {
        self.registry.load_full()
    }

    /// Publishes a new routing table; calls in flight keep the module they
    /// started with.
    pub(crate) fn swap(&self, registry: Registry) {
        record_serving(&self.metrics, &registry);
        self.registry.store(Arc::new(registry));
    }

    /// [`Dispatcher::answer`] with the SDK's types, for callers that build
    /// requests as objects (render, tests).
    pub async fn run(&self, req: pb::RunFunctionRequest) -> pb::RunFunctionResponse {
        let rsp = self.answer(wire::RunFunctionRequest::from(&req)).await;
        // Every object in it was copied from the request or checked.
        wire::transcode(&rsp).expect("a response of checked objects decodes")
    }

    /// Answers one request as it came off the wire. Every failure is a
    /// fatal result that carries the request's desired state and context
    /// forward, never a gRPC error.
    pub async fn answer(&self, req: RunFunctionRequest) -> RunFunctionResponse {
        let module_name = match input_module(&req) {
            Ok(name) => name,
            Err(message) => return fatal(&req, message),
        };
        let labels = match composite_labels(&req) {
            Ok(labels) => labels,
            Err(message) => return fatal(&req, message),
        };
        let module = match self.registry.load().route(&module_name, &labels) {
            Ok(module) => module,
            Err(e) => return fatal(&req, e.to_string()),
        };
        module
            .calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let span = tracing::info_span!(
            "run_function",
            module = %module.info.name, version = %module.info.version, digest = %module.digest,
            tag = req.meta.as_ref().map(|m| m.tag.as_str()).unwrap_or_default(),
        );
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return fatal(&req, "the function is shutting down".into());
        };
        let runtime = self.runtime.clone();
        let started = Instant::now();
        let blocking_span = span.clone();
        let tag = req.meta.as_ref().map(|m| m.tag.clone()).unwrap_or_default();
        let request_tag = tag.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let _entered = blocking_span.enter();
            let _permit = permit;
            let wit_request = convert::request_to_wit(&req);
            let result = runtime
                .call(&module, &wit_request)
                .map_err(|f| (f.kind(), format!("module {} {f}", module.label())))
                .and_then(|rsp| {
                    convert::response_from_wit(rsp, &tag).map_err(|e| {
                        ("bad_response", format!("module {} returned a malformed response: {e}", module.label()))
                    })
                })
                .and_then(|rsp| {
                    let size = rsp.encoded_len();
                    if size > MAX_RESPONSE_BYTES {
                        return Err((
                            "response_too_large",
                            format!(
                                "module {} returned a response of {size} bytes, over the {MAX_RESPONSE_BYTES}-byte gRPC message limit Crossplane accepts; render fewer or smaller resources",
                                module.label()
                            ),
                        ));
                    }
                    Ok(rsp)
                });
            (req, module, result)
        })
        .instrument(span.clone())
        .await;
        let (req, module, result) = match outcome {
            Ok(done) => done,
            // The blocking task only panics on a host bug; say so plainly.
            Err(e) => {
                tracing::error!(parent: &span, error = %e, "module call task failed");
                return RunFunctionResponse {
                    meta: Some(pb::ResponseMeta {
                        tag: request_tag,
                        ttl: None,
                    }),
                    results: vec![pb::Result {
                        severity: pb::Severity::Fatal as i32,
                        message: format!("internal error running the module: {e}"),
                        ..Default::default()
                    }],
                    ..Default::default()
                };
            }
        };
        let elapsed = started.elapsed();
        let (outcome, rsp) = match result {
            Ok(rsp) => {
                let fatal = rsp
                    .results
                    .iter()
                    .any(|r| r.severity == pb::Severity::Fatal as i32);
                (if fatal { "fatal" } else { "ok" }, rsp)
            }
            Err((kind, message)) => {
                tracing::warn!(parent: &span, kind, %message, "module call failed");
                (kind, fatal(&req, message))
            }
        };
        tracing::debug!(parent: &span, outcome, elapsed_us = elapsed.as_micros() as u64, "module call finished");
        self.metrics
            .calls
            .get_or_create(&CallLabels {
                module: module.info.name.clone(),
                version: module.info.version.clone(),
                outcome: outcome.to_string(),
            })
            .inc();
        self.metrics
            .latency
            .get_or_create(&ModuleLabels {
                module: module.info.name.clone(),
            })
            .observe(elapsed.as_secs_f64());
        rsp
    }
}

/// A fatal result for `req` that carries its desired state and context
/// forward, as the SDK's `response::to` and `response::fatal` make it.
fn fatal(req: &RunFunctionRequest, message: String) -> RunFunctionResponse {
    RunFunctionResponse {
        meta: Some(pb::ResponseMeta {
            tag: req.meta.as_ref().map(|m| m.tag.clone()).unwrap_or_default(),
            ttl: Some(pbjson_types::Duration {
                seconds: FATAL_TTL.as_secs() as i64,
                nanos: 0,
            }),
        }),
        desired: req.desired.clone(),
        context: req.context.clone(),
        results: vec![pb::Result {
            severity: pb::Severity::Fatal as i32,
            message,
            reason: None,
            // The composite, explicitly, as function-sdk-go targets it.
            target: Some(pb::Target::Composite as i32),
        }],
        ..Default::default()
    }
}

/// One of the request's objects, read with the module SDK's decoder (so
/// with the limits a module reads with): the host reads only the step
/// Input and the composite's labels. `what` names it in the error.
fn read(bytes: Option<&[u8]>, what: &str) -> Result<Option<Map<String, Value>>, String> {
    bytes
        .map(module_sdk::structpb::decode)
        .transpose()
        .map_err(|e| format!("cannot read {what}: {e}"))
}

/// The `module` of the step's Input, or a message saying how to fix it.
fn input_module(req: &RunFunctionRequest) -> Result<String, String> {
    let example =
        format!("{{apiVersion: {INPUT_API_VERSION}, kind: {INPUT_KIND}, module: cluster}}");
    let input = read(req.input.as_deref(), "the pipeline step's input")?
        .ok_or_else(|| format!("the pipeline step has no input; set input: {example}"))?;
    let field = |name: &str| input.get(name).and_then(Value::as_str).unwrap_or_default();
    let (api_version, kind) = (field("apiVersion"), field("kind"));
    if api_version != INPUT_API_VERSION || kind != INPUT_KIND {
        return Err(format!(
            "the step's input is {api_version:?} {kind:?}; this function takes {example}"
        ));
    }
    match field("module") {
        "" => Err(format!(
            "input.module is missing; set it to the module to run, e.g. {example}"
        )),
        module => Ok(module.to_string()),
    }
}

/// The composite's string labels, which routes match against.
fn composite_labels(req: &RunFunctionRequest) -> Result<BTreeMap<String, String>, String> {
    let composite = req.observed.as_ref().and_then(|o| o.composite.as_ref());
    let composite = read(
        composite.and_then(|c| c.resource.as_deref()),
        "the observed composite",
    )?;
    let labels = composite
        .as_ref()
        .and_then(|xr| xr.get("metadata")?.get("labels")?.as_object());
    Ok(labels
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect())
}

/// `function_module_serving`: exactly the modules of `registry`.
fn record_serving(metrics: &Metrics, registry: &Registry) {
    metrics.serving.clear();
    for module in registry.modules() {
        metrics
            .serving
            .get_or_create(&crate::metrics::ServingLabels {
                module: module.info.name.clone(),
                version: module.info.version.clone(),
                sha256: module.digest.clone(),
                source: module.source.to_string(),
            })
            .set(1);
    }
}
