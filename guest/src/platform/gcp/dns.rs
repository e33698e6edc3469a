//! Cloud DNS: the public zone and, for private clusters, the private
//! `internal.` zone visible from the cluster's VPC.

use serde_json::json;

use crate::platform::claim::Platform;
use crate::platform::compose::{Plan, managed, select};

const API_VERSION: &str = "dns.gcp.upbound.io/v1beta2";

pub fn add(p: &Platform, plan: &mut Plan) {
    let Some(domain) = &p.domain else { return };
    plan.add(
        managed(
            "public-dns-zone",
            API_VERSION,
            "ManagedZone",
            json!({
                "project": p.id.plane,
                "dnsName": format!("{domain}."),
                "visibility": "public",
                "description": format!("Public zone of cluster {}", p.id.cluster),
            }),
        )
        // Zone names are project-wide: the cluster's, not the domain's.
        .named(p.external_name("public-dns-zone", p.named("public-zone"))),
    );
    // Internal services only exist on a private cluster.
    if !p.private {
        return;
    }
    plan.add(
        managed(
            "private-dns-zone",
            API_VERSION,
            "ManagedZone",
            json!({
                "project": p.id.plane,
                "dnsName": format!("internal.{domain}."),
                "visibility": "private",
                "description": format!("Private zone of cluster {}", p.id.cluster),
                "privateVisibilityConfig": {"networks": [{"networkUrlSelector": select("network")}]},
            }),
        )
        .named(p.external_name("private-dns-zone", p.named("private-zone")))
        .uses(&["network"]),
    );
}
