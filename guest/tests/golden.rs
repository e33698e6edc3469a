//! Golden-style tests per cloud: the example claims rendered natively with
//! the example environment, asserting the content that matters.

use cluster_platform::testing as common;

use cluster_platform::protocol::Ready;
use common::{claim, kinds, render, resource, set};
use serde_json::{Value, json};

fn count(rsp: &cluster_platform::protocol::Response, kind: &str) -> usize {
    kinds(rsp).get(kind).copied().unwrap_or(0)
}

/// Prints the kind counts of the production examples (`--nocapture`).
#[test]
fn production_kind_counts() {
    for cloud in ["gcp", "aws", "azure"] {
        let rsp = render(claim(cloud));
        println!("== {cloud}: {} resources", rsp.desired.resources.len());
        for (kind, n) in kinds(&rsp) {
            println!("{n:>3} {kind}");
        }
    }
}

#[test]
fn gcp_production() {
    let rsp = render(claim("gcp"));
    let cluster = resource(&rsp, "cluster");
    assert_eq!(cluster["apiVersion"], "container.gcp.upbound.io/v1beta2");
    let fp = &cluster["spec"]["forProvider"];
    assert_eq!(fp["project"], "my-project-123");
    assert_eq!(fp["location"], "us-central1");
    assert_eq!(fp["deletionProtection"], false);
    assert_eq!(fp["removeDefaultNodePool"], true);
    assert_eq!(
        fp["workloadIdentityConfig"]["workloadPool"],
        "my-project-123.svc.id.goog"
    );
    assert_eq!(fp["privateClusterConfig"]["enablePrivateNodes"], true);
    assert_eq!(
        fp["ipAllocationPolicy"]["clusterSecondaryRangeName"],
        "pods"
    );
    assert_eq!(
        cluster["metadata"]["annotations"]["crossplane.io/external-name"],
        "prod-cluster-1ef5e5"
    );
    assert_eq!(
        cluster["spec"]["writeConnectionSecretToRef"],
        json!({"name": "prod-cluster-1ef5e5-kubeconfig", "namespace": "default"})
    );

    let subnet = &resource(&rsp, "subnet")["spec"]["forProvider"];
    assert_eq!(subnet["region"], "us-central1");
    assert_eq!(subnet["ipCidrRange"], "10.0.0.0/20");
    assert_eq!(
        subnet["secondaryIpRange"][0],
        json!({"rangeName": "pods", "ipCidrRange": "10.4.0.0/14"})
    );
    assert_eq!(resource(&rsp, "nat")["kind"], "RouterNAT");
    assert_eq!(resource(&rsp, "router")["kind"], "Router");

    let pool = &resource(&rsp, "nodepool-default")["spec"]["forProvider"];
    assert_eq!(
        pool["autoscaling"],
        json!({"totalMinNodeCount": 3, "totalMaxNodeCount": 10, "locationPolicy": "BALANCED"})
    );
    assert!(
        pool.get("nodeCount").is_none(),
        "the autoscaler owns the node count"
    );
    // Per zone: 3 nodes over the region's 3 zones start as 1 in each.
    assert_eq!(pool["initialNodeCount"], 1);
    assert_eq!(pool["nodeConfig"]["machineType"], "e2-standard-4");
    assert_eq!(
        pool["nodeConfig"]["workloadMetadataConfig"]["mode"],
        "GKE_METADATA"
    );

    let public = &resource(&rsp, "public-dns-zone")["spec"]["forProvider"];
    assert_eq!(public["dnsName"], "prod.example.com.");
    assert_eq!(public["visibility"], "public");
    let private = &resource(&rsp, "private-dns-zone")["spec"]["forProvider"];
    assert_eq!(private["dnsName"], "internal.prod.example.com.");
    assert_eq!(private["visibility"], "private");

    let wi = &resource(&rsp, "gsa-cert-manager-workload-identity")["spec"]["forProvider"];
    assert_eq!(wi["role"], "roles/iam.workloadIdentityUser");
    assert_eq!(
        wi["member"],
        "serviceAccount:my-project-123.svc.id.goog[cert-manager/cert-manager]"
    );
    assert_eq!(
        resource(&rsp, "gsa-cert-manager-dns")["spec"]["forProvider"]["role"],
        "roles/dns.admin"
    );

    let pc = resource(&rsp, "helm-providerconfig");
    assert_eq!(pc["metadata"]["name"], "prod-cluster-x7k2p");
    assert_eq!(
        pc["spec"]["credentials"]["secretRef"]["name"],
        "prod-cluster-1ef5e5-kubeconfig"
    );
    assert_eq!(
        pc["spec"]["identity"]["type"],
        "GoogleApplicationCredentials"
    );
    assert_eq!(pc["spec"]["identity"]["secretRef"]["key"], "private_key");
    assert_eq!(
        rsp.desired.resources["helm-providerconfig"].ready,
        Ready::True
    );
    // `render` observes the cluster and its pool ready, so its Releases
    // render too.
    assert_eq!(rsp.desired.resources["cluster"].ready, Ready::True);
    assert_eq!(rsp.desired.resources["nodepool-default"].ready, Ready::True);
    assert_eq!(rsp.desired.resources["network"].ready, Ready::False);

    // Production runs the Gateway API (ingress-nginx is retired upstream).
    assert!(!rsp.desired.resources.contains_key("helm-ingress-nginx"));
    let gateway = &resource(&rsp, "helm-envoy-gateway")["spec"]["forProvider"];
    assert_eq!(
        gateway["chart"],
        json!({"name": "gateway-helm", "repository": "oci://docker.io/envoyproxy", "version": "v1.7.4"})
    );
    assert_eq!(gateway["namespace"], "envoy-gateway-system");
    assert_eq!(gateway["values"]["deployment"]["replicas"], 2);
    let cert = &resource(&rsp, "helm-cert-manager")["spec"]["forProvider"]["values"];
    assert_eq!(cert["installCRDs"], true);
    assert_eq!(
        cert["serviceAccount"]["annotations"]["iam.gke.io/gcp-service-account"],
        "prod-cluster-1ef5e5-certmgr@my-project-123.iam.gserviceaccount.com"
    );
    let monitoring = &resource(&rsp, "helm-monitoring")["spec"]["forProvider"];
    assert_eq!(monitoring["namespace"], "monitoring");
    assert_eq!(
        monitoring["values"]["prometheus"]["prometheusSpec"]["retention"],
        "90d"
    );
    let values = &monitoring["values"];
    // Null removes kube-prometheus-stack's `prom-operator` default, so the
    // grafana chart generates a password.
    assert_eq!(values["grafana"]["adminPassword"], Value::Null);
    assert!(
        values["grafana"]
            .as_object()
            .unwrap()
            .contains_key("adminPassword")
    );
    let spec = &values["prometheus"]["prometheusSpec"];
    assert_eq!(spec["serviceMonitorSelectorNilUsesHelmValues"], false);
    assert_eq!(spec["podMonitorSelectorNilUsesHelmValues"], false);
    assert_eq!(
        spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"],
        "50Gi"
    );
}

