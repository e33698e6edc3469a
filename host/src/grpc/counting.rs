//! The gRPC server series function-sdk-go serves and function-sdk-rust
//! re-creates (`grpc_server_started_total`, `grpc_server_handled_total`,
//! `grpc_server_msg_received_total`, `grpc_server_msg_sent_total`), with
//! the same names, labels and help strings, counted by a tower layer around
//! the whole server: dashboards and alerts built for SDK functions work on
//! this one unchanged. As there, only unary methods are counted, every
//! method starts as a zero series, and there is no handling-time histogram.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

pub(crate) const FUNCTION_SERVICE: &str = "apiextensions.fn.proto.v1.FunctionRunnerService";
const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

type Labels = Vec<(&'static str, &'static str)>;

/// The gRPC status code names by wire value, as grpc-go renders them.
const CODES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

fn code_name(code: u32) -> &'static str {
    CODES.get(code as usize).copied().unwrap_or("Unknown")
}

/// The methods the server carries, each a zero series from the start.
const METHODS: [(&str, &str, &str); 5] = [
    ("unary", FUNCTION_SERVICE, "RunFunction"),
    ("unary", HEALTH_SERVICE, "Check"),
    ("server_stream", HEALTH_SERVICE, "Watch"),
    (
        "bidi_stream",
        "grpc.reflection.v1.ServerReflection",
        "ServerReflectionInfo",
    ),
    (
        "bidi_stream",
        "grpc.reflection.v1alpha.ServerReflection",
        "ServerReflectionInfo",
    ),
];

/// The unary methods, the only calls counted.
fn unary_method(path: &str) -> Option<(&'static str, &'static str)> {
    match path {
        "/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction" => {
            Some((FUNCTION_SERVICE, "RunFunction"))
        }
        "/grpc.health.v1.Health/Check" => Some((HEALTH_SERVICE, "Check")),
        _ => None,
    }
}

#[derive(Default)]
pub(crate) struct GrpcMetrics {
    started: Family<Labels, Counter>,
    handled: Family<Labels, Counter>,
    received: Family<Labels, Counter>,
    sent: Family<Labels, Counter>,
}

impl GrpcMetrics {
    /// The series, registered at the root of `registry` (the help strings
    /// without their final period: the encoder adds it, and `_total`).
    pub(crate) fn register(registry: &mut Registry) -> Arc<Self> {
        let metrics = Arc::new(Self::default());
        for (name, help, family) in [
            (
                "grpc_server_started",
                "Total number of RPCs started on the server",
                &metrics.started,
            ),
            (
                "grpc_server_handled",
                "Total number of RPCs completed on the server, regardless of success or failure",
                &metrics.handled,
            ),
            (
                "grpc_server_msg_received",
                "Total number of RPC stream messages received on the server",
                &metrics.received,
            ),
            (
                "grpc_server_msg_sent",
                "Total number of gRPC stream messages sent by the server",
                &metrics.sent,
            ),
        ] {
            registry.register(name, help, family.clone());
        }
        for (kind, service, method) in METHODS {
            let labels = labels(kind, service, method);
            let _ = metrics.started.get_or_create(&labels);
            let _ = metrics.received.get_or_create(&labels);
            let _ = metrics.sent.get_or_create(&labels);
            for code in CODES {
                let _ = metrics.handled.get_or_create(&with_code(&labels, code));
            }
        }
        metrics
    }
}

fn labels(kind: &'static str, service: &'static str, method: &'static str) -> Labels {
    vec![
        ("grpc_type", kind),
        ("grpc_service", service),
        ("grpc_method", method),
    ]
}

fn with_code(labels: &Labels, code: &'static str) -> Labels {
    let mut labels = labels.clone();
    labels.push(("grpc_code", code));
    labels
}

/// One unary call: started and received when it begins, handled (and sent,
/// on OK) once its status is known. Dropped before that, the client went
/// away: Canceled, as the Go interceptor reports a canceled context.
struct Call {
    metrics: Arc<GrpcMetrics>,
    labels: Labels,
    done: bool,
}

impl Call {
    fn start(metrics: Arc<GrpcMetrics>, service: &'static str, method: &'static str) -> Self {
        let labels = labels("unary", service, method);
        metrics.started.get_or_create(&labels).inc();
        metrics.received.get_or_create(&labels).inc();
        Self {
            metrics,
            labels,
            done: false,
        }
    }

