"""VPC, subnet, Cloud Router and Cloud NAT."""

from myplatform.core import Resource

from . import region

api_version = "compute.gcp.upbound.io/v1beta1"

# The composite controls one of each, so its own controller ref selects it.
SAME_COMPOSITE = {"matchControllerRef": True}


def add_network(r: Resource):
    return {
        "apiVersion": api_version,
        "spec": {
            "forProvider": {
                "project": r.composition.plane,
                "autoCreateSubnetworks": False,
                "routingMode": "REGIONAL",
            }
        },
    }


def add_subnetwork(r: Resource):
    return {
        "apiVersion": api_version,
        "spec": {
            "forProvider": {
                "project": r.composition.plane,
                "region": region(r.composition.location),
                "networkSelector": SAME_COMPOSITE,
                "privateIpGoogleAccess": True,
            }
        },
    }


def add_router(r: Resource):
    return {
        "apiVersion": api_version,
        "spec": {
            "forProvider": {
                "project": r.composition.plane,
                "region": region(r.composition.location),
                "networkSelector": SAME_COMPOSITE,
            }
        },
    }


def add_nat(r: Resource):
    """Egress for private nodes, which have no public address."""
    return {
        "apiVersion": api_version,
        "kind": "RouterNAT",
        "spec": {
            "forProvider": {
                "project": r.composition.plane,
                "region": region(r.composition.location),
                "routerSelector": SAME_COMPOSITE,
                "natIpAllocateOption": "AUTO_ONLY",
                "sourceSubnetworkIpRangesToNat": "ALL_SUBNETWORKS_ALL_IP_RANGES",
            }
        },
    }
