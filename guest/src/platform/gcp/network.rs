//! VPC, subnet with the pods and services secondary ranges, and Cloud NAT
//! egress for private nodes.

use serde_json::json;

use super::region;
use crate::platform::claim::Platform;
use crate::platform::compose::{Plan, managed, select};

const COMPUTE: &str = "compute.gcp.upbound.io";

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
