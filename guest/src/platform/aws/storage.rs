//! Block storage. EKS clusters since 1.30 have no default StorageClass and
//! no EBS CSI driver, so a PersistentVolumeClaim (Prometheus's volume)
//! would stay Pending: the driver add-on runs with its own Pod Identity
//! role and creates the default StorageClass.

use serde_json::json;

use super::cluster::{EKS, IAM};
use super::trust;
use crate::platform::claim::Platform;
use crate::platform::compose::{Plan, managed, select};

pub const ADDON: &str = "addon-ebs-csi-driver";
const ROLE: &str = "role-ebs-csi";
const ATTACHMENT: &str = "role-ebs-csi-policy";
const SERVICE_ACCOUNT: &str = "ebs-csi-controller-sa";

pub fn add(p: &Platform, plan: &mut Plan) {
    let role_name = p.external_name(ROLE, p.named("ebs-csi"));
    plan.add(
        managed(
            ROLE,
            IAM,
            "Role",
            json!({
                "assumeRolePolicy": trust("pods.eks.amazonaws.com", &["sts:AssumeRole", "sts:TagSession"]),
                "description": format!("EBS CSI driver of cluster {}", p.id.cluster),
                "tags": super::tags(p, &p.named("ebs-csi")),
            }),
        )
        .named(role_name.clone()),
    );
    plan.add(
        managed(
            ATTACHMENT,
            IAM,
            "RolePolicyAttachment",
            json!({
                "policyArn": "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
                "roleSelector": select(ROLE),
            }),
        )
        .uses(&[ROLE]),
    );
    plan.add(
        managed(
            ADDON,
            &format!("{EKS}/v1beta1"),
            "Addon",
            json!({
                "region": p.id.location,
                "addonName": "aws-ebs-csi-driver",
                "clusterNameSelector": select("cluster"),
                "resolveConflictsOnCreate": "OVERWRITE",
                // The association takes the role's ARN itself: the plane
                // is the account, and the role's name is the platform's.
                "podIdentityAssociation": [{
                    "roleArn": format!("arn:aws:iam::{}:role/{role_name}", p.id.plane),
                    "serviceAccount": SERVICE_ACCOUNT,
                }],
                "configurationValues": json!({"defaultStorageClass": {"enabled": true}}).to_string(),
            }),
        )
        .uses(&["cluster", ROLE, ATTACHMENT, "addon-pod-identity-agent"]),
    );
}
