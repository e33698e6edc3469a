"""Helm releases whose values are Jinja2 templates over the environment."""

from dataclasses import dataclass
from functools import lru_cache

import jinja2
import yaml

from myplatform.core import PlatformError, compose

API_VERSION = "helm.crossplane.io/v1beta1"

# Chainable, so `monitoring.grafana.admin_password | default("admin")`
# works when the environment has no `monitoring.grafana`.
JINJA = jinja2.Environment(undefined=jinja2.ChainableUndefined, autoescape=False)  # noqa: S701


@dataclass
class HelmRelease:
    name: str
    repo: str
    version: str
    values: str = ""
    namespace: str | None = None
    chart: str | None = None


@lru_cache(maxsize=64)
def compiled(source: str) -> jinja2.Template:
    """Templates are constants of the code: compile each once."""
    return JINJA.from_string(source)


def render_values(source: str, context: dict) -> dict:
    """The values template rendered over `context`, parsed as YAML."""
    try:
        return yaml.safe_load(compiled(source).render(context)) or {}
    except (jinja2.TemplateError, yaml.YAMLError) as e:
        msg = f"cannot render Helm values: {e}"
        raise PlatformError(msg) from e


def add_helm_release(release: HelmRelease, providerconfig_resource: str, composition, name: str, uses=None):
    """A Release installed through the ProviderConfig composed as
    `providerconfig_resource`."""
    providerconfig = composition.composed.get(providerconfig_resource)
    if providerconfig is None:
        msg = f"{name} needs the ProviderConfig {providerconfig_resource}, which is not composed"
        raise PlatformError(msg)
    body = {
        "apiVersion": API_VERSION,
        "kind": "Release",
        "spec": {
            "providerConfigRef": {"name": providerconfig["metadata"]["name"]},
            "forProvider": {
                "chart": {
                    "name": release.chart or release.name,
                    "repository": release.repo,
                    "version": release.version,
                },
                "namespace": release.namespace or release.name,
                "values": render_values(release.values, composition.template_context),
            },
        },
    }
    compose(composition, name, body, external_name=release.name, uses=uses)
