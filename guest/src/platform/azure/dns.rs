//! Azure DNS: the public zone and, for private clusters, the private
//! `internal.` zone with its link to the VNet.

use serde_json::json;

use super::group;
use crate::platform::claim::Platform;
use crate::platform::compose::{Plan, managed, select};

const NETWORK: &str = "network.azure.upbound.io";

pub fn add(p: &Platform, plan: &mut Plan) {
    let Some(domain) = &p.domain else { return };
    let rg = group(p);
    plan.add(
        managed(
            "public-dns-zone",
            &format!("{NETWORK}/v1beta2"),
            "DNSZone",
            json!({"resourceGroupName": rg}),
        )
        .named(p.external_name("public-dns-zone", domain.clone()))
        .uses(&["resource-group"]),
    );
    // Internal services only exist on a private cluster.
    if !p.private {
        return;
    }
    plan.add(
        managed(
            "private-dns-zone",
            &format!("{NETWORK}/v1beta2"),
            "PrivateDNSZone",
            json!({"resourceGroupName": rg}),
        )
        .named(p.external_name("private-dns-zone", format!("internal.{domain}")))
        .uses(&["resource-group"]),
    );
    plan.add(
        managed(
            "private-dns-zone-link",
            &format!("{NETWORK}/v1beta1"),
            "PrivateDNSZoneVirtualNetworkLink",
            json!({
                "resourceGroupName": rg,
                "privateDnsZoneNameSelector": select("private-dns-zone"),
                "virtualNetworkIdSelector": select("network"),
                "registrationEnabled": false,
            }),
        )
        .named(p.external_name("private-dns-zone-link", p.named("internal-link")))
        .uses(&["private-dns-zone", "network"]),
    );
}
