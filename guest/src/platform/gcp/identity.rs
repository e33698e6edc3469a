//! Google service accounts: one whose key lets the Helm and Kubernetes
//! providers authenticate (GKE kubeconfigs carry no usable user), and one
//! for cert-manager bound through Workload Identity.

use serde_json::{Value, json};

use super::cluster::workload_pool;
use crate::platform::claim::{Platform, shortened};
use crate::platform::cloud::KubeAccess;
use crate::platform::compose::{Plan, Role, managed, select};
use crate::platform::helm;

const API: &str = "cloudplatform.gcp.upbound.io";

/// A service account ID: 6 to 30 characters, starting with a letter.
fn account_id(p: &Platform, suffix: &str) -> String {
    let room = 30 - suffix.len() - 1;
    let mut base = p.id.cluster.clone();
    if !base.starts_with(|c: char| c.is_ascii_lowercase()) {
        base = format!("c{base}");
    }
    format!("{}-{suffix}", shortened(&base, room))
}

fn email(p: &Platform, resource: &str, suffix: &str) -> String {
    let id = p.external_name(resource, account_id(p, suffix));
    format!("{id}@{}.iam.gserviceaccount.com", p.id.plane)
}

fn service_account(p: &Platform, plan: &mut Plan, resource: &str, suffix: &str, what: &str) {
    plan.add(
        managed(
            resource,
            &format!("{API}/v1beta1"),
            "ServiceAccount",
            json!({
                "project": p.id.plane,
                "displayName": format!("{} {what}", p.id.cluster),
                "description": format!("{what} of cluster {}", p.id.cluster),
            }),
        )
        .named(p.external_name(resource, account_id(p, suffix))),
    );
}

fn project_member(
    p: &Platform,
    plan: &mut Plan,
    resource: &str,
    sa: &str,
    suffix: &str,
    role: &str,
) {
    plan.add(
        managed(
            resource,
            &format!("{API}/v1beta2"),
            "ProjectIAMMember",
            json!({
                "project": p.id.plane,
                "role": role,
                "member": format!("serviceAccount:{}", email(p, sa, suffix)),
            }),
        )
        .uses(&[sa]),
    );
}

/// Roles of the nodes' own account: what GKE's predefined node role
/// grants (logs, metrics, metadata) and pulling images from the project's
/// Artifact Registry, instead of the default compute account's Editor.
const NODE_ROLES: &[(&str, &str)] = &[
    (
        "gsa-nodes-default",
        "roles/container.defaultNodeServiceAccount",
    ),
    ("gsa-nodes-registry", "roles/artifactregistry.reader"),
];

pub const NODES: &str = "gsa-nodes";

/// The nodes' account, for the cluster and every pool.
pub fn node_account(p: &Platform) -> String {
    email(p, NODES, "nodes")
}

/// Resources a node pool (or the cluster's first pool) needs while it
/// exists: its account and the account's roles.
pub fn node_account_uses() -> Vec<String> {
    std::iter::once(NODES)
        .chain(NODE_ROLES.iter().map(|(name, _)| *name))
        .map(str::to_string)
        .collect()
}

/// How the Helm and Kubernetes providers authenticate to GKE: a key of a
/// composed account (the default), or the identity the providers' pods
/// already have (`gcp.providerCredentials: InjectedIdentity`), for
/// organisations that forbid key creation
/// (`iam.disableServiceAccountKeyCreation`, the default since May 2024).
fn injected(p: &Platform) -> bool {
    p.env_str("gcp.providerCredentials") == Some("InjectedIdentity")
}

pub fn add(p: &Platform, plan: &mut Plan) {
    service_account(p, plan, NODES, "nodes", "nodes");
    for (name, role) in NODE_ROLES {
        project_member(p, plan, name, NODES, "nodes", role);
    }
    if !injected(p) {
        provider_key(p, plan);
    }
    cert_manager(p, plan);
}

fn provider_key(p: &Platform, plan: &mut Plan) {
    service_account(
        p,
        plan,
        "gsa-provider",
        "provider",
        "Helm and Kubernetes providers",
    );
    project_member(
        p,
        plan,
        "gsa-provider-admin",
        "gsa-provider",
        "provider",
        "roles/container.admin",
    );
    plan.add(
        managed(
            "gsa-provider-key",
            &format!("{API}/v1beta1"),
            "ServiceAccountKey",
            json!({
                "serviceAccountIdSelector": select("gsa-provider"),
                "publicKeyType": "TYPE_X509_PEM_FILE",
            }),
        )
        .secret(&p.named("gsa-key"), &p.secret_namespace)
        .role(Role::CreateOnly)
        .uses(&["gsa-provider"]),
    );
}

fn cert_manager(p: &Platform, plan: &mut Plan) {
    service_account(p, plan, "gsa-cert-manager", "certmgr", "cert-manager");
    plan.add(
        managed(
            "gsa-cert-manager-workload-identity",
            &format!("{API}/v1beta2"),
            "ServiceAccountIAMMember",
            // Literal, not a selector: provider-gcp 2.x requires the field
            // itself, and the account's name is known before it exists.
            json!({
                "serviceAccountId": format!(
                    "projects/{}/serviceAccounts/{}",
                    p.id.plane,
                    email(p, "gsa-cert-manager", "certmgr")
                ),
                "role": "roles/iam.workloadIdentityUser",
                "member": format!(
                    "serviceAccount:{}[{}/cert-manager]",
                    workload_pool(p),
                    helm::namespace(p, "cert-manager")
                ),
            }),
        )
        .uses(&["gsa-cert-manager"]),
    );
    if p.dns {
        project_member(
            p,
            plan,
            "gsa-cert-manager-dns",
            "gsa-cert-manager",
            "certmgr",
            "roles/dns.admin",
        );
    }
}

pub fn kube_access(p: &Platform) -> KubeAccess {
    if injected(p) {
        return KubeAccess {
            secret: p.named("kubeconfig"),
            key: "kubeconfig",
            identity: Some(json!({
                "type": "GoogleApplicationCredentials",
                "source": "InjectedIdentity",
            })),
            uses: vec!["cluster".into()],
            source: "cluster".into(),
        };
    }
    KubeAccess {
        secret: p.named("kubeconfig"),
        key: "kubeconfig",
        identity: Some(json!({
            "type": "GoogleApplicationCredentials",
            "source": "Secret",
            "secretRef": {"name": p.named("gsa-key"), "namespace": p.secret_namespace, "key": "private_key"},
        })),
        uses: vec![
            "cluster".into(),
            "gsa-provider-key".into(),
            "gsa-provider-admin".into(),
        ],
        source: "cluster".into(),
    }
}

pub fn chart_values(p: &Platform, chart: &str) -> Option<Value> {
    (chart == "cert-manager").then(|| {
        json!({"serviceAccount": {"annotations": {
            "iam.gke.io/gcp-service-account": email(p, "gsa-cert-manager", "certmgr"),
        }}})
    })
}
