//! AKS user node pools: autoscaled, the node count only at creation.

use serde_json::json;

use super::cluster::API_VERSION;
use crate::platform::claim::Platform;
use crate::platform::compose::{Plan, managed, select};

/// AKS pool names: lowercase letters and digits, at most 12.
/// AKS names a Linux pool with 1 to 12 lowercase letters and digits,
/// starting with a letter; `system` is the cluster's own pool.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    let valid = (1..=12).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name != "system";
    if valid {
        Ok(())
    } else {
        Err(
            "AKS pool names are 1 to 12 lowercase letters and digits, starting with a letter, and not system (the cluster's own pool)",
        )
    }
}

/// The name AKS gives the pool while it rotates it (at most 12 characters
/// and never the pool's own name).
fn rotation_name(name: &str) -> String {
    let stem = &name[..name.len().min(11)];
    let last = if stem.len() == name.len() - 1 && name.ends_with('t') {
        'r'
    } else {
        't'
    };
    format!("{stem}{last}")
}

pub fn add(p: &Platform, plan: &mut Plan) {
    for pool in &p.pools {
        let name = pool.resource();
        let mut fp = json!({
            "kubernetesClusterIdSelector": select("cluster"),
            "mode": "User",
            "vmSize": pool.machine_type,
            "autoScalingEnabled": true,
            "minCount": pool.min,
            "maxCount": pool.max,
            "vnetSubnetIdSelector": select("subnet"),
            "temporaryNameForRotation": rotation_name(&pool.name),
            "zones": super::zones(p),
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
                .named(p.external_name(&name, pool.name.clone()))
                .uses(&["cluster"])
                // New zones rotate the pool: one that exists keeps its own.
                .fixed_at_creation(&["/zones"]),
        );
    }
}
