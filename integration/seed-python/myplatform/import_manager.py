"""Import workflow: adopt existing infrastructure instead of creating it.

spec.parameters.import = {enabled, mode: observe|manage, resources:
{<resource name>: <external name>}}. Observe mode composes only the
listed resources, read-only; manage mode composes everything and takes
over the listed ones, orphaning them on delete."""

from pydash import get

OBSERVE = "observe"
MANAGE = "manage"


def is_import_enabled(c) -> bool:
    return bool(get(c.params, "import.enabled", False))


def import_mode(c) -> str:
    return get(c.params, "import.mode", OBSERVE)


def imported(c) -> dict:
    """Resource name to the external name of what exists already."""
    return get(c.params, "import.resources", {}) or {}


def skips(c, name: str) -> bool:
    """Observe mode creates nothing: unlisted resources are left out."""
    return is_import_enabled(c) and import_mode(c) == OBSERVE and name not in imported(c)


def apply(c, name: str, body: dict) -> dict:
    """The adopted resource's external name and management policy."""
    if not is_import_enabled(c) or name not in imported(c):
        return body
    metadata = body.setdefault("metadata", {})
    metadata.setdefault("annotations", {})["crossplane.io/external-name"] = imported(c)[name]
    spec = body.setdefault("spec", {})
    if import_mode(c) == OBSERVE:
        spec["managementPolicies"] = ["Observe"]
    else:
        spec["deletionPolicy"] = "Orphan"
    return body
