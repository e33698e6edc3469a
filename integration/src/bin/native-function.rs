//! The cluster platform as a native function on `function-sdk-rust`: the
//! guest library linked in, no wasm (see `platform_integration::native`).
//! The server-CPU bench compares the host against it.

use clap::Parser;
use function_sdk_rust::proto::v1::function_runner_service_server::FunctionRunnerService;
use function_sdk_rust::proto::v1::{RunFunctionRequest, RunFunctionResponse};
use function_sdk_rust::{Args, serve};
use tonic::{Request, Response, Status};

struct Native;

#[tonic::async_trait]
impl FunctionRunnerService for Native {
    async fn run_function(
        &self,
        request: Request<RunFunctionRequest>,
    ) -> Result<Response<RunFunctionResponse>, Status> {
        // The platform's CPU work is off the executor, as the host's is.
        let request = request.into_inner();
        tokio::task::spawn_blocking(move || platform_integration::native::run(&request))
            .await
            .map(Response::new)
            .map_err(|e| Status::internal(format!("the call failed: {e}")))
    }
}

#[tokio::main]
async fn main() -> Result<(), function_sdk_rust::Error> {
    serve(Native, &Args::parse()).await
}
