//! Observed-state sequences: requirements, readiness and status as the
//! clouds answer, and the import workflow waiting for observation.

use cluster_platform::testing as common;

use cluster_platform::log::Log;
use cluster_platform::platform::run;
use cluster_platform::protocol::{Ready, Severity};
use common::{claim, cluster_up, observe, render, render_first, request, resource, run_with, set};
use serde_json::json;

/// The monitoring release observed ready: the charts whose ServiceMonitors
/// need its CRD are released after it.
fn monitoring_up(req: &mut cluster_platform::protocol::Request) {
    let release =
        json!({"apiVersion": "helm.crossplane.io/v1beta1", "kind": "Release", "metadata": {}});
    observe(req, "helm-monitoring", &release, json!({}), true);
}

#[test]
fn requirements_are_asked_under_both_fields_and_stay_stable() {
    let req = request(claim("gcp"));
    let first = run(&req, &mut Log::default());
    assert!(
        first.desired.resources.is_empty(),
        "nothing renders before the environment is known"
    );
    let reqs = &first.requirements;
    assert_eq!(reqs.resources, reqs.extra_resources);
    let labels: Vec<String> = reqs
        .resources
        .values()
        .map(|s| match &s.matching {
            cluster_platform::protocol::Match::Labels(l) => format!("{l:?}"),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(labels.len(), 3);
    assert!(
        labels
            .iter()
            .any(|l| l.contains("\"baseline\": \"default\""))
    );
    assert!(labels.iter().any(|l| l.contains("\"cloud\": \"gcp\"")));
    assert!(
        labels
            .iter()
            .any(|l| l.contains("\"planeType\": \"production\""))
    );
    for s in reqs.resources.values() {
        assert_eq!(
            (s.api_version.as_str(), s.kind.as_str()),
            ("apiextensions.crossplane.io/v1beta1", "EnvironmentConfig")
        );
    }
    // Answered: the same requirements come back, and the platform renders.
    let rsp = render(claim("gcp"));
    assert_eq!(&rsp.requirements, reqs);
    assert!(rsp.desired.resources.contains_key("cluster"));
}

#[test]
fn deprecated_extra_resources_answers_are_merged_in_order() {
    let configs = common::env_configs();
    let mut req = cluster_up(request(claim("aws")), &configs);
    let first = run(&req, &mut Log::default());
    for (name, selector) in &first.requirements.extra_resources {
        let cluster_platform::protocol::Match::Labels(labels) = &selector.matching else {
            panic!()
        };
        let items = configs
            .iter()
            .filter(|c| {
                labels
                    .iter()
                    .all(|(k, v)| c["metadata"]["labels"][k] == json!(v))
            })
            .cloned()
            .collect();
        req.extra_resources.insert(name.clone(), items);
    }
    let rsp = run(&req, &mut Log::default());
    assert!(!rsp.is_fatal(), "{:?}", rsp.results);
    // planetype.production (90d) wins over defaults (30d).
    let values = &resource(&rsp, "helm-monitoring")["spec"]["forProvider"]["values"];
    assert_eq!(values["prometheus"]["prometheusSpec"]["retention"], "90d");
    // cloud.aws wins over defaults for the machine type of a default pool.
    let mut xr = claim("aws");
    set(&mut xr, "/spec/parameters/pools", json!({}));
    let rsp = render(xr);
    assert_eq!(
        resource(&rsp, "nodepool-default")["spec"]["forProvider"]["instanceTypes"],
        json!(["m6i.large"])
    );
}

#[test]
fn an_environment_in_the_context_is_used_without_requirements() {
    let mut req = cluster_up(request(claim("gcp")), &common::env_configs());
    req.context = Some(json!({"apiextensions.crossplane.io/environment": {
        "apiVersion": "internal.crossplane.io/v1alpha1", "kind": "Environment",
        "defaultMachineType": "n2-standard-8", "ingress_replicas": 5,
    }}));
    let mut xr = claim("gcp");
    set(&mut xr, "/spec/parameters/pools", json!({}));
    req.observed.composite = Some(cluster_platform::protocol::Resource::new(xr));
    let rsp = run(&req, &mut Log::default());
    assert!(!rsp.is_fatal(), "{:?}", rsp.results);
    assert!(rsp.requirements.resources.is_empty() && rsp.requirements.extra_resources.is_empty());
    assert_eq!(
        resource(&rsp, "nodepool-default")["spec"]["forProvider"]["nodeConfig"]["machineType"],
        "n2-standard-8"
    );
    assert_eq!(
        resource(&rsp, "helm-ingress-nginx")["spec"]["forProvider"]["values"]["controller"]["replicaCount"],
        5
    );
    // The context is carried forward untouched.
    assert_eq!(rsp.context, req.context);
}

#[test]
fn status_and_readiness_fill_in_as_resources_become_ready() {
    let configs = common::env_configs();
    let first = render_first(claim("gcp"));
    assert!(
        first.desired.composite.is_none(),
        "no status before anything is observed"
    );
    assert!(
        first
            .desired
            .resources
            .iter()
            .filter(|(n, _)| !n.starts_with("usage-") && !n.contains("providerconfig"))
            .all(|(_, r)| r.ready == Ready::False)
    );

    // The cluster exists but is not ready yet: endpoint known, not ready.
    let mut req = request(claim("gcp"));
    observe(
        &mut req,
        "cluster",
        resource(&first, "cluster"),
        json!({"endpoint": "34.1.2.3", "masterAuth": {"clusterCaCertificate": "Q0E="}}),
        false,
    );
    let rsp = run_with(req.clone(), &configs);
    assert_eq!(rsp.desired.resources["cluster"].ready, Ready::False);
    let status = &rsp.desired.composite.as_ref().unwrap().body["status"];
    assert_eq!(status["clusterEndpoint"], "https://34.1.2.3");
    assert_eq!(status["clusterCA"], "Q0E=");
    assert!(
        status.get("kubeconfigSecretRef").is_none(),
        "the kubeconfig is not there yet"
    );

    // Ready: readiness and the kubeconfig reference follow; zone name servers too.
    observe(
        &mut req,
        "cluster",
        resource(&first, "cluster"),
        json!({"endpoint": "34.1.2.3", "masterAuth": {"clusterCaCertificate": "Q0E="}, "workloadIdentityConfig": {"workloadPool": "my-project-123.svc.id.goog"}}),
        true,
    );
    observe(
        &mut req,
        "public-dns-zone",
        resource(&first, "public-dns-zone"),
        json!({"nameServers": ["ns-cloud-a1.googledomains.com."]}),
        true,
    );
    let rsp = run_with(req, &configs);
    assert_eq!(rsp.desired.resources["cluster"].ready, Ready::True);
    assert_eq!(rsp.desired.resources["public-dns-zone"].ready, Ready::True);
    assert_eq!(rsp.desired.resources["subnet"].ready, Ready::False);
    let composite = &rsp.desired.composite.as_ref().unwrap().body;
    assert_eq!(composite["kind"], "XCluster");
    let status = &composite["status"];
    assert_eq!(status["workloadPool"], "my-project-123.svc.id.goog");
    assert_eq!(
        status["kubeconfigSecretRef"],
        json!({"name": "prod-cluster-1ef5e5-kubeconfig", "namespace": "default", "key": "kubeconfig"})
    );
    assert_eq!(
        status["dns"]["nameServers"][0],
        "ns-cloud-a1.googledomains.com."
    );
}

#[test]
fn aws_and_azure_status_paths() {
    let configs = common::env_configs();
    let first = render_first(claim("aws"));
    let mut req = request(claim("aws"));
    observe(
        &mut req,
        "cluster",
        resource(&first, "cluster"),
        json!({
            "endpoint": "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
            "certificateAuthority": [{"data": "LS0t"}],
            "identity": [{"oidc": [{"issuer": "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"}]}],
        }),
        true,
    );
    let rsp = run_with(req, &configs);
    let status = &rsp.desired.composite.as_ref().unwrap().body["status"];
    assert_eq!(
        status["clusterEndpoint"],
        "https://ABC.gr7.eu-west-1.eks.amazonaws.com"
    );
    assert_eq!(status["clusterCA"], "LS0t");
    assert_eq!(
        status["oidcIssuer"],
        "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"
    );
    assert!(
        status.get("kubeconfigSecretRef").is_none(),
        "the kubeconfig comes from ClusterAuth"
    );

    let first = render_first(claim("azure"));
    let mut req = request(claim("azure"));
    observe(
        &mut req,
        "cluster",
        resource(&first, "cluster"),
        json!({"fqdn": "prod-abc.hcp.westeurope.azmk8s.io", "oidcIssuerUrl": "https://westeurope.oic.prod-aks.azure.com/t/u/"}),
        true,
    );
    req.observed
        .resources
        .get_mut("cluster")
        .unwrap()
        .connection_details
        .insert("kubeconfig.clustercacertificate".into(), b"Q0FB".to_vec());
    observe(
        &mut req,
        "identity-cert-manager",
        resource(&first, "identity-cert-manager"),
        json!({"clientId": "cid", "principalId": "pid"}),
        true,
    );
    observe(
        &mut req,
        "nodepool-default",
        resource(&first, "nodepool-default"),
        json!({}),
        true,
    );
    monitoring_up(&mut req);
    let rsp = run_with(req.clone(), &configs);
    let status = &rsp.desired.composite.as_ref().unwrap().body["status"];
    assert_eq!(
        status["clusterEndpoint"],
        "https://prod-abc.hcp.westeurope.azmk8s.io:443"
    );
    assert_eq!(status["clusterCA"], "Q0FB");
    let fic = &resource(&rsp, "identity-cert-manager-federation")["spec"]["forProvider"];
    assert_eq!(
        fic["issuer"],
        "https://westeurope.oic.prod-aks.azure.com/t/u/"
    );
    assert_eq!(
        fic["subject"],
        "system:serviceaccount:cert-manager:cert-manager"
    );
    let sa =
        &resource(&rsp, "helm-cert-manager")["spec"]["forProvider"]["values"]["serviceAccount"];
    assert_eq!(
        sa["annotations"]["azure.workload.identity/client-id"],
        "cid"
    );
    assert!(
        !rsp.desired
            .resources
            .contains_key("identity-cert-manager-dns"),
        "waits for the zone ID"
    );

    // Once created, the credential keeps its issuer even if the cluster's
    // status is momentarily empty.
    observe(
        &mut req,
        "identity-cert-manager-federation",
        resource(&rsp, "identity-cert-manager-federation"),
        json!({}),
        true,
    );
    observe(
        &mut req,
        "cluster",
        resource(&first, "cluster"),
        json!({}),
        false,
    );
    let rsp = run_with(req, &configs);
    assert_eq!(
        resource(&rsp, "identity-cert-manager-federation")["spec"]["forProvider"]["issuer"],
        "https://westeurope.oic.prod-aks.azure.com/t/u/"
    );
}

#[test]
fn import_observe_renders_only_the_listed_resources() {
    let rsp = render(claim("import"));
    let names: Vec<&str> = rsp.desired.resources.keys().map(String::as_str).collect();
    assert_eq!(names, ["cluster", "network", "nodepool-default", "subnet"]);
    for r in rsp.desired.resources.values() {
        assert_eq!(r.body["spec"]["managementPolicies"], json!(["Observe"]));
        assert!(r.body["spec"].get("initProvider").is_none());
        assert!(r.body["spec"].get("writeConnectionSecretToRef").is_none());
    }
    assert_eq!(
        resource(&rsp, "cluster")["metadata"]["annotations"]["crossplane.io/external-name"],
        "legacy-gke"
    );
    let pool = resource(&rsp, "nodepool-default");
    assert_eq!(
        pool["metadata"]["annotations"]["crossplane.io/external-name"],
        "legacy-gke-pool"
    );
    assert_eq!(
        pool["spec"]["forProvider"]["cluster"], "legacy-gke",
        "the external-name template needs the cluster"
    );
    assert_eq!(pool["spec"]["forProvider"]["location"], "us-central1");

    // Status comes from what is observed.
    let mut req = request(claim("import"));
    observe(
        &mut req,
        "cluster",
        resource(&rsp, "cluster"),
        json!({"endpoint": "10.0.0.2"}),
        true,
    );
    let rsp = run_with(req, &common::env_configs());
    assert_eq!(
        rsp.desired.composite.as_ref().unwrap().body["status"]["clusterEndpoint"],
        "https://10.0.0.2"
    );
    assert!(
        rsp.desired.composite.as_ref().unwrap().body["status"]
            .get("kubeconfigSecretRef")
            .is_none()
    );
}

#[test]
fn import_manage_waits_for_observation_then_takes_over() {
    let mut xr = claim("import");
    set(&mut xr, "/spec/parameters/import/mode", json!("manage"));
    let first = render_first(xr.clone());
    // The rest of the platform renders normally; charts wait for the cluster.
    assert!(!first.desired.resources.contains_key("helm-cert-manager"));
    assert!(first.desired.resources.contains_key("router"));
    assert_eq!(
        resource(&first, "cluster")["spec"]["managementPolicies"],
        json!(["Observe"])
    );
    assert!(
        resource(&first, "router")["spec"]
            .get("managementPolicies")
            .is_none()
    );
    let note = first
        .results
        .iter()
        .find(|r| r.severity == Severity::Normal)
        .expect("a result says why");
    assert!(
        note.message.contains("cluster") && note.message.contains("Observe"),
        "{}",
        note.message
    );

    // The cluster is observed: it is taken over, never deleted with the
    // claim, and only what identifies it is enforced; the platform's other
    // fields (private cluster config, secondary ranges: changing them
    // would replace the cluster) apply only if it ever has to be created
    // again. The subnet still waits.
    let mut req = request(xr.clone());
    observe(
        &mut req,
        "cluster",
        resource(&first, "cluster"),
        json!({"endpoint": "10.0.0.2", "location": "us-central1"}),
        true,
    );
    let rsp = run_with(req.clone(), &common::env_configs());
    let cluster = resource(&rsp, "cluster");
    assert_eq!(
        cluster["spec"]["managementPolicies"],
        json!(["Observe", "Create", "Update", "LateInitialize"])
    );
    let fp = cluster["spec"]["forProvider"].as_object().unwrap();
    assert_eq!(
        fp.keys().collect::<Vec<_>>(),
        ["location", "project"],
        "{fp:?}"
    );
    let init = &cluster["spec"]["initProvider"];
    assert_eq!(init["deletionProtection"], false);
    assert_eq!(init["privateClusterConfig"]["enablePrivateNodes"], true);
    assert_eq!(
        init["ipAllocationPolicy"]["clusterSecondaryRangeName"],
        "pods"
    );
    assert_eq!(
        cluster["metadata"]["annotations"]["crossplane.io/external-name"],
        "legacy-gke"
    );
    assert!(cluster["spec"].get("writeConnectionSecretToRef").is_some());
    assert_eq!(
        resource(&rsp, "subnet")["spec"]["managementPolicies"],
        json!(["Observe"])
    );
    let note = rsp
        .results
        .iter()
        .find(|r| r.severity == Severity::Normal)
        .unwrap();
    assert!(
        !note.message.contains("cluster,") && note.message.contains("subnet"),
        "{}",
        note.message
    );

    // Delete only when the claim asks; the claim's own templates are what
    // it enforces on an adopted resource.
    set(
        &mut xr,
        "/spec/parameters/import/deletionPolicy",
        json!("Delete"),
    );
    set(
        &mut xr,
        "/spec/parameters/templates/cluster",
        json!({"spec": {"forProvider": {"releaseChannel": {"channel": "STABLE"}}}}),
    );
    req.observed.composite = Some(cluster_platform::protocol::Resource::new(xr));
    let rsp = run_with(req, &common::env_configs());
    let cluster = resource(&rsp, "cluster");
    assert_eq!(cluster["spec"]["managementPolicies"], json!(["*"]));
    assert_eq!(
        cluster["spec"]["forProvider"]["releaseChannel"]["channel"],
        "STABLE"
    );
}

#[test]
fn charts_wait_for_the_cluster_and_stay_once_released() {
    for cloud in ["gcp", "aws", "azure"] {
        let configs = common::env_configs();
        let first = render_first(claim(cloud));
        assert!(
            !first
                .desired
                .resources
                .keys()
                .any(|k| k.starts_with("helm-") && k != "helm-providerconfig"),
            "{cloud}: no Release before the cluster is ready"
        );
        let waiting = first
            .results
            .iter()
            .find(|r| r.reason.as_deref() == Some("WaitingForCluster"))
            .unwrap_or_else(|| panic!("{cloud}: {:?}", first.results));
        assert_eq!(waiting.severity, Severity::Normal);
        assert!(
            waiting
                .message
                .contains("cert-manager, envoy-gateway, monitoring"),
            "{}",
            waiting.message
        );

        let mut req = cluster_up(request(claim(cloud)), &configs);
        let up = run_with(req.clone(), &configs);
        assert!(
            up.desired.resources.contains_key("helm-cert-manager"),
            "{cloud}"
        );
        assert!(
            !up.results
                .iter()
                .any(|r| r.reason.as_deref() == Some("WaitingForCluster")),
            "{cloud}"
        );

        // A cluster that turns unready later keeps its Releases.
        let cluster = up.desired.resources["cluster"].body.clone();
        observe(&mut req, "cluster", &cluster, json!({}), false);
        let release = up.desired.resources["helm-cert-manager"].body.clone();
        observe(&mut req, "helm-cert-manager", &release, json!({}), true);
        let later = run_with(req, &configs);
        assert!(
            later.desired.resources.contains_key("helm-cert-manager"),
            "{cloud}"
        );
        assert!(
            !later.desired.resources.contains_key("helm-envoy-gateway"),
            "{cloud}"
        );
    }
}

/// A cluster with no schedulable node yet (GKE without its default pool,
/// AKS with only its tainted system pool, EKS before its node group) would
/// leave the charts' hook Jobs Pending until the install fails: Releases
/// wait for a node pool, and every Release retries a failed install.
#[test]
fn charts_wait_for_a_ready_node_pool_and_retry_failed_installs() {
    for cloud in ["gcp", "aws", "azure"] {
        let configs = common::env_configs();
        let mut req = cluster_up(request(claim(cloud)), &configs);
        let pools: Vec<String> = req
            .observed
            .resources
            .keys()
            .filter(|k| k.starts_with("nodepool-"))
            .cloned()
            .collect();
        assert!(!pools.is_empty(), "{cloud}");
        let up = run_with(req.clone(), &configs);
        for pool in &pools {
            let body = req.observed.resources[pool].body.clone();
            observe(&mut req, pool, &body, json!({}), false);
        }
        let no_nodes = run_with(req, &configs);
        assert!(
            !no_nodes.desired.resources.contains_key("helm-cert-manager"),
            "{cloud}: released before any node pool is ready"
        );
        assert!(
            no_nodes
                .results
                .iter()
                .any(|r| r.reason.as_deref() == Some("WaitingForCluster")),
            "{cloud}"
        );
        for chart in ["helm-cert-manager", "helm-envoy-gateway", "helm-monitoring"] {
            let spec = &resource(&up, chart)["spec"];
            assert_eq!(spec["rollbackLimit"], 5, "{cloud} {chart}");
            assert_eq!(spec["forProvider"]["wait"], true, "{cloud} {chart}");
            assert!(
                spec["forProvider"]["waitTimeout"].is_string(),
                "{cloud} {chart}"
            );
        }
    }
}

/// AKS creates internal load balancers in the platform's subnet with the
/// cluster's own identity: it is granted Network Contributor there as soon
/// as Azure reports its principal and the subnet's ID, and the ingress
/// controller, whose Service is such a load balancer, waits for the grant.
#[test]
fn azure_cluster_identity_may_manage_load_balancers_in_its_subnet() {
    let configs = common::env_configs();
    let first = render_first(claim("azure"));
    assert!(
        !first
            .desired
            .resources
            .contains_key("cluster-network-contributor")
    );
    let mut req = request(claim("azure"));
    let principal = "44444444-4444-4444-4444-444444444444";
    let subnet_id = "/subscriptions/s/resourceGroups/prod-platform-rg/providers/Microsoft.Network/virtualNetworks/v/subnets/n";
    observe(
        &mut req,
        "cluster",
        resource(&first, "cluster"),
        json!({"identity": {"type": "SystemAssigned", "principalId": principal}}),
        true,
    );
    observe(
        &mut req,
        "subnet",
        resource(&first, "subnet"),
        json!({"id": subnet_id}),
        true,
    );
    for name in ["nodepool-default", "identity-cert-manager"] {
        observe(&mut req, name, resource(&first, name), json!({}), true);
    }
    monitoring_up(&mut req);
    let rsp = run_with(req.clone(), &configs);
    let role = resource(&rsp, "cluster-network-contributor");
    assert_eq!(
        role["spec"]["forProvider"],
        json!({
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "scope": subnet_id,
            "roleDefinitionName": "Network Contributor",
            "skipServicePrincipalAadCheck": true,
        })
    );
    assert!(!rsp.desired.resources.contains_key("helm-envoy-gateway"));
    assert!(rsp.desired.resources.contains_key("helm-cert-manager"));
    assert!(
        rsp.desired
            .resources
            .contains_key("usage-subnet-by-cluster-network-contributor")
    );

    observe(
        &mut req,
        "cluster-network-contributor",
        role,
        json!({}),
        true,
    );
    let rsp = run_with(req, &configs);
    assert!(rsp.desired.resources.contains_key("helm-envoy-gateway"));
}

#[test]
fn azure_cert_manager_waits_for_its_identity_so_its_first_install_has_the_client_id() {
    let configs = common::env_configs();
    let first = render_first(claim("azure"));
    let mut req = request(claim("azure"));
    observe(
        &mut req,
        "cluster",
        resource(&first, "cluster"),
        json!({"oidcIssuerUrl": "https://issuer.example/"}),
        true,
    );
    observe(
        &mut req,
        "nodepool-default",
        resource(&first, "nodepool-default"),
        json!({}),
        true,
    );
    let role = json!({"apiVersion": "authorization.azure.upbound.io/v1beta1", "kind": "RoleAssignment", "metadata": {}});
    observe(
        &mut req,
        "cluster-network-contributor",
        &role,
        json!({}),
        true,
    );
    monitoring_up(&mut req);
    let identity = resource(&first, "identity-cert-manager").clone();

    // The cluster is up, the identity not yet: the other charts go out,
    // and the ingress controller's Usage of cert-manager waits for it.
    let up = run_with(req.clone(), &configs);
    assert!(
        !up.results.iter().any(|r| r.severity == Severity::Warning),
        "{:?}",
        up.results
    );
    assert!(!up.desired.resources.contains_key("helm-cert-manager"));
    assert!(up.desired.resources.contains_key("helm-envoy-gateway"));
    let waiting = up
        .results
        .iter()
        .find(|r| r.reason.as_deref() == Some("WaitingForCluster"))
        .expect("a note on the waiting chart");
    assert!(
        waiting.message.contains("cert-manager") && !waiting.message.contains("envoy-gateway"),
        "{}",
        waiting.message
    );

    // Once the identity is observed, cert-manager's first install names it.
    observe(
        &mut req,
        "identity-cert-manager",
        &identity,
        json!({"clientId": "0000-client"}),
        true,
    );
    let ready = run_with(req, &configs);
    let release = resource(&ready, "helm-cert-manager");
    assert_eq!(
        release["spec"]["forProvider"]["values"]["serviceAccount"]["annotations"]["azure.workload.identity/client-id"],
        json!("0000-client"),
        "{release:#}"
    );
}

/// cert-manager's and the ingress controller's ServiceMonitors need the
/// CRD kube-prometheus-stack installs: with monitoring on, they are
/// released after it; with it off, at once and without ServiceMonitors.
#[test]
fn scraped_charts_wait_for_the_monitoring_release() {
    let configs =
        common::env_configs_for_production(json!({"ingress": {"controller": "ingress-nginx"}}));
    let mut req = cluster_up(request(claim("gcp")), &configs);
    req.observed.resources.remove("helm-monitoring");
    let rsp = run_with(req, &configs);
    assert!(rsp.desired.resources.contains_key("helm-monitoring"));
    assert!(!rsp.desired.resources.contains_key("helm-cert-manager"));
    assert!(!rsp.desired.resources.contains_key("helm-ingress-nginx"));

    let up = run_with(cluster_up(request(claim("gcp")), &configs), &configs);
    let cert = &resource(&up, "helm-cert-manager")["spec"]["forProvider"]["values"];
    assert_eq!(cert["prometheus"]["servicemonitor"]["enabled"], true);
    let ingress = &resource(&up, "helm-ingress-nginx")["spec"]["forProvider"]["values"];
    assert_eq!(
        ingress["controller"]["metrics"]["serviceMonitor"]["enabled"],
        true
    );
    assert!(
        up.desired
            .resources
            .contains_key("usage-helm-monitoring-by-helm-cert-manager")
    );

    let mut dev = claim("gcp");
    set(&mut dev, "/metadata/labels/planeType", json!("development"));
    let mut req = cluster_up(request(dev), &configs);
    req.observed.resources.remove("helm-monitoring");
    let rsp = run_with(req, &configs);
    assert!(!rsp.desired.resources.contains_key("helm-monitoring"));
    let cert = &resource(&rsp, "helm-cert-manager")["spec"]["forProvider"]["values"];
    assert_eq!(cert["prometheus"]["servicemonitor"]["enabled"], false);
}

/// A composite created by an older release keeps what it has: external
/// names (and what is derived from them), and the fields that would
/// replace or rotate a resource when they change.
#[test]
fn existing_resources_keep_their_names_and_creation_fields() {
    let configs = common::env_configs();
    let first = render_first(claim("gcp"));
    let mut req = request(claim("gcp"));
    let named = |body: &serde_json::Value, external: &str| {
        let mut body = body.clone();
        body["metadata"]["annotations"]["crossplane.io/external-name"] = json!(external);
        body
    };
    let cluster = named(resource(&first, "cluster"), "prod-cluster");
    observe(&mut req, "cluster", &cluster, json!({}), true);
    let mut pool = named(resource(&first, "nodepool-default"), "prod-cluster-default");
    pool["spec"]["forProvider"]["nodeConfig"]
        .as_object_mut()
        .unwrap()
        .remove("serviceAccount");
    observe(&mut req, "nodepool-default", &pool, json!({}), true);
    let account = named(resource(&first, "gsa-cert-manager"), "prod-cluster-certmgr");
    observe(&mut req, "gsa-cert-manager", &account, json!({}), true);
    let rsp = run_with(req, &configs);
    let external = |name: &str| {
        resource(&rsp, name)["metadata"]["annotations"]["crossplane.io/external-name"].clone()
    };
    assert_eq!(external("cluster"), "prod-cluster");
    assert_eq!(external("nodepool-default"), "prod-cluster-default");
    assert!(
        resource(&rsp, "nodepool-default")["spec"]["forProvider"]["nodeConfig"]
            .get("serviceAccount")
            .is_none(),
        "a pool created without the node account is not replaced for it"
    );
    assert_eq!(
        resource(&rsp, "gsa-cert-manager-workload-identity")["spec"]["forProvider"]["serviceAccountId"],
        "projects/my-project-123/serviceAccounts/prod-cluster-certmgr@my-project-123.iam.gserviceaccount.com"
    );
    // New resources take the new, unique names.
    assert_eq!(external("gsa-nodes"), "prod-cluster-1ef5e5-nodes");

    let first = render_first(claim("azure"));
    let mut req = request(claim("azure"));
    let mut cluster = resource(&first, "cluster").clone();
    cluster["spec"]["forProvider"]["dnsPrefix"] = json!("prod-cluster");
    cluster["spec"]["forProvider"]["defaultNodePool"]
        .as_object_mut()
        .unwrap()
        .remove("zones");
    observe(&mut req, "cluster", &cluster, json!({}), true);
    let mut identity = resource(&first, "identity-cert-manager").clone();
    identity["spec"]["forProvider"]["name"] = json!("prod-cluster-cert-manager");
    observe(
        &mut req,
        "identity-cert-manager",
        &identity,
        json!({}),
        true,
    );
    let rsp = run_with(req, &configs);
    let fp = &resource(&rsp, "cluster")["spec"]["forProvider"];
    assert_eq!(fp["dnsPrefix"], "prod-cluster");
    assert!(fp["defaultNodePool"].get("zones").is_none());
    assert_eq!(
        resource(&rsp, "identity-cert-manager")["spec"]["forProvider"]["name"],
        "prod-cluster-cert-manager"
    );
}
