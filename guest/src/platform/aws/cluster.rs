//! The EKS cluster, its IAM role and the ClusterAuth that writes a
//! refreshed kubeconfig for the Helm and Kubernetes providers.

use serde_json::{Map, Value, json};

use super::network::subnet_names;
use super::trust;
use crate::platform::claim::Platform;
use crate::platform::compose::{CLUSTER_LABEL, Plan, managed, select, select_label};
use crate::platform::observed::Observed;
use crate::platform::status::{put, put_zone};

pub const EKS: &str = "eks.aws.upbound.io";
pub const IAM: &str = "iam.aws.upbound.io/v1beta1";

/// A role and its managed-policy attachments, named `<resource>-<policy>`.
pub fn role(
    p: &Platform,
    plan: &mut Plan,
    resource: &str,
    suffix: &str,
    service: &str,
    policies: &[(&str, &str)],
) -> Vec<String> {
    plan.add(
        managed(
            resource,
            IAM,
            "Role",
            json!({
                "assumeRolePolicy": trust(service, &["sts:AssumeRole"]),
                "description": format!("{suffix} role of cluster {}", p.id.cluster),
                "tags": super::tags(p, &p.named(suffix)),
            }),
        )
        .named(p.external_name(resource, p.named(suffix))),
    );
    policies
        .iter()
        .map(|(policy, short)| {
            let name = format!("{resource}-{short}");
            plan.add(
                managed(
                    &name,
                    IAM,
                    "RolePolicyAttachment",
                    json!({
                        "policyArn": format!("arn:aws:iam::aws:policy/{policy}"),
                        "roleSelector": select(resource),
                    }),
                )
                .uses(&[resource]),
            );
            name
        })
        .collect()
}

pub fn add(p: &Platform, plan: &mut Plan) {
    let attachments = role(
        p,
        plan,
        "role-cluster",
        "cluster",
        "eks.amazonaws.com",
        &[("AmazonEKSClusterPolicy", "cluster-policy")],
    );
    let public_cidrs = p
        .env_value("aws.publicAccessCidrs")
        .filter(|v| v.is_array())
        .cloned()
        .unwrap_or_else(|| json!(["0.0.0.0/0"]));
    let mut fp = json!({
        "region": p.id.location,
        "roleArnSelector": select("role-cluster"),
        "vpcConfig": {
            // The API stays reachable for the Helm provider; nodes talk to
            // it privately.
            "endpointPrivateAccess": true,
            "endpointPublicAccess": true,
            "publicAccessCidrs": public_cidrs,
            "subnetIdSelector": select_label(CLUSTER_LABEL, &p.id.cluster),
        },
        "accessConfig": {
            "authenticationMode": "API_AND_CONFIG_MAP",
            // ClusterAuth's token belongs to the provider's identity.
            "bootstrapClusterCreatorAdminPermissions": true,
        },
        "kubernetesNetworkConfig": {"serviceIpv4Cidr": p.network.services.to_string()},
    });
    if let Some(version) = &p.kubernetes_version {
        fp["version"] = json!(version);
    }
    if let Some(logs) = p.env_value("aws.clusterLogTypes").filter(|v| v.is_array()) {
        fp["enabledClusterLogTypes"] = logs.clone();
    }
    let mut uses = vec!["role-cluster".to_string()];
    uses.extend(attachments);
    uses.extend(subnet_names(p, "public"));
    uses.extend(subnet_names(p, "private"));
    uses.extend(super::network::nat_gateways(p).into_iter().map(|n| n.name));
    plan.add(
        managed("cluster", &format!("{EKS}/v1beta2"), "Cluster", fp)
            .named(p.external_name("cluster", p.id.cluster.clone()))
            .uses_all(uses),
    );
    plan.add(
        managed(
            "cluster-auth",
            &format!("{EKS}/v1beta1"),
            "ClusterAuth",
            json!({"region": p.id.location, "clusterNameSelector": select("cluster")}),
        )
        .secret(&p.named("kubeconfig"), &p.secret_namespace)
        .uses(&["cluster"])
        .import_params(json!({"clusterName": p.external_name("cluster", p.id.cluster.clone())})),
    );
}

pub fn status(p: &Platform, observed: Observed<'_>) -> Map<String, Value> {
    let mut status = Map::new();
    put(
        &mut status,
        "clusterEndpoint",
        observed.text("cluster", "/endpoint"),
    );
    put(
        &mut status,
        "clusterCA",
        observed.text("cluster", "/certificateAuthority/0/data"),
    );
    put(
        &mut status,
        "oidcIssuer",
        observed.text("cluster", "/identity/0/oidc/0/issuer"),
    );
    put_zone(
        &mut status,
        p,
        observed.at_provider("public-dns-zone", "/nameServers"),
    );
    status
}
