//! GKE node pools: autoscaled, no `nodeCount` so the autoscaler owns the
//! size, Workload Identity metadata on every node.

use serde_json::json;

use super::cluster::API_VERSION;
use crate::platform::claim::{Platform, dns_label, shortened};
use crate::platform::compose::{Plan, managed, select};

/// Zones GKE spreads a regional pool over when `nodeLocations` is unset.
const REGIONAL_ZONES: u64 = 3;

pub fn add(p: &Platform, plan: &mut Plan) {
    // A regional location spreads a pool over zones; the total bounds keep
    // the claim's numbers meaning whole-pool sizes, as on EKS and AKS.
    let regional = super::region(&p.id.location) == p.id.location;
    let cluster_name = p.external_name("cluster", p.id.cluster.clone());
    for pool in &p.pools {
        let name = pool.resource();
        // `initialNodeCount` is per zone: a regional pool starts with the
        // claim's minimum spread over its zones, not that many per zone.
        let initial = if regional {
            u64::from(pool.min).div_ceil(REGIONAL_ZONES).max(1)
        } else {
            u64::from(pool.min).max(1)
        };
        let autoscaling = if regional {
            json!({"totalMinNodeCount": pool.min, "totalMaxNodeCount": pool.max, "locationPolicy": "BALANCED"})
        } else {
            json!({"minNodeCount": pool.min, "maxNodeCount": pool.max})
        };
        let mut node_config = json!({
            "machineType": pool.machine_type,
            "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
            "workloadMetadataConfig": {"mode": "GKE_METADATA"},
            "shieldedInstanceConfig": {"enableSecureBoot": true, "enableIntegrityMonitoring": true},
            "tags": [super::network::node_tag(p)],
            "serviceAccount": super::identity::node_account(p),
        });
        if let Some(disk) = pool.disk_gb {
            node_config["diskSizeGb"] = json!(disk);
        }
        if !pool.labels.is_empty() {
            node_config["labels"] = json!(pool.labels);
        }
        plan.add(
            managed(
                &name,
                API_VERSION,
                "NodePool",
                json!({
                    "project": p.id.plane,
                    "location": p.id.location,
                    "clusterSelector": select("cluster"),
                    "autoscaling": autoscaling,
                    "initialNodeCount": initial,
                    "management": {"autoRepair": true, "autoUpgrade": true},
                    "nodeConfig": node_config,
                }),
            )
            .named(p.external_name(&name, pool_name(p, &pool.name)))
            .uses(&["cluster"])
            .uses_all(super::identity::node_account_uses())
            // Changing it replaces the pool: one that exists keeps its own.
            .fixed_at_creation(&["/nodeConfig/serviceAccount"])
            .import_params(json!({"cluster": cluster_name})),
        );
    }
}

/// `<cluster>-<pool>` within GKE's 40 characters for a node pool name;
/// names only need to be unique within their cluster, so the cluster part
/// is what gets shortened.
/// GKE names a pool with 1 to 40 lowercase letters, digits and dashes,
/// starting with a letter; the pool part leaves room for the cluster's.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    let valid = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(
            "GKE pool names are 1 to 32 lowercase letters, digits and dashes, starting with a letter and not ending with a dash",
        )
    }
}

fn pool_name(p: &Platform, pool: &str) -> String {
    const MAX: usize = 40;
    let full = p.named(pool);
    if full.len() <= MAX {
        return full;
    }
    match MAX.checked_sub(pool.len() + 1) {
        Some(room) if room > 7 => format!("{}-{pool}", shortened(&p.id.cluster, room)),
        _ => dns_label(pool, MAX),
    }
}
