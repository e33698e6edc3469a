//! EKS managed node groups: bounds in `scalingConfig`, the desired size
//! only at creation (`initProvider`) so the cluster autoscaler owns it.

use serde_json::json;

use super::cluster::{EKS, role};
use super::network::ACCESS_LABEL;
use crate::platform::claim::Platform;
use crate::platform::compose::{Plan, managed, select, select_label};
use crate::platform::merge::merged;

/// An EKS node group is named `<cluster>-<pool>`, at most 63 letters,
/// digits, dashes and underscores; the cluster part takes up to 41.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    let valid = (1..=22).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(
            "EKS pool names are 1 to 22 letters, digits, dashes and underscores, starting with a letter or digit, so that <cluster>-<pool> fits EKS's 63 characters",
        )
    }
}

pub fn add(p: &Platform, plan: &mut Plan) {
    let attachments = role(
        p,
        plan,
        "role-nodes",
        "nodes",
        "ec2.amazonaws.com",
        &[
            ("AmazonEKSWorkerNodePolicy", "worker-policy"),
            ("AmazonEKS_CNI_Policy", "cni-policy"),
            ("AmazonEC2ContainerRegistryReadOnly", "ecr-policy"),
        ],
    );
    let access = if p.private { "private" } else { "public" };
    let cluster_name = p.external_name("cluster", p.id.cluster.clone());
    for pool in &p.pools {
        let name = pool.resource();
        let mut fp = json!({
            "region": p.id.location,
            "clusterNameSelector": select("cluster"),
            "nodeRoleArnSelector": select("role-nodes"),
            "subnetIdSelector": select_label(ACCESS_LABEL, access),
            "scalingConfig": {"minSize": pool.min, "maxSize": pool.max},
            "instanceTypes": [pool.machine_type],
            "capacityType": "ON_DEMAND",
            "updateConfig": {"maxUnavailable": 1},
            "tags": merged(super::tags(p, &p.named(&pool.name)), &super::autoscaler::discovery_tags(p)),
        });
        if let Some(disk) = pool.disk_gb {
            fp["diskSize"] = json!(disk);
        }
        if !pool.labels.is_empty() {
            fp["labels"] = json!(pool.labels);
        }
        let mut uses = vec!["cluster".to_string(), "role-nodes".to_string()];
        uses.extend(attachments.iter().cloned());
        plan.add(
            managed(&name, &format!("{EKS}/v1beta2"), "NodeGroup", fp)
                .init_provider(json!({"scalingConfig": {"desiredSize": pool.min}}))
                .named(p.external_name(&name, p.named(&pool.name)))
                .uses_all(uses)
                .import_params(json!({"clusterName": cluster_name})),
        );
    }
}
