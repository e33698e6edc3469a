"""Smoke check: serves function.py on a free loopback port and runs the
GCP example claim through it over gRPC, as Crossplane would."""

import collections
import pathlib
import socket
import subprocess
import sys
import tempfile

import grpc
import yaml
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CONTEXT_KEY = "apiextensions.crossplane.io/environment"
# The layers the Composition selects, in merge order: requirement name
# (as the Rust function asks for them), label, and the claim label whose
# value it takes (None: a fixed value).
LAYERS = [
    ("environment-baseline", "baseline", None, "default"),
    ("environment-cloud", "cloud", "cloud", None),
    ("environment-plane-type", "planeType", "planeType", None),
]


def read_one(path: pathlib.Path) -> dict:
    return yaml.safe_load(path.read_text())


def read_all(folder: pathlib.Path) -> list[dict]:
    docs = []
    for path in sorted(folder.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def composite_for(claim: dict, xrd: dict) -> dict:
    """The composite Crossplane creates for a legacy claim: the XRD's
    composite kind, the claim's labels plus the claim labels, its spec and
    a claimRef back to it."""
    name = claim["metadata"]["name"]
    namespace = claim["metadata"].get("namespace", "default")
    labels = dict(claim["metadata"].get("labels", {}))
    labels.update({
        "crossplane.io/claim-name": name,
        "crossplane.io/claim-namespace": namespace,
        "crossplane.io/composite": name,
    })
    spec = dict(claim.get("spec", {}))
    spec.pop("writeConnectionSecretToRef", None)
    spec["claimRef"] = {
        "apiVersion": claim["apiVersion"],
        "kind": claim["kind"],
        "name": name,
        "namespace": namespace,
    }
    return {
        "apiVersion": claim["apiVersion"],
        "kind": xrd["spec"]["names"]["kind"],
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }


def deep_merge(base: dict, over: dict) -> dict:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def selected(xr: dict, configs: list[dict]) -> dict[str, list[dict]]:
    """The EnvironmentConfigs of each layer, by requirement name."""
    labels = xr["metadata"]["labels"]
    layers = {}
    for name, label, from_label, fixed in LAYERS:
        value = labels.get(from_label) if from_label else fixed
        if value is None:
            continue
        matching = [c for c in configs if c["metadata"].get("labels", {}).get(label) == value]
        layers[name] = sorted(matching, key=lambda c: c["metadata"]["name"])
    return layers


def request(xr: dict, configs: list[dict], *, context: bool, required: bool, observed=()) -> fnv1.RunFunctionRequest:
    """A RunFunctionRequest for `xr`, with the environment in the context
    (Crossplane's legacy environment) and/or as required resources."""
    req = fnv1.RunFunctionRequest(
        meta=fnv1.RequestMeta(tag="check"),
        input=resource.dict_to_struct({"apiVersion": "myplatform.io/v1alpha1", "kind": "Input", "module": "cluster"}),
    )
    req.observed.composite.resource.CopyFrom(resource.dict_to_struct(xr))
    layers = selected(xr, configs)
    if context:
        env = {"apiVersion": "internal.crossplane.io/v1alpha1", "kind": "Environment"}
        for items in layers.values():
            for item in items:
                env = deep_merge(env, item.get("data", {}))
        req.context.update({CONTEXT_KEY: env})
    if required:
        for name, items in layers.items():
            for target in (req.required_resources, req.extra_resources):
                answer = target[name]
                for item in items:
                    answer.items.add().resource.CopyFrom(resource.dict_to_struct(item))
    for body in observed:
        name = body["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
        req.observed.resources[name].resource.CopyFrom(resource.dict_to_struct(body))
    return req


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fatal(rsp: fnv1.RunFunctionResponse) -> list[str]:
    return [r.message for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]


def kinds(rsp: fnv1.RunFunctionResponse) -> collections.Counter:
    return collections.Counter(
        f"{r.resource['apiVersion']} {r.resource['kind']}" for r in rsp.desired.resources.values()
    )


def report(title: str, rsp: fnv1.RunFunctionResponse) -> None:
    print(f"{title}: {len(rsp.desired.resources)} desired resources")
    for kind, count in sorted(kinds(rsp).items()):
        print(f"  {count:3d}  {kind}")


def check(stub) -> None:
    xrd = read_one(ROOT / "apis/legacy/definition.yaml")
    configs = read_all(ROOT / "examples/envconfigs")
    xr = composite_for(read_one(ROOT / "examples/gcp/claim.yaml"), xrd)
    observed = read_all(ROOT / "examples/gcp/observed")

    first = stub.RunFunction(request(xr, configs, context=True, required=True), timeout=30)
    assert not fatal(first), fatal(first)
    report("GCP production claim, first call", first)
    assert "container.gcp.upbound.io/v1beta2 Cluster" in kinds(first)

    up = stub.RunFunction(request(xr, configs, context=True, required=True, observed=observed), timeout=30)
    assert not fatal(up), fatal(up)
    report("GCP production claim, cluster up", up)
    status = resource.struct_to_dict(up.desired.composite.resource).get("status", {})
    print(f"  XR status: {status}")
    assert status.get("clusterEndpoint") == "34.1.2.3", status

    # Required resources alone (no context) render the same platform.
    only_required = stub.RunFunction(request(xr, configs, context=False, required=True), timeout=30)
    assert not fatal(only_required), fatal(only_required)
    assert kinds(only_required) == kinds(first), "the two environment paths differ"

    # Nothing answered yet: the function asks for the EnvironmentConfigs.
    asking = stub.RunFunction(request(xr, configs, context=False, required=False), timeout=30)
    assert not fatal(asking), fatal(asking)
    assert set(asking.requirements.resources) == {n for n, *_ in LAYERS}, asking.requirements
    assert not asking.desired.resources

    # Another cloud is refused with a Fatal result, not a crash.
    aws = composite_for(read_one(ROOT / "examples/aws/claim.yaml"), xrd)
    refused = stub.RunFunction(request(aws, configs, context=True, required=True), timeout=30)
    assert fatal(refused), "an AWS claim should be Fatal"
    print(f"AWS claim: Fatal as expected: {fatal(refused)[0]}")


def main() -> int:
    address = f"127.0.0.1:{free_port()}"
    command = [sys.executable, str(HERE / "function.py"), "--insecure", "--metrics-address=", "--address", address]
    with tempfile.TemporaryFile() as logs:
        server = subprocess.Popen(command, stdout=logs, stderr=subprocess.STDOUT)
        try:
            with grpc.insecure_channel(address) as channel:
                grpc.channel_ready_future(channel).result(timeout=30)
                check(grpcv1.FunctionRunnerServiceStub(channel))
        except BaseException:
            logs.seek(0)
            sys.stderr.write(logs.read().decode(errors="replace")[-4000:])
            raise
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    print("check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
