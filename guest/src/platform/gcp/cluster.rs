//! The GKE cluster: VPC-native, Workload Identity, private nodes when
//! private, its default pool removed in favour of the claim's pools.

use serde_json::{Map, Value, json};

use crate::platform::claim::Platform;
use crate::platform::compose::{Plan, managed, select};
use crate::platform::observed::Observed;
use crate::platform::status::{put, put_zone};

pub const API_VERSION: &str = "container.gcp.upbound.io/v1beta2";

pub fn workload_pool(p: &Platform) -> String {
    format!("{}.svc.id.goog", p.id.plane)
}

pub fn add(p: &Platform, plan: &mut Plan) {
    let mut fp = json!({
        "project": p.id.plane,
        "location": p.id.location,
        // Terraform's default `true` blocks every delete.
        "deletionProtection": false,
        "initialNodeCount": 1,
        "removeDefaultNodePool": true,
        "networkSelector": select("network"),
        "subnetworkSelector": select("subnet"),
        "ipAllocationPolicy": {
            "clusterSecondaryRangeName": "pods",
            "servicesSecondaryRangeName": "services",
        },
        "workloadIdentityConfig": {"workloadPool": workload_pool(p)},
        "releaseChannel": {"channel": p.env_str("gcp.releaseChannel").unwrap_or("REGULAR")},
    });
    if let Some(version) = &p.kubernetes_version {
        fp["minMasterVersion"] = json!(version);
    }
    if p.private {
        // Private nodes, public endpoint: the Helm provider must reach it.
        fp["privateClusterConfig"] = json!({
            "enablePrivateNodes": true,
            "enablePrivateEndpoint": false,
            "masterIpv4CidrBlock": p.network.master.to_string(),
        });
    }
    let uses: &[&str] = if p.private {
        &["subnet", "nat"]
    } else {
        &["subnet"]
    };
    plan.add(
        managed("cluster", API_VERSION, "Cluster", fp)
            .named(p.external_name("cluster", p.id.cluster.clone()))
            // The first pool, removed once created, runs as the nodes'
            // account too (the default compute account may be disabled);
            // only at creation, since the pool is gone after.
            .init_provider(json!({"nodeConfig": {
                "serviceAccount": super::identity::node_account(p),
                "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
            }}))
            .secret(&p.named("kubeconfig"), &p.secret_namespace)
            .uses(uses)
            .uses_all(super::identity::node_account_uses()),
    );
}

pub fn status(p: &Platform, observed: Observed<'_>) -> Map<String, Value> {
    let mut status = Map::new();
    let endpoint = observed
        .text("cluster", "/endpoint")
        .map(|e| format!("https://{e}"));
    put(&mut status, "clusterEndpoint", endpoint.as_deref());
    put(
        &mut status,
        "clusterCA",
        observed.text("cluster", "/masterAuth/clusterCaCertificate"),
    );
    put(
        &mut status,
        "workloadPool",
        observed.text("cluster", "/workloadIdentityConfig/workloadPool"),
    );
    put_zone(
        &mut status,
        p,
        observed.at_provider("public-dns-zone", "/nameServers"),
    );
    status
}
