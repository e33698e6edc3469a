"""The cluster module: a Kubernetes cluster and what runs on it."""

from myplatform import ClusterComposition

from .cluster import deploy_cluster

COMPOSITION = ClusterComposition
deploy = deploy_cluster
