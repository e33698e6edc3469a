//! Route 53: the public zone and, for private clusters, the private
//! `internal.` zone attached to the VPC.

use serde_json::json;

use crate::platform::claim::Platform;
use crate::platform::compose::{Plan, managed, select};

const API_VERSION: &str = "route53.aws.upbound.io/v1beta1";

pub fn add(p: &Platform, plan: &mut Plan) {
    let Some(domain) = &p.domain else { return };
    plan.add(managed(
        "public-dns-zone",
        API_VERSION,
        "Zone",
        json!({"name": domain, "comment": format!("Public zone of cluster {}", p.id.cluster), "tags": super::tags(p, domain)}),
    ));
    // Internal services only exist on a private cluster.
    if !p.private {
        return;
    }
    let internal = format!("internal.{domain}");
    plan.add(
        managed(
            "private-dns-zone",
            API_VERSION,
            "Zone",
            json!({
                "name": internal,
                "comment": format!("Private zone of cluster {}", p.id.cluster),
                "vpc": [{"vpcIdSelector": select("network"), "vpcRegion": p.id.location}],
                "tags": super::tags(p, &internal),
            }),
        )
        .uses(&["network"]),
    );
}
