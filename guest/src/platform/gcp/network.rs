//! VPC, subnet with the pods and services secondary ranges, and for
//! private nodes Cloud NAT egress and the firewall rule that lets the
//! control plane reach the admission webhooks on the nodes.

use serde_json::{Value, json};

use super::region;
use crate::platform::claim::Platform;
use crate::platform::compose::{Part, Plan, managed, select};

const COMPUTE: &str = "compute.gcp.upbound.io";

pub const FIREWALL: &str = "firewall-control-plane";

/// Ports the control plane calls on private nodes beyond the 443 and
/// 10250 GKE opens itself: the ingress-nginx admission webhook (8443),
/// Envoy Gateway's and controller-runtime webhooks (9443), and the
/// cert-manager and prometheus-operator webhooks on 10250, which GKE's
/// own rule allows only to its kubelets' network tags.
const WEBHOOK_PORTS: &[&str] = &["8443", "9443", "10250"];

/// The network tag on the claim's nodes that the firewall rule targets,
/// so it opens the webhook ports on this cluster's nodes only.
pub fn node_tag(p: &Platform) -> String {
    p.named("nodes")
}

/// Private clusters' control plane reaches nodes only on ports a rule
/// allows; without this rule every webhook call times out. The
/// environment's `gcp.webhookPorts` adds the ports of charts it installs.
fn control_plane_firewall(p: &Platform) -> Part {
    let mut ports: Vec<String> = WEBHOOK_PORTS.iter().map(|s| s.to_string()).collect();
    for port in p
        .env_value("gcp.webhookPorts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let port = match port {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    managed(
        FIREWALL,
        &format!("{COMPUTE}/v1beta2"),
        "Firewall",
        json!({
            "project": p.id.plane,
            "networkSelector": select("network"),
            "description": format!("GKE control plane of {} to its admission webhooks", p.id.cluster),
            "direction": "INGRESS",
            "priority": 1000,
            "sourceRanges": [p.network.master.to_string()],
            "targetTags": [node_tag(p)],
            "allow": [{"protocol": "tcp", "ports": ports}],
        }),
    )
    .named(p.external_name(FIREWALL, p.named("webhooks")))
    .uses(&["network"])
}

pub fn add(p: &Platform, plan: &mut Plan) {
    let project = &p.id.plane;
    let region = region(&p.id.location);
    let net = &p.network;
    plan.add(
        managed(
            "network",
            &format!("{COMPUTE}/v1beta1"),
            "Network",
            json!({"project": project, "autoCreateSubnetworks": false, "routingMode": "REGIONAL"}),
        )
        .named(p.external_name("network", p.named("vpc"))),
    );
    plan.add(
        managed(
            "subnet",
            &format!("{COMPUTE}/v1beta2"),
            "Subnetwork",
            json!({
                "project": project,
                "region": region,
                "ipCidrRange": net.subnet.to_string(),
                "secondaryIpRange": [
                    {"rangeName": "pods", "ipCidrRange": net.pods.to_string()},
                    {"rangeName": "services", "ipCidrRange": net.services.to_string()},
                ],
                "privateIpGoogleAccess": true,
                "networkSelector": select("network"),
            }),
        )
        .named(p.external_name("subnet", p.named("subnet")))
        .uses(&["network"]),
    );
    if p.private {
        plan.add(control_plane_firewall(p));
        plan.add(
            managed(
                "router",
                &format!("{COMPUTE}/v1beta2"),
                "Router",
                json!({"project": project, "region": region, "networkSelector": select("network")}),
            )
            .named(p.external_name("router", p.named("router")))
            .uses(&["network"]),
        );
        plan.add(
            managed(
                "nat",
                &format!("{COMPUTE}/v1beta2"),
                "RouterNAT",
                json!({
                    "project": project,
                    "region": region,
                    "routerSelector": select("router"),
                    "natIpAllocateOption": "AUTO_ONLY",
                    "sourceSubnetworkIpRangesToNat": "ALL_SUBNETWORKS_ALL_IP_RANGES",
                    "logConfig": {"enable": true, "filter": "ERRORS_ONLY"},
                }),
            )
            .named(p.external_name("nat", p.named("nat")))
            .uses(&["router"])
            .import_params(json!({"router": p.external_name("router", p.named("router"))})),
        );
    }
}
