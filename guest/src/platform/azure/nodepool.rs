//! AKS user node pools: autoscaled, the node count only at creation.

use serde_json::json;

use super::cluster::API_VERSION;
use crate::platform::claim::Platform;
use crate::platform::compose::{Plan, managed, select};

/// AKS pool names: lowercase letters and digits, at most 12.
fn pool_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert(0, 'p');
    }
    out.truncate(12);
    out
}

pub fn add(p: &Platform, plan: &mut Plan) {
    for pool in &p.pools {
        let name = format!("nodepool-{}", pool.name);
        let mut fp = json!({
            "kubernetesClusterIdSelector": select("cluster"),
            "mode": "User",
            "vmSize": pool.machine_type,
            "autoScalingEnabled": true,
            "minCount": pool.min,
            "maxCount": pool.max,
            "vnetSubnetIdSelector": select("subnet"),
            "temporaryNameForRotation": format!("{}t", &pool_name(&pool.name)[..pool_name(&pool.name).len().min(11)]),
        });
        if let Some(disk) = pool.disk_gb {
            fp["osDiskSizeGb"] = json!(disk);
        }
        if !pool.labels.is_empty() {
            fp["nodeLabels"] = json!(pool.labels);
        }
        plan.add(
            managed(&name, API_VERSION, "KubernetesClusterNodePool", fp)
                .init_provider(json!({"nodeCount": pool.min}))
                .named(p.external_name(&name, pool_name(&pool.name)))
                .uses(&["cluster"]),
        );
    }
}
