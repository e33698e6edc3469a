"""The merged EnvironmentConfigs of a composite.

The seed's Composition selects them (baseline, cloud, planeType) in its
`environment` block, and Crossplane hands the merged data to the function
in the context. Where no earlier step set the context (Crossplane 2
dropped that block), the same three are asked for as required resources
and merged here, baseline first, later layers winning."""

from crossplane.function import resource, response

CONTEXT_KEY = "apiextensions.crossplane.io/environment"
API_VERSION = "apiextensions.crossplane.io/v1beta1"
KIND = "EnvironmentConfig"


def layers(labels: dict) -> list[tuple[str, str, str]]:
    """(requirement name, label, value) per layer, in merge order."""
    found = [
        ("environment-baseline", "baseline", "default"),
        ("environment-cloud", "cloud", labels.get("cloud", "")),
    ]
    if labels.get("planeType"):
        found.append(("environment-plane-type", "planeType", labels["planeType"]))
    return found


def from_context(req) -> dict | None:
    """The environment Crossplane put in the context, without its
    apiVersion and kind; None when there is none."""
    if CONTEXT_KEY not in req.context.fields:
        return None
    env = resource.struct_to_dict(req.context[CONTEXT_KEY])
    env.pop("apiVersion", None)
    env.pop("kind", None)
    return env


def require(rsp, labels: dict) -> None:
    """Asks for the EnvironmentConfigs, under the current and the
    deprecated field so Crossplane 1.x and 2.x both answer."""
    for name, label, value in layers(labels):
        response.require_resources(rsp, name, API_VERSION, KIND, match_labels={label: value})
        rsp.requirements.extra_resources[name].CopyFrom(rsp.requirements.resources[name])


def from_required(req, labels: dict, merge) -> dict | None:
    """The layers Crossplane answered, merged; None until it answered."""
    env: dict = {}
    for name, _, _ in layers(labels):
        if name in req.required_resources:
            answer = req.required_resources[name]
        elif name in req.extra_resources:
            answer = req.extra_resources[name]
        else:
            return None
        items = [resource.struct_to_dict(i.resource) for i in answer.items]
        for item in sorted(items, key=lambda i: i.get("metadata", {}).get("name", "")):
            env = merge(env, item.get("data", {}))
    return env
