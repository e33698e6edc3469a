"""The shared core: Resource, the 3-layer add_definition, Usages and
writing resources into the response."""

import copy
import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crossplane.function import resource
from pydash import get

from myplatform import import_manager

if TYPE_CHECKING:
    from myplatform.compositions.base import Composition

# Every composed resource carries its composition resource name in this
# label, so a Usage can select it (its metadata.name is Crossplane's).
RESOURCE_LABEL = "myplatform.io/resource"
EXTERNAL_NAME = "crossplane.io/external-name"
USAGE_API_VERSION = "apiextensions.crossplane.io/v1beta1"


class PlatformError(ValueError):
    """Bad input: becomes a Fatal result naming what to fix."""


@dataclass
class Resource:
    """One resource being defined, as the cloud layer sees it."""

    composition: "Composition"
    name: str
    external_name: str | None = None
    template: dict = field(default_factory=dict)
    uses: list[str] = field(default_factory=list)


def deep_merge(base: dict, over: dict) -> dict:
    """`over` merged into a copy of `base`: maps merge, anything else
    (lists included) is replaced."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def has_cloud(cloud: str) -> bool:
    """Whether a per-cloud package exists for `cloud`."""
    return bool(cloud) and importlib.util.find_spec(f"myplatform.resources.{cloud}") is not None


def cloud_module(cloud: str, definition: str):
    """Dynamic provider discovery: the cloud's module for a definition,
    e.g. myplatform.resources.gcp.cluster (imported once, then cached)."""
    try:
        return importlib.import_module(f"myplatform.resources.{cloud}.{definition}")
    except ModuleNotFoundError as e:
        msg = f"cloud {cloud!r} has no {definition} resources"
        raise PlatformError(msg) from e


def add_definition(  # noqa: PLR0913
    composition: "Composition",
    definition: str,
    function: str,
    kind: str,
    name: str,
    external_name: str | None = None,
    template: dict | None = None,
    uses: list[str] | None = None,
) -> Resource:
    """The 3-layer pattern: agnostic defaults (kind), the cloud's body
    (`add_<function>` in the cloud module), then the caller's template."""
    r = Resource(composition, name, external_name, template or {}, list(uses or []))
    module = cloud_module(composition.cloud, definition)
    body = deep_merge({"kind": kind}, getattr(module, f"add_{function}")(r))
    body = deep_merge(body, r.template)
    compose(composition, name, body, external_name=external_name, uses=r.uses)
    # Some clouds need more than one resource for a definition.
    extra = getattr(module, f"add_{function}_extra", None)
    if extra is not None:
        extra(r)
    return r


def compose(
    composition: "Composition",
    name: str,
    body: dict,
    external_name: str | None = None,
    uses: list[str] | None = None,
) -> None:
    """Adds a finished body to the response, with its external name,
    import policy and Usages."""
    if import_manager.skips(composition, name):
        return
    if external_name:
        body = deep_merge(body, {"metadata": {"annotations": {EXTERNAL_NAME: external_name}}})
    body = import_manager.apply(composition, name, body)
    update_response(composition, name, body)
    for used in uses or []:
        add_usage(composition, of=used, by=name)


def update_response(composition: "Composition", name: str, body: dict) -> None:
    """Writes `body` as the desired resource `name`."""
    body = deep_merge(body, {"metadata": {"labels": {RESOURCE_LABEL: name}}})
    composition.composed[name] = body
    resource.update(composition.desired.resources[name], body)


def add_usage(composition: "Composition", of: str, by: str) -> None:
    """Records that `by` uses `of`, so `of` is deleted only after `by`.
    Rendered by Composition.finish once every resource is known."""
    composition.usages.append((of, by))


def usage(composition: "Composition", of: str, by: str) -> dict:
    """The Usage body protecting `of` while `by` exists."""

    def ref(name: str) -> dict:
        body = composition.composed[name]
        return {
            "apiVersion": body["apiVersion"],
            "kind": body["kind"],
            "resourceSelector": {
                "matchControllerRef": True,
                "matchLabels": {RESOURCE_LABEL: name},
            },
        }

    return {
        "apiVersion": USAGE_API_VERSION,
        "kind": "Usage",
        "spec": {"of": ref(of), "by": ref(by)},
    }


def get_status_field(observed, name: str, field_path: str):
    """A field of an observed resource's status: under status.atProvider
    (managed resources) or status itself; None when absent."""
    observed_resource = observed.resources.get(name)
    if observed_resource is None:
        return None
    status = resource.struct_to_dict(observed_resource.resource).get("status", {})
    value = get(status, f"atProvider.{field_path}")
    return value if value is not None else get(status, field_path)
