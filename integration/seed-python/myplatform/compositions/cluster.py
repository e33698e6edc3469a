"""Composition class for Kubernetes clusters."""

from dataclasses import dataclass
from functools import cached_property

from pydash import get

from .base import Composition


@dataclass
class ClusterComposition(Composition):
    """Composition class for Kubernetes clusters."""

    def __post_init__(self):
        super().__post_init__()
        # Cluster identity
        self.cluster = self.labels.get("clusterName", self.name)
        self.plane = self.labels.get("planeId", "")
        self.ns = self.labels.get("crossplane.io/claim-namespace", "default")
        # Domain configuration
        self.domain = self.params.get("domain", "")
        self.create_dns = self.params.get("createDnsZones", True) and bool(self.domain)
        # Node pools from spec
        self.pools = self.params.get("pools", {})
        if not self.pools:
            # Default pool if none specified
            self.pools = {
                "default": {
                    "nodeConfig": {"machineType": self.env.get("defaultMachineType", "e2-medium")},
                    "autoscaling": {"minNodeCount": 1, "maxNodeCount": 3},
                }
            }
        # Networking from environment
        self.network = get(self.env, "network", {})
        self.subnet_cidr = get(self.network, "subnetCidr", "10.0.0.0/24")
        self.pods_cidr = get(self.network, "podsCidr", "10.1.0.0/16")
        self.services_cidr = get(self.network, "servicesCidr", "10.2.0.0/16")

    @property
    def is_private(self) -> bool:
        """Whether this is a private cluster."""
        return self.params.get("privateCluster", True)

    @property
    def has_monitoring(self) -> bool:
        """Whether monitoring is enabled."""
        return get(self.env, "monitoring.enabled", True)

    @cached_property
    def template_context(self) -> dict:
        """What Helm values templates see: the environment plus identity."""
        return {
            **self.env,
            "cloud": self.cloud,
            "cluster": self.cluster,
            "plane": self.plane,
            "domain": self.domain,
            "location": self.location,
            "namespace": self.ns,
        }
