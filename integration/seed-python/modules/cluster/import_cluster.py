"""Import workflow: adopt an existing cluster and its infrastructure."""

from myplatform import ClusterComposition
from myplatform.import_manager import MANAGE, import_mode, imported


def deploy_import_cluster(c: ClusterComposition):
    """Observe mode composes the listed resources read-only; manage mode
    runs the whole deployment, taking over the listed resources."""
    # Imported here: cluster.py imports this module at its top.
    from . import cluster as deploy

    mode = import_mode(c)
    c.log.info(f"Importing {', '.join(sorted(imported(c))) or 'nothing'} in {mode} mode")
    deploy.deploy_networking(c)
    deploy.deploy_cluster_resources(c)
    deploy.deploy_node_pools(c)
    if c.create_dns:
        deploy.deploy_dns(c)
    if mode == MANAGE:
        deploy.deploy_provider_configs(c)
        deploy.deploy_helm_releases(c)
    deploy.update_xr_status(c)
