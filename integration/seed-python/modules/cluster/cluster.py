"""Main deployment logic."""

import myplatform as myplatform
from myplatform import ClusterComposition
from myplatform.import_manager import is_import_enabled

from .import_cluster import deploy_import_cluster


def deploy_cluster(c: ClusterComposition):
    """Main entry point for cluster deployment."""
    # Check for import workflow
    if is_import_enabled(c):
        c.log.info("Import mode detected")
        deploy_import_cluster(c)
        return
    # Normal deployment flow
    c.log.info(f"Deploying cluster {c.cluster} on {c.cloud}")
    # Core infrastructure
    deploy_networking(c)
    deploy_cluster_resources(c)
    deploy_node_pools(c)
    # DNS if requested
    if c.create_dns:
        deploy_dns(c)
    # Provider configs for accessing the cluster
    deploy_provider_configs(c)
    # Applications
    deploy_helm_releases(c)
    # Update XR status
    update_xr_status(c)
    c.log.info(f"Cluster {c.cluster} deployment complete")


def deploy_networking(c: ClusterComposition):
    """Deploy VPC, subnets, NAT (if private)."""
    c.log.info("Deploying networking")
    myplatform.add_network(
        composition=c,
        name="network",
        external_name=f"{c.cluster}-vpc",
    )
    myplatform.add_subnetwork(
        composition=c,
        name="subnet",
        external_name=f"{c.cluster}-subnet",
        template={
            "spec": {
                "forProvider": {
                    "ipCidrRange": c.subnet_cidr,
                    "secondaryIpRanges": [
                        {"rangeName": "pods", "ipCidrRange": c.pods_cidr},
                        {"rangeName": "services", "ipCidrRange": c.services_cidr},
                    ],
                }
            }
        },
        uses=["network"],
    )
    if c.is_private:
        myplatform.add_router(
            composition=c,
            name="router",
            external_name=f"{c.cluster}-router",
            uses=["network"],
        )
        myplatform.add_nat(
            composition=c,
            name="nat",
            external_name=f"{c.cluster}-nat",
            uses=["router"],
        )


def deploy_cluster_resources(c: ClusterComposition):
    """Deploy the Kubernetes cluster."""
    c.log.info(f"Deploying {c.cloud} cluster")
    myplatform.add_cluster(
        composition=c,
        name="cluster",
        external_name=c.cluster,
        template={
            "spec": {
                "forProvider": c.for_provider,
                "writeConnectionSecretToRef": {
                    "namespace": c.ns,
                    "name": f"cluster.{c.cluster}",
                },
            }
        },
        uses=["subnet"],
    )


def deploy_node_pools(c: ClusterComposition):
    """Deploy node pools."""
    c.log.info(f"Deploying {len(c.pools)} node pools")
    for pool_name, pool_config in c.pools.items():
        myplatform.add_nodepool(
            composition=c,
            name=f"nodepool-{pool_name}",
            external_name=f"{c.cluster}-{pool_name}",
            template={"spec": {"forProvider": pool_config}},
            uses=["cluster"],
        )


def deploy_dns(c: ClusterComposition):
    """Deploy DNS zones and records."""
    c.log.info(f"Deploying DNS for {c.domain}")
    # Public zone
    myplatform.add_dns_zone(
        composition=c,
        name="public_dns_zone",
        external_name=c.domain.replace(".", "-"),
        template={
            "spec": {
                "forProvider": {
                    "dnsName": f"{c.domain}.",
                    "visibility": "public",
                }
            }
        },
    )
    # Private zone (for internal services)
    if c.is_private:
        myplatform.add_dns_zone(
            composition=c,
            name="private_dns_zone",
            external_name=f"{c.domain.replace('.', '-')}-private",
            template={
                "spec": {
                    "forProvider": {
                        "dnsName": f"internal.{c.domain}.",
                        "visibility": "private",
                    }
                }
            },
            uses=["network"],
        )


