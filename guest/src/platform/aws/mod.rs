//! Amazon Web Services: EKS in a VPC with public and private subnets per
//! zone, NAT egress, ClusterAuth kubeconfigs, EKS Pod Identity and the
//! Cluster Autoscaler that scales the node groups.

mod autoscaler;
mod cluster;
mod dns;
mod identity;
mod network;
mod nodepool;
mod storage;

use serde_json::{Map, Value, json};

use super::claim::Platform;
use super::cloud::{Cloud, KubeAccess};
use super::compose::Plan;
use super::helm::Chart;
use super::observed::Observed;

pub struct Aws;

impl Cloud for Aws {
    fn name(&self) -> &'static str {
        "aws"
    }

    fn plane(&self) -> &'static str {
        "AWS account ID"
    }

    fn network(&self, p: &Platform, plan: &mut Plan) -> Result<(), String> {
        network::add(p, plan)
    }

    fn cluster(&self, p: &Platform, plan: &mut Plan) {
        cluster::add(p, plan);
    }

    fn node_pools(&self, p: &Platform, plan: &mut Plan) {
        nodepool::add(p, plan);
    }

    fn check_pool_name(&self, name: &str) -> Result<(), &'static str> {
        nodepool::check_name(name)
    }

    fn dns(&self, p: &Platform, plan: &mut Plan) {
        dns::add(p, plan);
    }

    fn identity(&self, p: &Platform, _observed: Observed<'_>, plan: &mut Plan) {
        identity::add(p, plan);
        autoscaler::add(p, plan);
        storage::add(p, plan);
    }

    fn charts(&self) -> &'static [Chart] {
        autoscaler::CHARTS
    }

    /// A pod gets its Pod Identity credentials when it starts: the
    /// association must exist before the chart's pods do; a volume needs
    /// the storage driver.
    fn chart_inputs(&self, _p: &Platform, chart: &str) -> Vec<&'static str> {
        match chart {
            "cert-manager" => vec![identity::POD_IDENTITY],
            "cluster-autoscaler" => vec![autoscaler::POD_IDENTITY],
            // Prometheus's volume needs the EBS driver and a default class.
            "monitoring" => vec![storage::ADDON],
            _ => Vec::new(),
        }
    }

    fn kube_access(&self, p: &Platform) -> KubeAccess {
        KubeAccess {
            secret: p.named("kubeconfig"),
            key: "kubeconfig",
            identity: None,
            uses: vec!["cluster-auth".into(), "cluster".into()],
            source: "cluster-auth".into(),
        }
    }

    fn chart_values(&self, p: &Platform, _observed: Observed<'_>, chart: &str) -> Option<Value> {
        // Pod Identity binds by namespace and service account: no
        // annotations; the autoscaler needs its cluster and region.
        (chart == "cluster-autoscaler").then(|| autoscaler::chart_values(p))
    }

    /// Pinned to the public zone once its ID is known: the private zone
    /// may share the name's suffix.
    fn dns01_solver(&self, p: &Platform, observed: Observed<'_>) -> Option<Value> {
        let mut route53 = json!({"region": p.id.location});
        if let Some(zone) = observed.text("public-dns-zone", "/zoneId") {
            route53["hostedZoneID"] = json!(zone);
        }
        Some(json!({"route53": route53}))
    }

    fn internal_load_balancer(&self) -> Value {
        // The in-tree controller's keys, which work without the AWS Load
        // Balancer Controller: an internal NLB (the Classic ELB default is
        // retired), next to the controller's `-scheme` for when it runs.
        json!({
            "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
            "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
        })
    }

    fn status(&self, p: &Platform, observed: Observed<'_>) -> Map<String, Value> {
        cluster::status(p, observed)
    }
}

/// An IAM trust policy letting `service` assume the role.
fn trust(service: &str, actions: &[&str]) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": actions,
        }],
    })
    .to_string()
}

/// Tags naming a resource after the cluster, as the console shows them.
fn tags(p: &Platform, name: &str) -> Value {
    json!({"Name": name, "myplatform.io/cluster": p.id.cluster})
}
