//! The AKS cluster: OIDC issuer and workload identity on, a small system
//! pool (user pools come from the claim), overlay pod networking.

use serde_json::{Map, Value, json};

use super::{group, zones};
use crate::platform::claim::Platform;
use crate::platform::compose::{Plan, managed, select};
use crate::platform::observed::Observed;
use crate::platform::status::{put, put_zone};

pub const API_VERSION: &str = "containerservice.azure.upbound.io/v1beta2";

pub fn add(p: &Platform, plan: &mut Plan) {
    let system_vm = p
        .env_str("azure.systemPool.vmSize")
        .or_else(|| p.env_str("defaultMachineType"))
        .unwrap_or("Standard_D2s_v5");
    let mut fp = json!({
        "location": p.id.location,
        "resourceGroupName": group(p),
        "dnsPrefix": p.id.cluster,
        "identity": {"type": "SystemAssigned"},
        "oidcIssuerEnabled": true,
        "workloadIdentityEnabled": true,
        "skuTier": p.env_str("azure.skuTier").unwrap_or("Free"),
        "defaultNodePool": {
            "name": "system",
            "vmSize": system_vm,
            "autoScalingEnabled": true,
            "minCount": 1,
            "maxCount": 3,
            "onlyCriticalAddonsEnabled": true,
            "temporaryNameForRotation": "systemtmp",
            "vnetSubnetIdSelector": select("subnet"),
            "upgradeSettings": {"maxSurge": "10%"},
            "zones": zones(p),
        },
        "networkProfile": {
            "networkPlugin": "azure",
            "networkPluginMode": "overlay",
            "networkPolicy": "calico",
            "podCidr": p.network.pods.to_string(),
            "serviceCidr": p.network.services.to_string(),
            "dnsServiceIp": p.network.services.host(10),
            "loadBalancerSku": "standard",
            "outboundType": if p.private { "userAssignedNATGateway" } else { "loadBalancer" },
        },
    });
    if let Some(version) = &p.kubernetes_version {
        fp["kubernetesVersion"] = json!(version);
    }
    let uses: &[&str] = if p.private {
        &["subnet", "subnet-nat-association", "resource-group"]
    } else {
        &["subnet", "resource-group"]
    };
    plan.add(
        managed("cluster", API_VERSION, "KubernetesCluster", fp)
            // The autoscaler owns the size after creation.
            .init_provider(json!({"defaultNodePool": {"nodeCount": 1}}))
            .named(p.external_name("cluster", p.id.cluster.clone()))
            .secret(&p.named("kubeconfig"), &p.secret_namespace)
            .uses(uses)
            // The API server's DNS prefix replaces the cluster when it
            // changes; zones rotate the system pool.
            .fixed_at_creation(&["/dnsPrefix", "/defaultNodePool/zones"]),
    );
}

pub fn status(p: &Platform, observed: Observed<'_>) -> Map<String, Value> {
    let mut status = Map::new();
    let host = observed
        .text("cluster", "/fqdn")
        .or_else(|| observed.text("cluster", "/privateFqdn"));
    put(
        &mut status,
        "clusterEndpoint",
        host.map(|h| format!("https://{h}:443")).as_deref(),
    );
    let ca = observed.connection_text("cluster", "kubeconfig.clustercacertificate");
    put(&mut status, "clusterCA", ca.as_deref());
    put(
        &mut status,
        "oidcIssuer",
        observed.text("cluster", "/oidcIssuerUrl"),
    );
    put_zone(
        &mut status,
        p,
        observed.at_provider("public-dns-zone", "/nameServers"),
    );
    status
}
