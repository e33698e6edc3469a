//! Google Cloud: GKE with VPC-native networking and Workload Identity.

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

pub struct Gcp;

impl Cloud for Gcp {
    fn name(&self) -> &'static str {
        "gcp"
    }

    fn plane(&self) -> &'static str {
        "GCP project"
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

    fn identity(&self, p: &Platform, _observed: Observed<'_>, plan: &mut Plan) {
        identity::add(p, plan);
    }

    fn kube_access(&self, p: &Platform) -> KubeAccess {
        identity::kube_access(p)
    }

    fn chart_values(&self, p: &Platform, _observed: Observed<'_>, chart: &str) -> Option<Value> {
        identity::chart_values(p, chart)
    }

    fn chart_inputs(&self, p: &Platform, _chart: &str) -> Vec<&'static str> {
        // Every chart the platform installs runs an admission webhook.
        if p.private {
            vec![network::FIREWALL]
        } else {
            Vec::new()
        }
    }

    fn dns01_solver(&self, p: &Platform, _observed: Observed<'_>) -> Option<Value> {
        Some(json!({"cloudDNS": {"project": p.id.plane}}))
    }

    fn internal_load_balancer(&self) -> Value {
        // `networking.gke.io` is current; `cloud.google.com` is legacy.
        json!({"networking.gke.io/load-balancer-type": "Internal"})
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
