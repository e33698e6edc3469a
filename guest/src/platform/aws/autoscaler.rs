//! Cluster Autoscaler. An EKS managed node group only carries its scaling
//! bounds; nothing moves its size between them without an autoscaler. It
//! runs with its own Pod Identity role, which may resize only the groups
//! tagged for this cluster.

use serde_json::{Value, json};

use super::cluster::IAM;
use super::trust;
use crate::platform::claim::Platform;
use crate::platform::compose::{Plan, managed};
use crate::platform::helm::{self, Chart};

pub const ROLE: &str = "role-cluster-autoscaler";
pub const POD_IDENTITY: &str = "pod-identity-cluster-autoscaler";
const SERVICE_ACCOUNT: &str = "cluster-autoscaler";

/// Tuning an environment may replace (`charts.cluster-autoscaler.values`);
/// the cluster's name, region and service account come from the cloud.
const VALUES: &str = r#"extraArgs:
  balance-similar-node-groups: true
  skip-nodes-with-system-pods: false
  expander: least-waste
"#;

pub const CHARTS: &[Chart] = &[Chart {
    key: "cluster-autoscaler",
    resource: "helm-cluster-autoscaler",
    chart: "cluster-autoscaler",
    repository: "https://kubernetes.github.io/autoscaler",
    version: "9.56.0",
    namespace: "kube-system",
    template: VALUES,
    after: &[],
    needs: &[],
    wait_timeout: "10m",
    service_annotations: None,
}];

/// The EKS cluster's name, which node groups' auto-discovery tags carry.
pub fn cluster_name(p: &Platform) -> String {
    p.external_name("cluster", p.id.cluster.clone())
}

/// The auto-discovery tags. EKS puts them on a managed group's Auto Scaling
/// group itself; the node group carries them too, so they show where the
/// platform declares them.
pub fn discovery_tags(p: &Platform) -> Value {
    json!({
        "k8s.io/cluster-autoscaler/enabled": "true",
        format!("k8s.io/cluster-autoscaler/{}", cluster_name(p)): "owned",
    })
}

/// What the autoscaler's documentation asks for on AWS, and no more: it
/// reads groups and instance types anywhere, and resizes or terminates
/// only in groups owned by this cluster.
fn policy(p: &Platform) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "autoscaling:SetDesiredCapacity",
                    "autoscaling:TerminateInstanceInAutoScalingGroup",
                ],
                "Resource": "*",
                "Condition": {"StringEquals": {
                    format!("aws:ResourceTag/k8s.io/cluster-autoscaler/{}", cluster_name(p)): "owned",
                }},
            },
            {
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                    "eks:DescribeNodegroup",
                ],
                "Resource": "*",
            },
        ],
    })
    .to_string()
}

pub fn add(p: &Platform, plan: &mut Plan) {
    plan.add(
        managed(
            ROLE,
            IAM,
            "Role",
            json!({
                "assumeRolePolicy": trust("pods.eks.amazonaws.com", &["sts:AssumeRole", "sts:TagSession"]),
                "description": format!("cluster-autoscaler of cluster {}", p.id.cluster),
                "inlinePolicy": [{"name": "cluster-autoscaler", "policy": policy(p)}],
                "tags": super::tags(p, &p.named("autoscaler")),
            }),
        )
        .named(p.external_name(ROLE, p.named("autoscaler"))),
    );
    plan.add(super::identity::pod_identity(
        p,
        POD_IDENTITY,
        helm::chart_namespace(p, &CHARTS[0]),
        SERVICE_ACCOUNT,
        ROLE,
    ));
}

pub fn chart_values(p: &Platform) -> Value {
    json!({
        "cloudProvider": "aws",
        "awsRegion": p.id.location,
        "autoDiscovery": {"clusterName": cluster_name(p)},
        "rbac": {"serviceAccount": {"create": true, "name": SERVICE_ACCOUNT}},
    })
}
