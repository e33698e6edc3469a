"""GKE node pool; the pool's own settings come in the template."""

from myplatform.core import Resource

api_version = "container.gcp.upbound.io/v1beta2"


def add_nodepool(r: Resource):
    return {
        "apiVersion": api_version,
        "spec": {
            "forProvider": {
                "project": r.composition.plane,
                "location": r.composition.location,
                "clusterSelector": {"matchControllerRef": True},
                "management": {"autoRepair": True, "autoUpgrade": True},
                "nodeConfig": {
                    "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
                    # Workload Identity on the nodes.
                    "workloadMetadataConfig": {"mode": "GKE_METADATA"},
                },
            }
        },
    }
