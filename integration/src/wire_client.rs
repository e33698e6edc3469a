//! A load generator's `RunFunction` client. It sends and reads the host's
//! wire types, which keep every object's `google.protobuf.Struct` as its
//! bytes, so the client's own CPU stays small: decoding a response's
//! `Struct` trees with the SDK's types costs the client more CPU than the
//! server spends on the call, and a bench's client shares the machine
//! with the server it measures.

use fnhost::grpc::wire;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic_prost::ProstCodec;

const RUN_FUNCTION: &str = "/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction";

#[derive(Clone)]
pub struct WireClient {
    grpc: tonic::client::Grpc<Channel>,
}

impl WireClient {
    /// Connects to `address` (`host:port`, plaintext), a host already
    /// serving ([`crate::HostProcess::client`] waits for it to listen).
    pub async fn connect(address: &str) -> Self {
        let channel = Channel::from_shared(format!("http://{address}"))
            .expect("address")
            .connect()
            .await
            .unwrap_or_else(|e| panic!("connect to {address}: {e}"));
        Self {
            grpc: tonic::client::Grpc::new(channel),
        }
    }

    pub async fn run_function(
        &mut self,
        request: wire::RunFunctionRequest,
    ) -> Result<wire::RunFunctionResponse, tonic::Status> {
        self.grpc
            .ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let codec = ProstCodec::<wire::RunFunctionRequest, wire::RunFunctionResponse>::default();
        self.grpc
            .unary(
                tonic::Request::new(request),
                PathAndQuery::from_static(RUN_FUNCTION),
                codec,
            )
            .await
            .map(tonic::Response::into_inner)
    }
}
