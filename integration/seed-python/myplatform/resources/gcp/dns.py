"""Cloud DNS managed zones."""

from pydash import get

from myplatform.core import Resource

api_version = "dns.gcp.upbound.io/v1beta2"


def add_dns_zone(r: Resource):
    body = {
        "apiVersion": api_version,
        "kind": "ManagedZone",
        "spec": {
            "forProvider": {
                "project": r.composition.plane,
                "description": f"Zone of cluster {r.composition.cluster}",
            }
        },
    }
    # A private zone answers only inside the cluster's network.
    if get(r.template, "spec.forProvider.visibility") == "private":
        body["spec"]["forProvider"]["privateVisibilityConfig"] = {
            "networks": [{"networkUrlSelector": {"matchControllerRef": True}}]
        }
    return body
