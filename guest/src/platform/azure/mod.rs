//! Microsoft Azure: AKS with OIDC issuer and workload identity, a VNet
//! subnet for nodes, NAT gateway egress and Azure DNS.

mod cluster;
mod dns;
mod identity;
mod network;
mod nodepool;

use serde_json::{Map, Value};

use super::claim::Platform;
use super::cloud::{Cloud, KubeAccess};
use super::compose::Plan;
use super::observed::Observed;

pub struct Azure;

impl Cloud for Azure {
    fn name(&self) -> &'static str {
        "azure"
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

    fn chart_inputs(&self, chart: &str) -> &'static [&'static str] {
        identity::chart_inputs(chart)
    }

    fn status(&self, p: &Platform, observed: Observed<'_>) -> Map<String, Value> {
        cluster::status(p, observed)
    }
}

/// The resource group every Azure resource of the plane lives in.
fn group(p: &Platform) -> &str {
    &p.id.plane
}
