//! A function on `function-sdk-rust` that does nothing: it carries the
//! desired state forward, as every function must, and adds nothing. The
//! server-CPU bench's floor: what the SDK's server and protobuf cost.

use std::time::Duration;

use clap::Parser;
use function_sdk_rust::proto::v1::function_runner_service_server::FunctionRunnerService;
use function_sdk_rust::proto::v1::{RunFunctionRequest, RunFunctionResponse};
use function_sdk_rust::{Args, response, serve};
use tonic::{Request, Response, Status};

struct Noop;

#[tonic::async_trait]
impl FunctionRunnerService for Noop {
    async fn run_function(
        &self,
        request: Request<RunFunctionRequest>,
    ) -> Result<Response<RunFunctionResponse>, Status> {
        Ok(Response::new(response::to(
            request.get_ref(),
            Duration::from_secs(60),
        )))
    }
}

#[tokio::main]
async fn main() -> Result<(), function_sdk_rust::Error> {
    serve(Noop, &Args::parse()).await
}
