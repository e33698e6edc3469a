"""The Composition base class: the request read once into plain values
that every resource helper uses."""

from dataclasses import dataclass
from typing import Any

from crossplane.function import resource

from myplatform import environment
from myplatform.core import PlatformError, deep_merge, has_cloud, usage, update_response


@dataclass
class Composition:
    """One call: the observed composite, its environment and the response."""

    req: Any
    rsp: Any
    log: Any

    def __post_init__(self):
        self.observed = self.req.observed
        self.desired = self.rsp.desired
        self.xr = resource.struct_to_dict(self.req.observed.composite.resource)
        metadata = self.xr.get("metadata", {})
        self.name = metadata.get("name", "")
        self.labels = metadata.get("labels", {})
        self.spec = self.xr.get("spec", {})
        self.params = self.spec.get("parameters", {})
        self.for_provider = self.params.get("forProvider", {})
        self.cloud = self.labels.get("cloud", "")
        self.log = self.log.bind(xr=self.name, cloud=self.cloud)
        if not has_cloud(self.cloud):
            msg = f"metadata.labels.cloud is {self.cloud!r}: this function renders gcp only"
            raise PlatformError(msg)
        self.env_ready, self.env = self._environment()
        self.location = self.for_provider.get("location") or self.env.get("defaultRegion", "")
        # Composed bodies by resource name, and the Usages between them.
        self.composed: dict[str, dict] = {}
        self.usages: list[tuple[str, str]] = []

    def _environment(self) -> tuple[bool, dict]:
        """The environment from the context, else from required resources
        (asked for on every call, as Crossplane's loop wants)."""
        env = environment.from_context(self.req)
        if env is not None:
            return True, env
        environment.require(self.rsp, self.labels)
        env = environment.from_required(self.req, self.labels, deep_merge)
        return env is not None, env or {}

    def finish(self) -> None:
        """Renders the recorded Usages whose two ends were composed."""
        for of, by in self.usages:
            if of in self.composed and by in self.composed:
                update_response(self, f"usage-{by}-uses-{of}", usage(self, of, by))
