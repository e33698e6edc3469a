"""gRPC entry point: a Crossplane composition function serving the
platform's modules (the step's input names one: `module: cluster`)."""

import click
from crossplane.function import cli as sdkcli
from crossplane.function import logging, response
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

import modules
from myplatform.core import PlatformError


def module_name(req: fnv1.RunFunctionRequest) -> str:
    """The module the Composition's step asks for."""
    if "module" not in req.input.fields:
        msg = "the step's input has no module (e.g. module: cluster)"
        raise PlatformError(msg)
    return req.input["module"]


def run(req: fnv1.RunFunctionRequest, rsp: fnv1.RunFunctionResponse, log) -> None:
    """Builds the module's Composition from the request and deploys it
    into `rsp`."""
    composition_class, deploy = modules.load(module_name(req))
    c = composition_class(req=req, rsp=rsp, log=log)
    if not c.env_ready:
        # The requirements are in rsp: Crossplane calls again with them.
        c.log.info("Waiting for the EnvironmentConfigs")
        return
    deploy(c)
    c.finish()


class FunctionRunner(grpcv1.FunctionRunnerServiceServicer):
    """Runs the platform for each RunFunctionRequest."""

    def __init__(self):
        self.log = logging.get_logger()

    async def RunFunction(  # noqa: N802  # gRPC requires this name.
        self, req: fnv1.RunFunctionRequest, _: object
    ) -> fnv1.RunFunctionResponse:
        log = self.log.bind(tag=req.meta.tag)
        rsp = response.to(req)
        try:
            run(req, rsp, log)
        except PlatformError as e:
            log.warning("cannot render the platform", reason=str(e))
            response.fatal(rsp, str(e))
        except Exception as e:  # A bug must fail the call, not the server.
            log.exception("unexpected error")
            response.fatal(rsp, f"unexpected error: {e}")
        return rsp


@click.command()
@sdkcli.standard_options
@click.option(
    "--metrics-address",
    default="",
    envvar="METRICS_ADDRESS",
    help="Accepted for command-line compatibility; this function serves no metrics.",
)
def cli(metrics_address: str, **kwargs):  # noqa: ARG001
    """Serve the function over gRPC."""
    sdkcli.run(FunctionRunner(), **kwargs)


if __name__ == "__main__":
    cli()
