//! VPC, one public and one private subnet per zone (tagged for load
//! balancers), internet gateway, and a NAT gateway for private nodes.

use serde_json::json;

use super::tags;
use crate::platform::claim::Platform;
use crate::platform::compose::{Plan, managed, select};

const EC2: &str = "ec2.aws.upbound.io";
pub const ACCESS_LABEL: &str = "myplatform.io/subnet-access";

pub fn subnet_names(p: &Platform, access: &str) -> Vec<String> {
    p.network
        .zones
        .iter()
        .map(|z| format!("subnet-{access}-{z}"))
        .collect()
}

pub fn add(p: &Platform, plan: &mut Plan) -> Result<(), String> {
    let region = &p.id.location;
    let net = &p.network;
    let v1 = format!("{EC2}/v1beta1");
    plan.add(managed(
        "network",
        &v1,
        "VPC",
        json!({
            "region": region,
            "cidrBlock": net.vpc.to_string(),
            "enableDnsHostnames": true,
            "enableDnsSupport": true,
            "tags": tags(p, &p.named("vpc")),
        }),
    ));
    plan.add(
        managed(
            "internet-gateway",
            &v1,
            "InternetGateway",
            json!({"region": region, "vpcIdSelector": select("network"), "tags": tags(p, &p.named("igw"))}),
        )
        .uses(&["network"]),
    );
    let half = 1u32 << (net.subnet_bits - 1);
    let cluster_tag = format!("kubernetes.io/cluster/{}", p.id.cluster);
    for (i, (zone, az)) in net.zones.iter().zip(p.zones()).enumerate() {
        for (access, index, role_tag, public) in [
            ("public", i as u32, "kubernetes.io/role/elb", true),
            (
                "private",
                half + i as u32,
                "kubernetes.io/role/internal-elb",
                false,
            ),
        ] {
            let name = format!("subnet-{access}-{zone}");
            let cidr = net
                .vpc
                .subnet(net.subnet_bits, index)
                .map_err(|e| format!("network.vpcCidr: {e}"))?;
            let mut tags = tags(p, &p.named(&format!("{access}-{zone}")));
            tags[role_tag] = json!("1");
            tags[&cluster_tag] = json!("shared");
            plan.add(
                managed(
                    &name,
                    &v1,
                    "Subnet",
                    json!({
                        "region": region,
                        "availabilityZone": az,
                        "cidrBlock": cidr.to_string(),
                        "mapPublicIpOnLaunch": public,
                        "vpcIdSelector": select("network"),
                        "tags": tags,
                    }),
                )
                .label(ACCESS_LABEL, access)
                .uses(&["network"]),
            );
        }
    }
    for access in ["public", "private"] {
        let table = format!("route-table-{access}");
        plan.add(
            managed(
                &table,
                &v1,
                "RouteTable",
                json!({"region": region, "vpcIdSelector": select("network"), "tags": tags(p, &p.named(access))}),
            )
            .uses(&["network"]),
        );
        for (zone, subnet) in net.zones.iter().zip(subnet_names(p, access)) {
            plan.add(
                managed(
                    &format!("route-table-association-{access}-{zone}"),
                    &v1,
                    "RouteTableAssociation",
                    json!({
                        "region": region,
                        "routeTableIdSelector": select(&table),
                        "subnetIdSelector": select(&subnet),
                    }),
                )
                .uses(&[table.as_str(), subnet.as_str()]),
            );
        }
    }
    plan.add(
        managed(
            "route-public-default",
            &format!("{EC2}/v1beta2"),
            "Route",
            json!({
                "region": region,
                "routeTableIdSelector": select("route-table-public"),
                "destinationCidrBlock": "0.0.0.0/0",
                "gatewayIdSelector": select("internet-gateway"),
            }),
        )
        .uses(&["route-table-public", "internet-gateway"]),
    );
    if p.private {
        let first_public = subnet_names(p, "public")
            .into_iter()
            .next()
            .unwrap_or_default();
        plan.add(managed(
            "nat-ip",
            &v1,
            "EIP",
            json!({"region": region, "domain": "vpc", "tags": tags(p, &p.named("nat"))}),
        ));
        plan.add(
            managed(
                "nat",
                &v1,
                "NATGateway",
                json!({
                    "region": region,
                    "connectivityType": "public",
                    "allocationIdSelector": select("nat-ip"),
                    "subnetIdSelector": select(&first_public),
                    "tags": tags(p, &p.named("nat")),
                }),
            )
            .uses(&["nat-ip", first_public.as_str(), "internet-gateway"]),
        );
        plan.add(
            managed(
                "route-private-default",
                &format!("{EC2}/v1beta2"),
                "Route",
                json!({
                    "region": region,
                    "routeTableIdSelector": select("route-table-private"),
                    "destinationCidrBlock": "0.0.0.0/0",
                    "natGatewayIdSelector": select("nat"),
                }),
            )
            .uses(&["route-table-private", "nat"]),
        );
    }
    Ok(())
}
