//! The gRPC server. It serves what function-sdk-rust's `Server` serves,
//! configured by the same flags (`function_sdk_rust::Args`): mTLS from
//! `--tls-certs-dir` unless `--insecure`, the health service reporting
//! SERVING, reflection (v1 and v1alpha), the gRPC server series at
//! `--metrics-address`, and a graceful stop on SIGTERM or SIGINT. It exists
//! because the SDK's server only takes its own message types: this one
//! reads and writes `RunFunction` as [`wire`] types, so Kubernetes objects
//! go between the wire and the module as bytes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use function_sdk_rust::Args;
use prometheus_client::registry::Registry;
use tonic::codegen::{BoxFuture, Context, Poll, Service, StdError, http};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;

use crate::grpc::counting::{CountingLayer, FUNCTION_SERVICE, GrpcMetrics};
use crate::grpc::service::Dispatcher;
use crate::grpc::wire;

const RUN_FUNCTION: &str = "/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction";

/// Serves `dispatcher` until SIGTERM or SIGINT; `registry` (with the gRPC
/// series added) is served at `--metrics-address` unless that is empty.
pub(crate) async fn serve(
    dispatcher: Arc<Dispatcher>,
    args: &Args,
    mut registry: Registry,
) -> anyhow::Result<()> {
    let address: SocketAddr = args
        .address
        .parse()
        .with_context(|| format!("--address {:?}", args.address))?;
    let mut builder = Server::builder();
    if !args.insecure {
        let dir = args.tls_certs_dir.as_deref().ok_or_else(|| {
            anyhow::anyhow!(
                "no credentials were provided - supply --tls-certs-dir or use --insecure"
            )
        })?;
        builder = builder.tls_config(tls_config(dir)?)?;
    }

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(function_sdk_rust::proto::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(function_sdk_rust::proto::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let (health, health_service) = tonic_health::server::health_reporter();
    for service in ["", FUNCTION_SERVICE] {
        health
            .set_service_status(service, ServingStatus::Serving)
            .await;
    }

    let grpc_metrics = GrpcMetrics::register(&mut registry);
    if !args.metrics_address.is_empty() {
        crate::scrape::spawn(&args.metrics_address, registry);
    }

    tracing::info!(%address, insecure = args.insecure, "serving FunctionRunnerService");
    builder
        .layer(CountingLayer(grpc_metrics))
        .add_service(RunFunctionService {
            dispatcher,
            max_decoding_message_size: args.max_recv_message_size,
        })
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_shutdown(address, shutdown_signal())
        .await?;
    Ok(())
}

fn tls_config(dir: &Path) -> anyhow::Result<ServerTlsConfig> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path)
            .with_context(|| format!("cannot read TLS certificate or key {}", path.display()))
    };
    Ok(ServerTlsConfig::new()
        .identity(Identity::from_pem(read("tls.crt")?, read("tls.key")?))
        .client_ca_root(Certificate::from_pem(read("ca.crt")?))
        .client_auth_optional(false))
}

async fn shutdown_signal() {
    let Ok(mut sigterm) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        tracing::error!("cannot install the SIGTERM handler; stopping on SIGINT only");
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = sigterm.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down");
}

/// `FunctionRunnerService`, as tonic's generated server would serve it but
/// with the [`wire`] message types in prost's codec.
#[derive(Clone)]
struct RunFunctionService {
    dispatcher: Arc<Dispatcher>,
    max_decoding_message_size: Option<usize>,
}

impl NamedService for RunFunctionService {
    const NAME: &'static str = FUNCTION_SERVICE;
}

impl<B> Service<http::Request<B>> for RunFunctionService
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() != RUN_FUNCTION {
            return Box::pin(async { Ok(tonic::Status::unimplemented("").into_http()) });
        }
        let answer = Answer(self.dispatcher.clone());
        let codec =
            tonic_prost::ProstCodec::<wire::RunFunctionResponse, wire::RunFunctionRequest>::default(
            );
        let mut grpc =
            Grpc::new(codec).apply_max_message_size_config(self.max_decoding_message_size, None);
        Box::pin(async move { Ok(grpc.unary(answer, req).await) })
    }
}

struct Answer(Arc<Dispatcher>);

impl UnaryService<wire::RunFunctionRequest> for Answer {
    type Response = wire::RunFunctionResponse;
    type Future = BoxFuture<tonic::Response<Self::Response>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<wire::RunFunctionRequest>) -> Self::Future {
        let dispatcher = self.0.clone();
        Box::pin(async move {
            Ok(tonic::Response::new(
                dispatcher.answer(request.into_inner()).await,
            ))
        })
    }
}