    fn finish(&mut self, code: u32) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let handled = with_code(&self.labels, code_name(code));
        self.metrics.handled.get_or_create(&handled).inc();
        if code == 0 {
            self.metrics.sent.get_or_create(&self.labels).inc();
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.finish(tonic::Code::Cancelled as u32);
    }
}

fn status_in(headers: &http::HeaderMap) -> Option<u32> {
    headers.get("grpc-status")?.to_str().ok()?.parse().ok()
}

/// Counts every call the server it wraps answers.
#[derive(Clone)]
pub(crate) struct CountingLayer(pub(crate) Arc<GrpcMetrics>);

impl<S> tower_layer::Layer<S> for CountingLayer {
    type Service = Counting<S>;

    fn layer(&self, inner: S) -> Counting<S> {
        Counting {
            inner,
            metrics: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Counting<S> {
    inner: S,
    metrics: Arc<GrpcMetrics>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>;

impl<S, B> tower_service::Service<http::Request<B>> for Counting<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<CountedBody>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let method = unary_method(req.uri().path());
        // The service that was readied takes the call; its clone stays.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let mut call = method.map(|(service, method)| Call::start(metrics, service, method));
            let rsp = inner.call(req).await?;
            let (parts, body) = rsp.into_parts();
            // A trailers-only response (an immediate refusal) has its
            // status in the headers.
            if let (Some(c), Some(code)) = (call.as_mut(), status_in(&parts.headers)) {
                c.finish(code);
                call = None;
            }
            Ok(http::Response::from_parts(
                parts,
                CountedBody { inner: body, call },
            ))
        })
    }
}

/// A response body that counts its call when the trailers carry the status;
/// dropped before them, the call counts as Canceled.
pub(crate) struct CountedBody {
    inner: tonic::body::Body,
    call: Option<Call>,
}

impl http_body::Body for CountedBody {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let frame = std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if let Some(call) = this.call.as_mut() {
            match &frame {
                Some(Ok(frame)) => {
                    if let Some(trailers) = frame.trailers_ref() {
                        call.finish(status_in(trailers).unwrap_or(tonic::Code::Unknown as u32));
                    }
                }
                // An error, or an end without trailers: no status, Unknown.
                Some(Err(_)) | None => call.finish(tonic::Code::Unknown as u32),
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(registry: &Registry) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, registry).unwrap();
        out
    }

    fn run_function_count(text: &str, code: &str) -> f64 {
        text.lines()
            .find(|l| {
                l.starts_with("grpc_server_handled_total{")
                    && l.contains("grpc_method=\"RunFunction\"")
                    && l.contains(&format!("grpc_code=\"{code}\""))
            })
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(-1.0)
    }

    #[test]
    fn the_series_are_the_go_sdks_and_start_at_zero() {
        let mut registry = Registry::default();
        let _metrics = GrpcMetrics::register(&mut registry);
        let text = rendered(&registry);
        assert!(
            text.contains("# HELP grpc_server_started Total number of RPCs started on the server."),
            "{text}"
        );
        assert!(
            text.contains("# TYPE grpc_server_handled counter"),
            "{text}"
        );
        assert!(
            text.contains(
                "grpc_server_started_total{grpc_type=\"bidi_stream\",grpc_service=\"grpc.reflection.v1.ServerReflection\",grpc_method=\"ServerReflectionInfo\"} 0"
            ),
            "{text}"
        );
        assert_eq!(run_function_count(&text, "Unauthenticated"), 0.0);
        assert_eq!(code_name(12), "Unimplemented");
        assert_eq!(code_name(17), "Unknown");
    }

    #[test]
    fn a_call_counts_once_and_a_dropped_one_is_canceled() {
        let mut registry = Registry::default();
        let metrics = GrpcMetrics::register(&mut registry);
        let mut ok = Call::start(metrics.clone(), FUNCTION_SERVICE, "RunFunction");
        ok.finish(0);
        drop(ok);
        drop(Call::start(metrics, FUNCTION_SERVICE, "RunFunction"));
        let text = rendered(&registry);
        assert_eq!(run_function_count(&text, "OK"), 1.0);
        assert_eq!(run_function_count(&text, "Canceled"), 1.0);
        assert_eq!(unary_method("/grpc.health.v1.Health/Watch"), None);
    }
}
