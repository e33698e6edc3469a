"""GKE cluster configuration."""

from myplatform.core import Resource

api_version = "container.gcp.upbound.io/v1beta2"


def add_cluster(r: Resource):
    """GKE cluster configuration."""
    return {
        "apiVersion": api_version,
        "spec": {
            "forProvider": {
                "project": r.composition.plane,
                "location": r.composition.location,
                "deletionProtection": False,
                "initialNodeCount": 1,
                "removeDefaultNodePool": True,
                "workloadIdentityConfig": {
                    "workloadPool": f"{r.composition.plane}.svc.id.goog",
                },
                "privateClusterConfig": {
                    "enablePrivateNodes": r.composition.is_private,
                    "masterIpv4CidrBlock": "172.16.0.0/28",
                },
            }
        },
    }
