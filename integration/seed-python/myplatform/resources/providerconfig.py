"""Helm and Kubernetes ProviderConfigs reaching the new cluster through
the kubeconfig in the cluster's connection secret."""

from myplatform.core import compose


def kubeconfig(c) -> dict:
    """Credentials from the secret the cluster writes (see
    deploy_cluster_resources: writeConnectionSecretToRef)."""
    return {
        "source": "Secret",
        "secretRef": {"namespace": c.ns, "name": f"cluster.{c.cluster}", "key": "kubeconfig"},
    }


def add_helm_providerconfig(composition, name, uses=None):
    body = {
        "apiVersion": "helm.crossplane.io/v1beta1",
        "kind": "ProviderConfig",
        "metadata": {"name": composition.cluster},
        "spec": {"credentials": kubeconfig(composition)},
    }
    compose(composition, name, body, uses=uses)


def add_k8s_providerconfig(composition, name, uses=None):
    body = {
        "apiVersion": "kubernetes.crossplane.io/v1alpha1",
        "kind": "ProviderConfig",
        "metadata": {"name": composition.cluster},
        "spec": {"credentials": kubeconfig(composition)},
    }
    compose(composition, name, body, uses=uses)
