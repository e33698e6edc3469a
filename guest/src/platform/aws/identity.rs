//! EKS Pod Identity for cert-manager: the agent add-on, a role trusted by
//! `pods.eks.amazonaws.com` and the association with its service account.

use serde_json::json;

use super::cluster::{EKS, IAM};
use super::trust;
use crate::platform::claim::Platform;
use crate::platform::compose::{Part, Plan, managed, select};
use crate::platform::helm;

pub const POD_IDENTITY: &str = "pod-identity-cert-manager";

pub fn add(p: &Platform, plan: &mut Plan) {
    plan.add(
        managed(
            "addon-pod-identity-agent",
            &format!("{EKS}/v1beta1"),
            "Addon",
            json!({
                "region": p.id.location,
                "addonName": "eks-pod-identity-agent",
                "clusterNameSelector": select("cluster"),
                "resolveConflictsOnCreate": "OVERWRITE",
            }),
        )
        .uses(&["cluster"]),
    );
    let mut role = json!({
        "assumeRolePolicy": trust("pods.eks.amazonaws.com", &["sts:AssumeRole", "sts:TagSession"]),
        "description": format!("cert-manager of cluster {}", p.id.cluster),
        "tags": super::tags(p, &p.named("cert-manager")),
    });
    if p.dns {
        // DNS01 challenges write TXT records in the cluster's zones.
        role["inlinePolicy"] = json!([{
            "name": "route53-dns01",
            "policy": json!({
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "route53:GetChange", "Resource": "arn:aws:route53:::change/*"},
                    {"Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"], "Resource": "arn:aws:route53:::hostedzone/*"},
                    {"Effect": "Allow", "Action": "route53:ListHostedZonesByName", "Resource": "*"},
                ],
            }).to_string(),
        }]);
    }
    plan.add(
        managed("role-cert-manager", IAM, "Role", role)
            .named(p.external_name("role-cert-manager", p.named("cert-manager"))),
    );
    plan.add(pod_identity(
        p,
        POD_IDENTITY,
        helm::namespace(p, "cert-manager"),
        "cert-manager",
        "role-cert-manager",
    ));
}

/// Binds a service account to an IAM role through EKS Pod Identity.
pub fn pod_identity(
    p: &Platform,
    name: &str,
    namespace: String,
    service_account: &str,
    role: &str,
) -> Part {
    managed(
        name,
        &format!("{EKS}/v1beta1"),
        "PodIdentityAssociation",
        json!({
            "region": p.id.location,
            "clusterNameSelector": select("cluster"),
            "namespace": namespace,
            "serviceAccount": service_account,
            "roleArnSelector": select(role),
        }),
    )
    .uses(&["cluster", role, "addon-pod-identity-agent"])
}