#[test]
fn aws_production() {
    let rsp = render(claim("aws"));
    let cluster = resource(&rsp, "cluster");
    assert_eq!(cluster["apiVersion"], "eks.aws.upbound.io/v1beta2");
    let fp = &cluster["spec"]["forProvider"];
    assert_eq!(fp["region"], "eu-west-1");
    assert_eq!(fp["version"], "1.31");
    assert_eq!(fp["vpcConfig"]["endpointPrivateAccess"], true);
    assert_eq!(
        fp["accessConfig"]["bootstrapClusterCreatorAdminPermissions"],
        true
    );
    assert_eq!(
        fp["enabledClusterLogTypes"],
        json!(["api", "audit", "authenticator"])
    );
    assert_eq!(
        resource(&rsp, "cluster-auth")["spec"]["writeConnectionSecretToRef"]["name"],
        "prod-cluster-231fa6-kubeconfig"
    );

    assert_eq!(count(&rsp, "ec2.aws.upbound.io/v1beta1 Subnet"), 6);
    let public = resource(&rsp, "subnet-public-a");
    assert_eq!(
        public["spec"]["forProvider"]["availabilityZone"],
        "eu-west-1a"
    );
    assert_eq!(public["spec"]["forProvider"]["cidrBlock"], "10.0.0.0/20");
    assert_eq!(
        public["spec"]["forProvider"]["tags"]["kubernetes.io/role/elb"],
        "1"
    );
    let private = resource(&rsp, "subnet-private-c");
    assert_eq!(private["spec"]["forProvider"]["cidrBlock"], "10.0.160.0/20");
    assert_eq!(
        private["spec"]["forProvider"]["tags"]["kubernetes.io/role/internal-elb"],
        "1"
    );
    assert!(
        public["metadata"]["annotations"]
            .get("crossplane.io/external-name")
            .is_none(),
        "AWS IDs come from the provider"
    );
    assert_eq!(resource(&rsp, "nat")["kind"], "NATGateway");
    assert_eq!(
        resource(&rsp, "route-private-default")["spec"]["forProvider"]["natGatewayIdSelector"]["matchLabels"]
            ["myplatform.io/resource"],
        "nat"
    );

    let group = resource(&rsp, "nodepool-default");
    assert_eq!(
        group["spec"]["forProvider"]["scalingConfig"],
        json!({"minSize": 3, "maxSize": 10})
    );
    assert_eq!(
        group["spec"]["initProvider"]["scalingConfig"]["desiredSize"],
        3
    );
    assert_eq!(
        group["spec"]["forProvider"]["instanceTypes"],
        json!(["m6i.xlarge"])
    );
    assert_eq!(
        group["spec"]["forProvider"]["subnetIdSelector"]["matchLabels"]["myplatform.io/subnet-access"],
        "private"
    );

    let zone = &resource(&rsp, "private-dns-zone")["spec"]["forProvider"];
    assert_eq!(zone["name"], "internal.prod.example.com");
    assert_eq!(zone["vpc"][0]["vpcRegion"], "eu-west-1");
    let pia = &resource(&rsp, "pod-identity-cert-manager")["spec"]["forProvider"];
    assert_eq!(
        (pia["namespace"].as_str(), pia["serviceAccount"].as_str()),
        (Some("cert-manager"), Some("cert-manager"))
    );
    assert_eq!(
        resource(&rsp, "addon-pod-identity-agent")["spec"]["forProvider"]["addonName"],
        "eks-pod-identity-agent"
    );
    let role: Value = serde_json::from_str(
        resource(&rsp, "role-cert-manager")["spec"]["forProvider"]["assumeRolePolicy"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        role["Statement"][0]["Principal"]["Service"],
        "pods.eks.amazonaws.com"
    );

    let pc = resource(&rsp, "kubernetes-providerconfig");
    assert_eq!(pc["apiVersion"], "kubernetes.crossplane.io/v1alpha1");
    assert!(pc["spec"].get("identity").is_none());
}

#[test]
fn azure_production() {
    let rsp = render(claim("azure"));
    let cluster = resource(&rsp, "cluster");
    assert_eq!(
        cluster["apiVersion"],
        "containerservice.azure.upbound.io/v1beta2"
    );
    let fp = &cluster["spec"]["forProvider"];
    assert_eq!(fp["resourceGroupName"], "prod-platform-rg");
    assert_eq!(fp["oidcIssuerEnabled"], true);
    assert_eq!(fp["workloadIdentityEnabled"], true);
    assert_eq!(fp["skuTier"], "Standard");
    assert_eq!(
        fp["networkProfile"]["outboundType"],
        "userAssignedNATGateway"
    );
    assert_eq!(fp["networkProfile"]["dnsServiceIp"], "10.8.0.10");
    assert!(fp["defaultNodePool"].get("nodeCount").is_none());
    assert_eq!(
        cluster["spec"]["initProvider"]["defaultNodePool"]["nodeCount"],
        1
    );
    let group = resource(&rsp, "resource-group");
    assert_eq!(
        group["metadata"]["annotations"]["crossplane.io/external-name"],
        "prod-platform-rg"
    );
    // The plane's resource group holds other clusters: observed, never deleted.
    assert_eq!(group["spec"]["managementPolicies"], json!(["Observe"]));

    let pool = resource(&rsp, "nodepool-default");
    assert_eq!(pool["spec"]["forProvider"]["minCount"], 3);
    assert_eq!(pool["spec"]["forProvider"]["maxCount"], 10);
    assert_eq!(pool["spec"]["initProvider"], json!({"nodeCount": 3}));
    assert_eq!(pool["spec"]["forProvider"]["vmSize"], "Standard_D4s_v5");

    assert_eq!(
        resource(&rsp, "public-dns-zone")["metadata"]["annotations"]["crossplane.io/external-name"],
        "prod.example.com"
    );
    assert_eq!(
        resource(&rsp, "private-dns-zone")["metadata"]["annotations"]["crossplane.io/external-name"],
        "internal.prod.example.com"
    );
    assert_eq!(
        resource(&rsp, "private-dns-zone-link")["kind"],
        "PrivateDNSZoneVirtualNetworkLink"
    );
    assert_eq!(
        resource(&rsp, "subnet-nat-association")["kind"],
        "SubnetNATGatewayAssociation"
    );
    assert_eq!(
        resource(&rsp, "identity-cert-manager")["spec"]["forProvider"]["name"],
        "prod-cluster-62f647-cert-manager"
    );
    // Not before the cluster reports its OIDC issuer.
    assert!(
        !rsp.desired
            .resources
            .contains_key("identity-cert-manager-federation")
    );
    let cert = &resource(&rsp, "helm-cert-manager")["spec"]["forProvider"]["values"];
    assert_eq!(cert["podLabels"]["azure.workload.identity/use"], "true");
}

#[test]
fn usages_cover_every_dependency_with_replay() {
    for cloud in ["gcp", "aws", "azure"] {
        let rsp = render(claim(cloud));
        let usages: Vec<&Value> = rsp
            .desired
            .resources
            .values()
            .map(|r| &r.body)
            .filter(|b| b["kind"] == "ClusterUsage")
            .collect();
        assert!(usages.len() > 10, "{cloud}: {} usages", usages.len());
        for u in &usages {
            assert_eq!(u["apiVersion"], "protection.crossplane.io/v1beta1");
            assert_eq!(u["spec"]["replayDeletion"], true);
            assert_eq!(
                u["spec"]["by"]["resourceSelector"]["matchControllerRef"],
                true
            );
        }
        let key = "usage-cluster-by-helm-cert-manager";
        let u = resource(&rsp, key);
        assert!(
            u["spec"]["of"]["kind"]
                .as_str()
                .unwrap()
                .ends_with("Cluster")
        );
        assert_eq!(u["spec"]["by"]["kind"], "Release");
        assert_eq!(
            u["spec"]["by"]["resourceSelector"]["matchLabels"]["myplatform.io/resource"],
            "helm-cert-manager"
        );
        assert!(
            rsp.desired
                .resources
                .contains_key("usage-helm-providerconfig-by-helm-envoy-gateway")
        );
        assert!(
            rsp.desired
                .resources
                .contains_key("usage-cluster-by-nodepool-default")
        );
        assert_eq!(rsp.desired.resources[key].ready, Ready::True);
    }
}

#[test]
fn development_plane_is_public_smaller_and_unmonitored() {
    for cloud in ["gcp", "aws", "azure"] {
        let mut xr = claim(cloud);
        set(&mut xr, "/metadata/labels/planeType", json!("development"));
        let rsp = render(xr);
        assert!(
            !rsp.desired.resources.contains_key("nat"),
            "{cloud}: no NAT on a public plane"
        );
        assert!(
            !rsp.desired.resources.contains_key("helm-monitoring"),
            "{cloud}: monitoring is disabled"
        );
        let ingress =
            &resource(&rsp, "helm-ingress-nginx")["spec"]["forProvider"]["values"]["controller"];
        assert_eq!(ingress["replicaCount"], 1);
        assert_eq!(ingress["metrics"]["enabled"], false);
    }
    let mut xr = claim("aws");
    set(&mut xr, "/metadata/labels/planeType", json!("development"));
    let rsp = render(xr);
    assert_eq!(
        count(&rsp, "ec2.aws.upbound.io/v1beta1 Subnet"),
        4,
        "two zones on development"
    );
    assert_eq!(
        resource(&rsp, "nodepool-default")["spec"]["forProvider"]["subnetIdSelector"]["matchLabels"]
            ["myplatform.io/subnet-access"],
        "public"
    );
}

#[test]
fn dns_off_renders_no_zones_and_no_dns_permissions() {
    for cloud in ["gcp", "aws", "azure"] {
        let mut xr = claim(cloud);
        set(&mut xr, "/spec/parameters/createDnsZones", json!(false));
        let rsp = render(xr);
        for name in [
            "public-dns-zone",
            "private-dns-zone",
            "private-dns-zone-link",
            "gsa-cert-manager-dns",
        ] {
            assert!(!rsp.desired.resources.contains_key(name), "{cloud}: {name}");
        }
    }
    let mut xr = claim("aws");
    set(&mut xr, "/spec/parameters/createDnsZones", json!(false));
    assert!(
        resource(&render(xr), "role-cert-manager")["spec"]["forProvider"]
            .get("inlinePolicy")
            .is_none()
    );
    // A domain is needed too.
    let mut xr = claim("gcp");
    set(&mut xr, "/spec/parameters/domain", Value::Null);
    assert!(!render(xr).desired.resources.contains_key("public-dns-zone"));
}

#[test]
fn private_off_drops_nat_private_nodes_and_the_internal_zone() {
    for cloud in ["gcp", "aws", "azure"] {
        let mut xr = claim(cloud);
        set(&mut xr, "/spec/parameters/privateCluster", json!(false));
        let rsp = render(xr);
        assert!(
            rsp.desired.resources.contains_key("public-dns-zone"),
            "{cloud}"
        );
        for name in ["private-dns-zone", "private-dns-zone-link"] {
            assert!(!rsp.desired.resources.contains_key(name), "{cloud}: {name}");
        }
    }
    let mut xr = claim("gcp");
    set(&mut xr, "/spec/parameters/privateCluster", json!(false));
    let rsp = render(xr);
    assert!(!rsp.desired.resources.contains_key("router"));
    assert!(
        resource(&rsp, "cluster")["spec"]["forProvider"]
            .get("privateClusterConfig")
            .is_none()
    );
    let mut xr = claim("azure");
    set(&mut xr, "/spec/parameters/privateCluster", json!(false));
    let rsp = render(xr);
    assert_eq!(
        resource(&rsp, "cluster")["spec"]["forProvider"]["networkProfile"]["outboundType"],
        "loadBalancer"
    );
    assert!(!rsp.desired.resources.contains_key("subnet-nat-association"));
}

#[test]
fn charts_can_be_disabled_pinned_and_retemplated() {
    let configs = common::env_configs_for_production(
        json!({"ingress": {"controller": "ingress-nginx"}, "charts": {
            "cert-manager": {"disabled": true},
            "ingress-nginx": {"version": "4.11.3", "values": "controller:\n  kind: {{ cluster.private and 'DaemonSet' or 'Deployment' }}\n"},
        }}),
    );
    let req = common::cluster_up(common::request(claim("gcp")), &configs);
    let rsp = common::run_with(req, &configs);
    assert!(!rsp.is_fatal(), "{:?}", rsp.results);
    assert!(!rsp.desired.resources.contains_key("helm-cert-manager"));
    assert!(
        !rsp.desired
            .resources
            .keys()
            .any(|k| k.contains("by-helm-cert-manager"))
    );
    let ingress = &resource(&rsp, "helm-ingress-nginx")["spec"]["forProvider"];
    assert_eq!(ingress["chart"]["version"], "4.11.3");
    // A replaced template keeps the cloud's internal load balancer.
    assert_eq!(
        ingress["values"],
        json!({"controller": {
            "kind": "DaemonSet",
            "service": {"annotations": {"networking.gke.io/load-balancer-type": "Internal"}},
        }})
    );
}

#[test]
fn workload_identity_follows_the_cert_manager_namespace() {
    for (cloud, identity, pointer, expected) in [
        (
            "gcp",
            "gsa-cert-manager-workload-identity",
            "/spec/forProvider/member",
            "serviceAccount:my-project-123.svc.id.goog[certs/cert-manager]",
        ),
        (
            "aws",
            "pod-identity-cert-manager",
            "/spec/forProvider/namespace",
            "certs",
        ),
        (
            "azure",
            "identity-cert-manager-federation",
            "/spec/forProvider/subject",
            "system:serviceaccount:certs:cert-manager",
        ),
    ] {
        let configs = common::env_configs_with(
            cloud,
            json!({"charts": {"cert-manager": {"namespace": "certs"}}}),
        );
        let mut req = common::cluster_up(common::request(claim(cloud)), &configs);
        // Azure federates with the cluster's issuer once it is observed.
        let cluster = common::render(claim(cloud)).desired.resources["cluster"]
            .body
            .clone();
        common::observe(
            &mut req,
            "cluster",
            &cluster,
            json!({"oidcIssuerUrl": "https://issuer.example/"}),
            true,
        );
        let rsp = common::run_with(req, &configs);
        assert!(!rsp.is_fatal(), "{cloud}: {:?}", rsp.results);
        assert_eq!(
            resource(&rsp, "helm-cert-manager")["spec"]["forProvider"]["namespace"],
            "certs"
        );
        assert_eq!(
            resource(&rsp, identity).pointer(pointer),
            Some(&json!(expected)),
            "{cloud}"
        );
    }
}

#[test]
fn template_overrides_merge_last() {
    let mut xr = claim("gcp");
    set(
        &mut xr,
        "/spec/parameters/templates",
        json!({"cluster": {"spec": {"forProvider": {"releaseChannel": {"channel": "STABLE"}, "initialNodeCount": null}}}}),
    );
    let rsp = render(xr);
    let fp = &resource(&rsp, "cluster")["spec"]["forProvider"];
    assert_eq!(fp["releaseChannel"]["channel"], "STABLE");
    assert!(fp.get("initialNodeCount").is_none());
    assert_eq!(fp["deletionProtection"], false);
}

#[test]
fn output_is_deterministic() {
    let a = render(claim("aws"));
    let b = render(claim("aws"));
    assert_eq!(a, b);
    let text = serde_json::to_string(&a.desired.resources["cluster"].body).unwrap();
    assert_eq!(
        text,
        serde_json::to_string(&b.desired.resources["cluster"].body).unwrap()
    );
}

#[test]
fn a_zonal_gke_pool_starts_at_its_minimum_in_that_zone() {
    let mut xr = claim("gcp");
    set(
        &mut xr,
        "/spec/parameters/forProvider/location",
        json!("us-central1-a"),
    );
    let rsp = render(xr);
    let pool = &resource(&rsp, "nodepool-default")["spec"]["forProvider"];
    assert_eq!(pool["initialNodeCount"], 3);
    assert_eq!(
        pool["autoscaling"],
        json!({"minNodeCount": 3, "maxNodeCount": 10})
    );
}

#[test]
fn gke_node_pool_names_fit_in_40_characters() {
    let mut xr = claim("gcp");
    let long = "a-very-long-cluster-name-for-the-analytics-team-prod";
    xr["metadata"]["labels"]["crossplane.io/claim-name"] = json!(long);
    let rsp = render(xr);
    let name = resource(&rsp, "nodepool-default")["metadata"]["annotations"]
        ["crossplane.io/external-name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(name.len() <= 40, "{name}");
    assert!(name.ends_with("-default"), "{name}");
    assert!(name.starts_with("a-very-long-cluster"), "{name}");
}

/// The same claim name in two namespaces must not share a name that is
/// unique per project (GCP), account (AWS IAM) or resource group (Azure):
/// the second claim would silently adopt the first one's resources, and
/// deleting either would delete both. Names scoped to a resource that is
/// itself unique (node pools in their cluster, releases in theirs), the
/// plane's shared resource group and zones named by the claim's own domain
/// are exempt.
#[test]
fn claims_of_the_same_name_in_two_namespaces_share_no_cloud_name() {
    fn names(rsp: &cluster_platform::protocol::Response) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for r in rsp.desired.resources.values() {
            let kind = r.body["kind"].as_str().unwrap_or_default().to_string();
            let scoped = [
                "Release",
                "KubernetesClusterNodePool",
                "ResourceGroup",
                "DNSZone",
                "PrivateDNSZone",
                "Zone",
            ];
            if scoped.contains(&kind.as_str()) {
                continue;
            }
            for name in [
                &r.body["metadata"]["annotations"]["crossplane.io/external-name"],
                &r.body["spec"]["forProvider"]["name"],
            ] {
                if let Some(name) = name.as_str() {
                    out.push((kind.clone(), name.to_string()));
                }
            }
        }
        out
    }
    for cloud in ["gcp", "aws", "azure"] {
        let a = render(claim(cloud));
        let mut other = claim(cloud);
        other["metadata"]["labels"]["crossplane.io/claim-namespace"] = json!("team-b");
        let b = render(other);
        let (a, b) = (names(&a), names(&b));
        assert!(a.len() >= 5, "{cloud}: {a:?}");
        let shared: Vec<_> = a.iter().filter(|n| b.contains(n)).collect();
        assert!(shared.is_empty(), "{cloud}: shared names {shared:?}");
    }
}

/// A private GKE control plane reaches the nodes only on ports a rule
/// opens: without this one every admission webhook call times out.
#[test]
fn gke_private_clusters_open_the_webhook_ports_to_the_control_plane() {
    let mut xr = claim("gcp");
    let rsp = common::run_with(
        common::cluster_up(
            common::request(xr.clone()),
            &common::env_configs_with("gcp", json!({"gcp": {"webhookPorts": [15017, "8443"]}})),
        ),
        &common::env_configs_with("gcp", json!({"gcp": {"webhookPorts": [15017, "8443"]}})),
    );
    let firewall = resource(&rsp, "firewall-control-plane");
    let fp = &firewall["spec"]["forProvider"];
    assert_eq!(fp["direction"], "INGRESS");
    assert_eq!(fp["sourceRanges"], json!(["172.16.0.0/28"]));
    assert_eq!(
        fp["allow"],
        json!([{"protocol": "tcp", "ports": ["8443", "9443", "10250", "15017"]}])
    );
    assert_eq!(
        fp["networkSelector"]["matchLabels"]["myplatform.io/resource"],
        "network"
    );
    let tags = &resource(&rsp, "nodepool-default")["spec"]["forProvider"]["nodeConfig"]["tags"];
    assert_eq!(&fp["targetTags"], tags);
    assert!(
        rsp.desired
            .resources
            .contains_key("usage-network-by-firewall-control-plane")
    );

    // The charts' webhooks need it: they wait for it.
    let mut req = common::cluster_up(common::request(xr.clone()), &common::env_configs());
    let body = req.observed.resources["firewall-control-plane"]
        .body
        .clone();
    common::observe(&mut req, "firewall-control-plane", &body, json!({}), false);
    let waiting = common::run_with(req, &common::env_configs());
    assert!(!waiting.desired.resources.contains_key("helm-cert-manager"));

    // A public cluster's control plane reaches its nodes without it.
    set(&mut xr, "/spec/parameters/privateCluster", json!(false));
    let public = render(xr);
    assert!(
        !public
            .desired
            .resources
            .contains_key("firewall-control-plane")
    );
    assert!(public.desired.resources.contains_key("helm-cert-manager"));
}

/// The ingress Service is an internal load balancer on every cloud: an
/// NLB on AWS, and AKS pools spread over the region's zones.
#[test]
fn load_balancers_and_zones_per_cloud() {
    let annotations = |cloud: &str| {
        let configs =
            common::env_configs_for_production(json!({"ingress": {"controller": "ingress-nginx"}}));
        let rsp = common::run_with(
            common::cluster_up(common::request(claim(cloud)), &configs),
            &configs,
        );
        resource(&rsp, "helm-ingress-nginx")["spec"]["forProvider"]["values"]["controller"]
            ["service"]["annotations"]
            .clone()
    };
    assert_eq!(
        annotations("aws"),
        json!({
            "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
            "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
        })
    );
    assert_eq!(
        annotations("gcp"),
        json!({"networking.gke.io/load-balancer-type": "Internal"})
    );
    assert_eq!(
        annotations("azure"),
        json!({"service.beta.kubernetes.io/azure-load-balancer-internal": "true"})
    );

    let rsp = render(claim("azure"));
    let zones = json!(["1", "2", "3"]);
    assert_eq!(
        resource(&rsp, "nodepool-default")["spec"]["forProvider"]["zones"],
        zones
    );
    assert_eq!(
        resource(&rsp, "cluster")["spec"]["forProvider"]["defaultNodePool"]["zones"],
        zones
    );
    let configs = common::env_configs_with("azure", json!({"azure": {"zones": []}}));
    let rsp = common::run_with(
        common::cluster_up(common::request(claim("azure")), &configs),
        &configs,
    );
    assert_eq!(
        resource(&rsp, "nodepool-default")["spec"]["forProvider"]["zones"],
        json!([])
    );
}

/// GKE nodes run as their own least-privilege account, not the default
/// compute account (Editor on the project); the providers may use their
/// injected identity where keys cannot be created.
#[test]
fn gke_nodes_have_their_own_account_and_providers_may_skip_the_key() {
    let rsp = render(claim("gcp"));
    let email = "prod-cluster-1ef5e5-nodes@my-project-123.iam.gserviceaccount.com";
    let pool = &resource(&rsp, "nodepool-default")["spec"]["forProvider"];
    assert_eq!(pool["nodeConfig"]["serviceAccount"], email);
    assert_eq!(
        resource(&rsp, "cluster")["spec"]["initProvider"]["nodeConfig"]["serviceAccount"],
        email
    );
    let roles: Vec<&Value> = rsp
        .desired
        .resources
        .iter()
        .filter(|(name, _)| name.starts_with("gsa-nodes-"))
        .map(|(_, r)| &r.body["spec"]["forProvider"]["role"])
        .collect();
    assert_eq!(
        roles,
        [
            &json!("roles/container.defaultNodeServiceAccount"),
            &json!("roles/artifactregistry.reader")
        ]
    );
    assert!(
        rsp.desired
            .resources
            .contains_key("usage-gsa-nodes-by-nodepool-default")
    );
    assert!(rsp.desired.resources.contains_key("gsa-provider-key"));

    let configs = common::env_configs_with(
        "gcp",
        json!({"gcp": {"providerCredentials": "InjectedIdentity"}}),
    );
    let rsp = common::run_with(
        common::cluster_up(common::request(claim("gcp")), &configs),
        &configs,
    );
    for name in ["gsa-provider", "gsa-provider-admin", "gsa-provider-key"] {
        assert!(!rsp.desired.resources.contains_key(name), "{name}");
    }
    assert_eq!(
        resource(&rsp, "helm-providerconfig")["spec"]["identity"],
        json!({"type": "GoogleApplicationCredentials", "source": "InjectedIdentity"})
    );
    assert!(rsp.desired.resources.contains_key("helm-cert-manager"));
}

/// EKS node groups carry only bounds: the platform installs the Cluster
/// Autoscaler with its own Pod Identity role, allowed to resize only the
/// groups tagged for this cluster.
#[test]
fn eks_node_groups_are_scaled_by_the_cluster_autoscaler() {
    let rsp = render(claim("aws"));
    let cluster = "prod-cluster-231fa6";
    let release = &resource(&rsp, "helm-cluster-autoscaler")["spec"];
    assert_eq!(
        release["forProvider"]["chart"]["name"],
        "cluster-autoscaler"
    );
    assert_eq!(release["forProvider"]["namespace"], "kube-system");
    assert_eq!(release["rollbackLimit"], 5);
    let values = &release["forProvider"]["values"];
    assert_eq!(values["autoDiscovery"]["clusterName"], cluster);
    assert_eq!(values["awsRegion"], "eu-west-1");
    assert_eq!(
        values["rbac"]["serviceAccount"]["name"],
        "cluster-autoscaler"
    );
    assert_eq!(values["extraArgs"]["balance-similar-node-groups"], true);

    let association = &resource(&rsp, "pod-identity-cluster-autoscaler")["spec"]["forProvider"];
    assert_eq!(association["namespace"], "kube-system");
    assert_eq!(association["serviceAccount"], "cluster-autoscaler");

    let role = &resource(&rsp, "role-cluster-autoscaler")["spec"]["forProvider"];
    let policy: Value =
        serde_json::from_str(role["inlinePolicy"][0]["policy"].as_str().unwrap()).unwrap();
    let resize = &policy["Statement"][0];
    assert_eq!(
        resize["Action"],
        json!([
            "autoscaling:SetDesiredCapacity",
            "autoscaling:TerminateInstanceInAutoScalingGroup"
        ])
    );
    assert_eq!(
        resize["Condition"]["StringEquals"]
            [format!("aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}")],
        "owned"
    );
    let tags = &resource(&rsp, "nodepool-default")["spec"]["forProvider"]["tags"];
    assert_eq!(
        tags[format!("k8s.io/cluster-autoscaler/{cluster}")],
        "owned"
    );
    assert_eq!(tags["k8s.io/cluster-autoscaler/enabled"], "true");

    // Its pod needs the association when it starts.
    let mut req = common::cluster_up(common::request(claim("aws")), &common::env_configs());
    req.observed
        .resources
        .remove("pod-identity-cluster-autoscaler");
    let waiting = common::run_with(req, &common::env_configs());
    assert!(
        !waiting
            .desired
            .resources
            .contains_key("helm-cluster-autoscaler")
    );
    assert!(waiting.desired.resources.contains_key("helm-envoy-gateway"));

    // GKE and AKS scale their pools themselves.
    for cloud in ["gcp", "azure"] {
        assert!(
            !render(claim(cloud))
                .desired
                .resources
                .contains_key("helm-cluster-autoscaler")
        );
    }
}

/// Every selector of every case resolves: a `*Selector` matching on a
/// composition resource name names a resource the same render composes,
/// so no reference waits forever on something the plan does not have.
#[test]
fn every_selector_names_a_composed_resource() {
    fn selectors<'a>(value: &'a Value, path: &str, out: &mut Vec<(String, &'a str)>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    let here = format!("{path}.{key}");
                    let named = inner
                        .pointer("/matchLabels/myplatform.io~1resource")
                        .and_then(Value::as_str);
                    match named {
                        Some(name) if key.ends_with("Selector") => out.push((here, name)),
                        _ => selectors(inner, &here, out),
                    }
                }
            }
            Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    selectors(inner, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut checked = 0;
    for (case, xr) in common::cases() {
        for rsp in [common::render_first(xr.clone()), render(xr)] {
            let composed: Vec<&str> = rsp
                .desired
                .resources
                .values()
                .filter_map(|r| r.body["metadata"]["labels"]["myplatform.io/resource"].as_str())
                .collect();
            for (name, r) in &rsp.desired.resources {
                let mut found = Vec::new();
                selectors(&r.body, "", &mut found);
                for (path, target) in found {
                    checked += 1;
                    assert!(
                        composed.contains(&target),
                        "{case} / {name}{path} selects {target}, which is not composed"
                    );
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} selectors checked");
}

/// An environment may hand Grafana a Secret of its own for the admin
/// login, and size Prometheus's volume.
#[test]
fn grafana_takes_the_environments_secret_and_prometheus_its_volume_size() {
    let configs = common::env_configs_with(
        "gcp",
        json!({"monitoring": {"storage": "200Gi", "grafana": {"adminSecret": "grafana-admin"}}}),
    );
    let rsp = common::run_with(
        common::cluster_up(common::request(claim("gcp")), &configs),
        &configs,
    );
    let values = &resource(&rsp, "helm-monitoring")["spec"]["forProvider"]["values"];
    assert_eq!(
        values["grafana"]["admin"],
        json!({"existingSecret": "grafana-admin", "userKey": "admin-user", "passwordKey": "admin-password"})
    );
    assert_eq!(
        values["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]
            ["requests"]["storage"],
        "200Gi"
    );
}

/// `aws.natGateways: PerZone` gives each zone its own NAT gateway and
/// private route table, so one zone's outage cuts no other zone's egress.
#[test]
fn aws_nat_gateways_one_per_zone_on_request() {
    let single = render(claim("aws"));
    assert_eq!(count(&single, "ec2.aws.upbound.io/v1beta1 NATGateway"), 1);
    let configs = common::env_configs_with("aws", json!({"aws": {"natGateways": "PerZone"}}));
    let rsp = common::run_with(
        common::cluster_up(common::request(claim("aws")), &configs),
        &configs,
    );
    assert_eq!(count(&rsp, "ec2.aws.upbound.io/v1beta1 NATGateway"), 3);
    for zone in ["a", "b", "c"] {
        let nat = &resource(&rsp, &format!("nat-{zone}"))["spec"]["forProvider"];
        assert_eq!(
            nat["subnetIdSelector"]["matchLabels"]["myplatform.io/resource"],
            format!("subnet-public-{zone}")
        );
        let route =
            &resource(&rsp, &format!("route-private-default-{zone}"))["spec"]["forProvider"];
        assert_eq!(
            route["natGatewayIdSelector"]["matchLabels"]["myplatform.io/resource"],
            format!("nat-{zone}")
        );
        let association = &resource(&rsp, &format!("route-table-association-private-{zone}"))["spec"]
            ["forProvider"];
        assert_eq!(
            association["routeTableIdSelector"]["matchLabels"]["myplatform.io/resource"],
            format!("route-table-private-{zone}")
        );
        // Re-resolved, so switching modes moves the subnet to its new table.
        assert_eq!(
            association["routeTableIdSelector"]["policy"]["resolve"],
            "Always"
        );
        assert!(
            rsp.desired
                .resources
                .contains_key(&format!("usage-nat-{zone}-by-cluster"))
        );
    }
    assert!(!rsp.desired.resources.contains_key("route-table-private"));
}

/// Once cert-manager runs, a ClusterIssuer puts its DNS-01 identity to
/// use for the claim's public zone, through the Kubernetes ProviderConfig.
#[test]
fn a_cluster_issuer_uses_cert_managers_identity_once_it_runs() {
    for cloud in ["gcp", "aws", "azure"] {
        let configs = common::env_configs();
        let up = render(claim(cloud));
        assert!(
            !up.desired.resources.contains_key("cluster-issuer"),
            "{cloud}: before cert-manager runs"
        );
        let mut req = common::cluster_up(common::request(claim(cloud)), &configs);
        let release = resource(&up, "helm-cert-manager").clone();
        common::observe(&mut req, "helm-cert-manager", &release, json!({}), true);
        let zone = resource(&up, "public-dns-zone").clone();
        common::observe(
            &mut req,
            "public-dns-zone",
            &zone,
            json!({"id": "/subscriptions/sub-1/resourceGroups/prod-platform-rg/providers/Microsoft.Network/dnsZones/prod.example.com", "zoneId": "Z123"}),
            true,
        );
        if cloud == "azure" {
            let identity = req.observed.resources["identity-cert-manager"].body.clone();
            common::observe(
                &mut req,
                "identity-cert-manager",
                &identity,
                json!({"clientId": "cid"}),
                true,
            );
        }
        let rsp = common::run_with(req, &configs);
        let issuer = resource(&rsp, "cluster-issuer");
        assert_eq!(issuer["kind"], "Object", "{cloud}");
        assert_eq!(
            issuer["spec"]["providerConfigRef"]["name"],
            "prod-cluster-x7k2p"
        );
        let manifest = &issuer["spec"]["forProvider"]["manifest"];
        assert_eq!(manifest["kind"], "ClusterIssuer");
        let acme = &manifest["spec"]["acme"];
        assert_eq!(acme["email"], "platform@example.com");
        let solver = &acme["solvers"][0];
        assert_eq!(solver["selector"]["dnsZones"], json!(["prod.example.com"]));
        let expected = match cloud {
            "gcp" => json!({"cloudDNS": {"project": "my-project-123"}}),
            "aws" => json!({"route53": {"region": "eu-west-1", "hostedZoneID": "Z123"}}),
            _ => json!({"azureDNS": {
                "subscriptionID": "sub-1",
                "resourceGroupName": "prod-platform-rg",
                "hostedZoneName": "prod.example.com",
                "environment": "AzurePublicCloud",
                "managedIdentity": {"clientID": "cid"},
            }}),
        };
        assert_eq!(solver["dns01"], expected, "{cloud}");
        assert!(
            rsp.desired
                .resources
                .contains_key("usage-helm-cert-manager-by-cluster-issuer")
        );
    }
}

/// Every `uses` of every case names a resource the same render composes,
/// first call and once the cluster is up, so no deletion order is lost
/// (a dangling one is a warning result, never silence).
#[test]
fn every_usage_names_composed_resources() {
    let warnings = |rsp: &cluster_platform::protocol::Response| -> Vec<String> {
        rsp.results
            .iter()
            .filter(|r| r.severity == cluster_platform::protocol::Severity::Warning)
            .map(|r| r.message.clone())
            .collect()
    };
    for (case, xr) in common::cases() {
        for rsp in [common::render_first(xr.clone()), render(xr)] {
            assert_eq!(warnings(&rsp), Vec::<String>::new(), "{case}");
        }
    }
    for chart in ["cert-manager", "envoy-gateway", "monitoring"] {
        let configs =
            common::env_configs_with("azure", json!({"charts": {chart: {"disabled": true}}}));
        let rsp = common::run_with(
            common::cluster_up(common::request(claim("azure")), &configs),
            &configs,
        );
        assert_eq!(warnings(&rsp), Vec::<String>::new(), "without {chart}");
    }
}

/// Production runs Envoy Gateway: once it runs, its EnvoyProxy gives the
/// proxies the cloud's internal load balancer, and the platform's
/// GatewayClass and shared Gateway follow, through provider-kubernetes.
#[test]
fn envoy_gateway_serves_the_gateway_api_behind_the_clouds_internal_load_balancer() {
    for cloud in ["gcp", "aws", "azure"] {
        let configs = common::env_configs();
        let up = render(claim(cloud));
        assert!(
            !up.desired.resources.contains_key("gateway"),
            "{cloud}: before it runs"
        );
        let mut req = common::cluster_up(common::request(claim(cloud)), &configs);
        let release = resource(&up, "helm-envoy-gateway").clone();
        common::observe(&mut req, "helm-envoy-gateway", &release, json!({}), true);
        let rsp = common::run_with(req, &configs);
        let manifest = |name: &str| resource(&rsp, name)["spec"]["forProvider"]["manifest"].clone();
        let proxy = manifest("gateway-proxy");
        assert_eq!(proxy["kind"], "EnvoyProxy");
        let kubernetes = &proxy["spec"]["provider"]["kubernetes"];
        assert_eq!(kubernetes["envoyDeployment"]["replicas"], 3, "{cloud}");
        let expected = match cloud {
            "gcp" => "networking.gke.io/load-balancer-type",
            "aws" => "service.beta.kubernetes.io/aws-load-balancer-internal",
            _ => "service.beta.kubernetes.io/azure-load-balancer-internal",
        };
        assert!(
            kubernetes["envoyService"]["annotations"]
                .get(expected)
                .is_some(),
            "{cloud}: {kubernetes}"
        );
        let class = manifest("gateway-class");
        assert_eq!(
            class["spec"]["controllerName"],
            "gateway.envoyproxy.io/gatewayclass-controller"
        );
        assert_eq!(
            class["spec"]["parametersRef"]["name"],
            proxy["metadata"]["name"]
        );
        let gateway = manifest("gateway");
        assert_eq!(
            gateway["spec"]["gatewayClassName"],
            class["metadata"]["name"]
        );
        assert_eq!(
            gateway["spec"]["listeners"][0]["hostname"],
            "*.prod.example.com"
        );
        assert!(
            rsp.desired
                .resources
                .contains_key("usage-gateway-class-by-gateway")
        );
    }
}

#[test]
fn an_unknown_ingress_controller_is_refused() {
    let configs = common::env_configs_for_production(json!({"ingress": {"controller": "traefik"}}));
    let rsp = common::run_with(common::request(claim("gcp")), &configs);
    assert_eq!(
        common::fatal_message(&rsp),
        "environment ingress.controller is \"traefik\": expected one of ingress-nginx, envoy-gateway"
    );
}

/// EKS has no default StorageClass (since 1.30) and no EBS driver:
/// Prometheus's volume would stay Pending. The driver add-on runs with its
/// own Pod Identity role, creates the default class, and the monitoring
/// chart waits for it.
#[test]
fn eks_volumes_are_provisioned_by_the_ebs_csi_driver() {
    let rsp = render(claim("aws"));
    let addon = &resource(&rsp, "addon-ebs-csi-driver")["spec"]["forProvider"];
    assert_eq!(addon["addonName"], "aws-ebs-csi-driver");
    assert_eq!(
        addon["podIdentityAssociation"],
        json!([{
            "roleArn": "arn:aws:iam::123456789012:role/prod-cluster-231fa6-ebs-csi",
            "serviceAccount": "ebs-csi-controller-sa",
        }])
    );
    let config: Value =
        serde_json::from_str(addon["configurationValues"].as_str().unwrap()).unwrap();
    assert_eq!(config, json!({"defaultStorageClass": {"enabled": true}}));
    assert_eq!(
        resource(&rsp, "role-ebs-csi-policy")["spec"]["forProvider"]["policyArn"],
        "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    );
    let mut req = common::cluster_up(common::request(claim("aws")), &common::env_configs());
    req.observed.resources.remove("addon-ebs-csi-driver");
    req.observed.resources.remove("helm-monitoring");
    let waiting = common::run_with(req, &common::env_configs());
    assert!(!waiting.desired.resources.contains_key("helm-monitoring"));
}
