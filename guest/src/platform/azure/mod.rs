//! Microsoft Azure: AKS with OIDC issuer and workload identity, a VNet
//! subnet for nodes, NAT gateway egress and Azure DNS.

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

pub struct Azure;

/// The availability zones the pools spread over: the environment's
/// `azure.zones` (an empty list for a region without zones), or 1, 2, 3.
fn zones(p: &Platform) -> Value {
    match p.env_value("azure.zones") {
        Some(Value::Array(zones)) => Value::Array(
            zones
                .iter()
                .map(|z| match z {
                    Value::String(s) => json!(s),
                    other => json!(other.to_string()),
                })
                .collect(),
        ),
        _ => json!(["1", "2", "3"]),
    }
}

impl Cloud for Azure {
    fn name(&self) -> &'static str {
        "azure"
    }

    fn plane(&self) -> &'static str {
        "Azure resource group"
    }

    fn network(&self, p: &Platform, plan: &mut Plan) -> Result<(), String> {
        network::add(p, plan);
        Ok(())
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

    fn identity(&self, p: &Platform, observed: Observed<'_>, plan: &mut Plan) {
        identity::add(p, observed, plan);
    }

    fn kube_access(&self, p: &Platform) -> KubeAccess {
        KubeAccess {
            secret: p.named("kubeconfig"),
            key: "kubeconfig",
            identity: None,
            uses: vec!["cluster".into()],
            source: "cluster".into(),
        }
    }

    fn chart_values(&self, p: &Platform, observed: Observed<'_>, chart: &str) -> Option<Value> {
        identity::chart_values(p, observed, chart)
    }

    fn chart_inputs(&self, _p: &Platform, chart: &str) -> Vec<&'static str> {
        identity::chart_inputs(chart).to_vec()
    }

    fn dns01_solver(&self, p: &Platform, observed: Observed<'_>) -> Option<Value> {
        identity::dns01_solver(p, observed)
    }

    fn internal_load_balancer(&self) -> Value {
        json!({"service.beta.kubernetes.io/azure-load-balancer-internal": "true"})
    }

    fn status(&self, p: &Platform, observed: Observed<'_>) -> Map<String, Value> {
        cluster::status(p, observed)
    }
}

/// The resource group every Azure resource of the plane lives in.
fn group(p: &Platform) -> &str {
    &p.id.plane
}
