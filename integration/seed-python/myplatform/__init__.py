"""The platform library: compositions and the agnostic resource layer."""

from myplatform.compositions.cluster import ClusterComposition
from myplatform.core import PlatformError, add_usage, update_response
from myplatform.resources.cluster import add_cluster
from myplatform.resources.dns import add_dns_zone
from myplatform.resources.network import add_nat, add_network, add_router, add_subnetwork
from myplatform.resources.nodepool import add_nodepool
from myplatform.resources.providerconfig import add_helm_providerconfig, add_k8s_providerconfig

__all__ = [
    "ClusterComposition",
    "PlatformError",
    "add_cluster",
    "add_dns_zone",
    "add_helm_providerconfig",
    "add_k8s_providerconfig",
    "add_nat",
    "add_network",
    "add_nodepool",
    "add_router",
    "add_subnetwork",
    "add_usage",
    "update_response",
]
