//! The plane's resource group (observed, never owned), VNet, the node
//! subnet and, for private clusters, a NAT gateway with its public IP as
//! the only egress.

use serde_json::json;

use super::group;
use crate::platform::claim::Platform;
use crate::platform::compose::{Plan, Role, managed, select};

const NETWORK: &str = "network.azure.upbound.io";

pub fn add(p: &Platform, plan: &mut Plan) {
    let location = &p.id.location;
    let rg = group(p);
    plan.add(
        managed(
            "resource-group",
            "azure.upbound.io/v1beta1",
            "ResourceGroup",
            json!({"location": location}),
        )
        .named(p.external_name("resource-group", rg.to_string()))
        .role(Role::Shared),
    );
    plan.add(
        managed(
            "network",
            &format!("{NETWORK}/v1beta2"),
            "VirtualNetwork",
            json!({"location": location, "resourceGroupName": rg, "addressSpace": [p.network.vpc.to_string()]}),
        )
        .named(p.external_name("network", p.named("vnet")))
        .uses(&["resource-group"]),
    );
    plan.add(
        managed(
            "subnet",
            &format!("{NETWORK}/v1beta2"),
            "Subnet",
            json!({
                "resourceGroupName": rg,
                "virtualNetworkNameSelector": select("network"),
                "addressPrefixes": [p.network.subnet.to_string()],
            }),
        )
        .named(p.external_name("subnet", p.named("nodes")))
        .uses(&["network"])
        .import_params(json!({"virtualNetworkName": p.external_name("network", p.named("vnet"))})),
    );
    if !p.private {
        return;
    }
    let v1 = format!("{NETWORK}/v1beta1");
    plan.add(
        managed(
            "nat-ip",
            &v1,
            "PublicIP",
            json!({"location": location, "resourceGroupName": rg, "allocationMethod": "Static", "sku": "Standard"}),
        )
        .named(p.external_name("nat-ip", p.named("nat-ip")))
        .uses(&["resource-group"]),
    );
    plan.add(
        managed(
            "nat",
            &v1,
            "NATGateway",
            json!({"location": location, "resourceGroupName": rg, "skuName": "Standard", "idleTimeoutInMinutes": 10}),
        )
        .named(p.external_name("nat", p.named("nat")))
        .uses(&["resource-group"]),
    );
    plan.add(
        managed(
            "nat-ip-association",
            &v1,
            "NATGatewayPublicIPAssociation",
            json!({"natGatewayIdSelector": select("nat"), "publicIpAddressIdSelector": select("nat-ip")}),
        )
        .uses(&["nat", "nat-ip"]),
    );
    plan.add(
        managed(
            "subnet-nat-association",
            &v1,
            "SubnetNATGatewayAssociation",
            json!({"natGatewayIdSelector": select("nat"), "subnetIdSelector": select("subnet")}),
        )
        .uses(&["nat", "subnet"]),
    );
}
