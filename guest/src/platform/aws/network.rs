//! VPC, one public and one private subnet per zone (tagged for load
//! balancers), internet gateway, and NAT egress for private nodes: one
//! shared gateway, or one per zone.

use serde_json::{Value, json};

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

fn resolve_always(mut selector: Value) -> Value {
    selector["policy"] = json!({"resolve": "Always"});
    selector
}

/// One NAT gateway per zone (`aws.natGateways: PerZone`), so a zone's
/// outage cuts no other zone's egress; one shared gateway (`Single`, the
/// default) costs a third.
fn per_zone_nat(p: &Platform) -> bool {
    p.env_str("aws.natGateways") == Some("PerZone")
}

/// A NAT gateway, the public subnet it sits in and the private route
/// table that sends its zone's (or every zone's) traffic through it.
pub struct NatGateway {
    pub name: String,
    ip: String,
    public_subnet: String,
    route: String,
    table: String,
    tag: String,
}

/// The NAT gateways of a private cluster, by composition resource name.
pub fn nat_gateways(p: &Platform) -> Vec<NatGateway> {
    if !p.private {
        return Vec::new();
    }
    if per_zone_nat(p) {
        return p
            .network
            .zones
            .iter()
            .map(|zone| NatGateway {
                name: format!("nat-{zone}"),
                ip: format!("nat-ip-{zone}"),
                public_subnet: format!("subnet-public-{zone}"),
                route: format!("route-private-default-{zone}"),
                table: format!("route-table-private-{zone}"),
                tag: format!("nat-{zone}"),
            })
            .collect();
    }
    let first_public = subnet_names(p, "public")
        .into_iter()
        .next()
        .unwrap_or_default();
    vec![NatGateway {
        name: "nat".into(),
        ip: "nat-ip".into(),
        public_subnet: first_public,
        route: "route-private-default".into(),
        table: "route-table-private".into(),
        tag: "nat".into(),
    }]
}

fn add_nat(p: &Platform, plan: &mut Plan, egress: &NatGateway) {
    let region = &p.id.location;
    let v1 = format!("{EC2}/v1beta1");
    plan.add(managed(
        &egress.ip,
        &v1,
        "EIP",
        json!({"region": region, "domain": "vpc", "tags": tags(p, &p.named(&egress.tag))}),
    ));
    plan.add(
        managed(
            &egress.name,
            &v1,
            "NATGateway",
            json!({
                "region": region,
                "connectivityType": "public",
                "allocationIdSelector": select(&egress.ip),
                "subnetIdSelector": select(&egress.public_subnet),
                "tags": tags(p, &p.named(&egress.tag)),
            }),
        )
        .uses(&[
            egress.ip.as_str(),
            egress.public_subnet.as_str(),
            "internet-gateway",
        ]),
    );
    plan.add(
        managed(
            &egress.route,
            &format!("{EC2}/v1beta2"),
            "Route",
            json!({
                "region": region,
                "routeTableIdSelector": select(&egress.table),
                "destinationCidrBlock": "0.0.0.0/0",
                "natGatewayIdSelector": select(&egress.name),
            }),
        )
        .uses(&[egress.table.as_str(), egress.name.as_str()]),
    );
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
    let cluster_tag = format!(
        "kubernetes.io/cluster/{}",
        p.external_name("cluster", p.id.cluster.clone())
    );
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
    let zonal = per_zone_nat(p);
    for access in ["public", "private"] {
        // Private subnets route through their own zone's NAT gateway when
        // there is one per zone; otherwise each access shares a table.
        let per_zone = zonal && access == "private";
        for (zone, subnet) in net.zones.iter().zip(subnet_names(p, access)) {
            let table = if per_zone {
                format!("route-table-{access}-{zone}")
            } else {
                format!("route-table-{access}")
            };
            if plan.get(&table).is_none() {
                let tag = if per_zone {
                    format!("{access}-{zone}")
                } else {
                    access.to_string()
                };
                plan.add(
                    managed(
                        &table,
                        &v1,
                        "RouteTable",
                        json!({"region": region, "vpcIdSelector": select("network"), "tags": tags(p, &p.named(&tag))}),
                    )
                    .uses(&["network"]),
                );
            }
            plan.add(
                managed(
                    &format!("route-table-association-{access}-{zone}"),
                    &v1,
                    "RouteTableAssociation",
                    // Resolved on every reconcile: a switch between one NAT
                    // gateway and one per zone moves the subnet to its new
                    // table instead of keeping the old one's ID.
                    json!({
                        "region": region,
                        "routeTableIdSelector": resolve_always(select(&table)),
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
        for egress in nat_gateways(p) {
            add_nat(p, plan, &egress);
        }
    }
    Ok(())
}
