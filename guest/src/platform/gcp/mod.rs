//! Google Cloud: GKE with VPC-native networking and Workload Identity.

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

pub struct Gcp;

impl Cloud for Gcp {
    fn name(&self) -> &'static str {
        "gcp"
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

    fn identity(&self, p: &Platform, _observed: Observed<'_>, plan: &mut Plan) {
        identity::add(p, plan);
    }

    fn kube_access(&self, p: &Platform) -> KubeAccess {
        identity::kube_access(p)
    }

    fn chart_values(&self, p: &Platform, _observed: Observed<'_>, chart: &str) -> Option<Value> {
        identity::chart_values(p, chart)
    }

    fn status(&self, p: &Platform, observed: Observed<'_>) -> Map<String, Value> {
        cluster::status(p, observed)
    }
}

/// The region of a location that may be a zone (`us-central1-a`).
fn region(location: &str) -> &str {
    match location.rsplit_once('-') {
        Some((region, zone)) if zone.len() == 1 && region.contains('-') => region,
        _ => location,
    }
}