def deploy_provider_configs(c: ClusterComposition):
    """Deploy Helm and Kubernetes provider configs."""
    c.log.info("Deploying provider configs")
    # Helm provider config
    myplatform.add_helm_providerconfig(
        composition=c,
        name="helm_providerconfig",
        uses=["cluster"],
    )
    # Kubernetes provider config
    myplatform.add_k8s_providerconfig(
        composition=c,
        name="k8s_providerconfig",
        uses=["cluster"],
    )


def deploy_helm_releases(c: ClusterComposition):
    """Deploy Helm charts based on environment config."""
    c.log.info("Deploying Helm releases")
    charts = c.env.get("charts", {})
    # cert-manager
    if not charts.get("cert-manager", {}).get("disabled"):
        add_cert_manager(c)
    # ingress-nginx
    if not charts.get("ingress-nginx", {}).get("disabled"):
        add_ingress_nginx(c)
    # monitoring stack
    if c.has_monitoring and not charts.get("monitoring", {}).get("disabled"):
        add_monitoring_stack(c)


def add_cert_manager(c: ClusterComposition):
    """Deploy cert-manager."""
    from myplatform.resources.helm import HelmRelease, add_helm_release

    config = c.env.get("charts", {}).get("cert-manager", {})
    add_helm_release(
        release=HelmRelease(
            name="cert-manager",
            repo="https://charts.jetstack.io",
            version=config.get("version", "v1.14.0"),
            values="""
installCRDs: true
prometheus:
  enabled: {{ monitoring.enabled | default(true) }}
""",
        ),
        providerconfig_resource="helm_providerconfig",
        composition=c,
        name="helm-cert-manager",
        uses=["helm_providerconfig"],
    )


def add_ingress_nginx(c: ClusterComposition):
    """Deploy ingress-nginx with cloud-specific annotations."""
    from myplatform.resources.helm import HelmRelease, add_helm_release

    config = c.env.get("charts", {}).get("ingress-nginx", {})
    add_helm_release(
        release=HelmRelease(
            name="ingress-nginx",
            repo="https://kubernetes.github.io/ingress-nginx",
            version=config.get("version", "4.9.0"),
            values="""
controller:
  replicaCount: {{ ingress_replicas | default(2) }}
  service:
    annotations:
{% if cloud == "gcp" %}
      cloud.google.com/load-balancer-type: "Internal"
{% elif cloud == "aws" %}
      service.beta.kubernetes.io/aws-load-balancer-scheme: "internal"
{% elif cloud == "azure" %}
      service.beta.kubernetes.io/azure-load-balancer-internal: "true"
{% endif %}
  metrics:
    enabled: {{ monitoring.enabled | default(true) }}
""",
        ),
        providerconfig_resource="helm_providerconfig",
        composition=c,
        name="helm-ingress-nginx",
        uses=["helm_providerconfig", "helm-cert-manager"],
    )


def add_monitoring_stack(c: ClusterComposition):
    """Deploy Prometheus/Grafana stack."""
    from myplatform.resources.helm import HelmRelease, add_helm_release

    config = c.env.get("charts", {}).get("monitoring", {})
    add_helm_release(
        release=HelmRelease(
            name="kube-prometheus-stack",
            repo="https://prometheus-community.github.io/helm-charts",
            version=config.get("version", "56.0.0"),
            namespace="monitoring",
            values="""
prometheus:
  prometheusSpec:
    retention: {{ monitoring.retention | default("30d") }}
grafana:
  enabled: true
  adminPassword: {{ monitoring.grafana.admin_password | default("admin") }}
alertmanager:
  enabled: true
""",
        ),
        providerconfig_resource="helm_providerconfig",
        composition=c,
        name="helm-monitoring",
        uses=["helm_providerconfig"],
    )


def update_xr_status(c: ClusterComposition):
    """Update XR status with cluster info."""
    from myplatform.core import get_status_field

    endpoint = get_status_field(c.observed, "cluster", "endpoint")
    ca_cert = get_status_field(c.observed, "cluster", "certificateAuthority")
    if endpoint:
        status = {"clusterEndpoint": endpoint, "clusterCA": ca_cert}
        # A field the cloud does not report stays unset rather than null.
        c.desired.composite.resource["status"] = {k: v for k, v in status.items() if v is not None}
