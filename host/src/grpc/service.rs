//! The function itself: routes each `RunFunctionRequest` to a module, runs
//! it in the sandbox, and answers with its response or a fatal result.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use function_sdk_rust::proto::v1::function_runner_service_server::FunctionRunnerService;
use function_sdk_rust::proto::v1::{RunFunctionRequest, RunFunctionResponse};
use function_sdk_rust::resource::struct_to_json;
use function_sdk_rust::response;
use prost::Message;
use tokio::sync::Semaphore;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::grpc::convert;
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

    /// Answers one request. Every failure is a fatal result that carries the
    /// request's desired state and context forward, never a gRPC error.
    pub async fn run(&self, req: RunFunctionRequest) -> RunFunctionResponse {
        let fatal = |req: &RunFunctionRequest, message: String| {
            let mut rsp = response::to(req, FATAL_TTL);
            response::fatal(&mut rsp, message);
            rsp
        };
        let module_name = match input_module(&req) {
            Ok(name) => name,
            Err(message) => return fatal(&req, message),
        };
        let labels = composite_labels(&req);
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
                    meta: Some(function_sdk_rust::proto::v1::ResponseMeta {
                        tag: request_tag,
                        ttl: None,
                    }),
                    results: vec![function_sdk_rust::proto::v1::Result {
                        severity: function_sdk_rust::proto::v1::Severity::Fatal as i32,
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
                    .any(|r| r.severity == function_sdk_rust::proto::v1::Severity::Fatal as i32);
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

/// The `module` of the step's Input, or a message saying how to fix it.
fn input_module(req: &RunFunctionRequest) -> Result<String, String> {
    let example =
        format!("{{apiVersion: {INPUT_API_VERSION}, kind: {INPUT_KIND}, module: cluster}}");
    let input = req
        .input
        .as_ref()
        .map(struct_to_json)
        .ok_or_else(|| format!("the pipeline step has no input; set input: {example}"))?;
    let api_version = input
        .get("apiVersion")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let kind = input
        .get("kind")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if api_version != INPUT_API_VERSION || kind != INPUT_KIND {
        return Err(format!(
            "the step's input is {api_version:?} {kind:?}; this function takes {example}"
        ));
    }
    match input.get("module").and_then(|v| v.as_str()) {
        Some(module) if !module.is_empty() => Ok(module.to_string()),
        _ => Err(format!(
            "input.module is missing; set it to the module to run, e.g. {example}"
        )),
    }
}

/// The composite's string labels, which routes match against.
fn composite_labels(req: &RunFunctionRequest) -> BTreeMap<String, String> {
    use pbjson_types::value::Kind;
    let labels = req
        .observed
        .as_ref()
        .and_then(|o| o.composite.as_ref())
        .and_then(|c| c.resource.as_ref())
        .and_then(|xr| xr.fields.get("metadata"))
        .and_then(|m| match m.kind.as_ref() {
            Some(Kind::StructValue(metadata)) => metadata.fields.get("labels"),
            _ => None,
        });
    let Some(Kind::StructValue(labels)) = labels.and_then(|l| l.kind.as_ref()) else {
        return BTreeMap::new();
    };
    labels
        .fields
        .iter()
        .filter_map(|(k, v)| match v.kind.as_ref() {
            Some(Kind::StringValue(v)) => Some((k.clone(), v.clone())),
            _ => None,
        })
        .collect()
}

/// The gRPC face of the dispatcher.
#[derive(Clone)]
pub(crate) struct FunctionService(pub Arc<Dispatcher>);

#[tonic::async_trait]
impl FunctionRunnerService for FunctionService {
    async fn run_function(
        &self,
        request: Request<RunFunctionRequest>,
    ) -> Result<Response<RunFunctionResponse>, Status> {
        Ok(Response::new(self.0.run(request.into_inner()).await))
    }
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
