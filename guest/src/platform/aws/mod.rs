//! Amazon Web Services: EKS in a VPC with public and private subnets per
//! zone, NAT egress, ClusterAuth kubeconfigs and EKS Pod Identity.

mod cluster;
mod dns;
mod identity;
mod network;
mod nodepool;

use serde_json::{Map, Value, json};

use super::claim::Platform;
use super::cloud::{Cloud, KubeAccess};
use super::compose::Plan;
use super::observed::Observed;

pub struct Aws;

impl Cloud for Aws {
    fn name(&self) -> &'static str {
        "aws"
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

    fn chart_values(&self, _p: &Platform, _observed: Observed<'_>, _chart: &str) -> Option<Value> {
        // Pod Identity binds by namespace and service account: no values.
        None
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
