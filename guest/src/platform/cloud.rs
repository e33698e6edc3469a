//! The per-cloud layer behind one trait. Adding a cloud is one folder
//! implementing [`Cloud`] and one line in [`CLOUDS`].

use serde_json::{Map, Value};

use super::claim::Platform;
use super::compose::Plan;
use super::helm::Chart;
use super::observed::Observed;

/// How the Helm and Kubernetes providers reach the new cluster.
pub struct KubeAccess {
    /// Secret holding the kubeconfig, and its key.
    pub secret: String,
    pub key: &'static str,
    /// `spec.identity` of the ProviderConfigs, when the kubeconfig alone
    /// carries no usable credentials (GKE).
    pub identity: Option<Value>,
    /// Resources the ProviderConfigs need while they exist.
    pub uses: Vec<String>,
    /// The resource that writes the kubeconfig secret.
    pub source: String,
}

pub trait Cloud: Sync {
    fn name(&self) -> &'static str;
    /// What the `planeId` label names on this cloud.
    fn plane(&self) -> &'static str;
    fn network(&self, p: &Platform, plan: &mut Plan) -> Result<(), String>;
    fn cluster(&self, p: &Platform, plan: &mut Plan);
    fn node_pools(&self, p: &Platform, plan: &mut Plan);
    /// Refuses a pool name the cloud cannot use as it is, with its rule.
    fn check_pool_name(&self, name: &str) -> Result<(), &'static str>;
    fn dns(&self, p: &Platform, plan: &mut Plan);
    fn identity(&self, p: &Platform, observed: Observed<'_>, plan: &mut Plan);
    fn kube_access(&self, p: &Platform) -> KubeAccess;
    /// Values a chart needs from this cloud (workload identity bindings),
    /// merged under the rendered values template.
    fn chart_values(&self, p: &Platform, observed: Observed<'_>, chart: &str) -> Option<Value>;
    /// Charts only this cloud installs (EKS's autoscaler), released like
    /// the platform's own.
    fn charts(&self) -> &'static [Chart] {
        &[]
    }
    /// Composed resources a chart's first install needs ready: those its
    /// values read (so the install already carries them) and those its
    /// workloads need to work (a firewall for its webhooks, a permission
    /// for its load balancer). The chart is released once they are.
    fn chart_inputs(&self, _p: &Platform, _chart: &str) -> Vec<&'static str> {
        Vec::new()
    }
    /// cert-manager's DNS-01 solver for the public zone, through the
    /// workload identity this cloud gives it; None while what it names is
    /// not yet observed.
    fn dns01_solver(&self, p: &Platform, observed: Observed<'_>) -> Option<Value>;
    /// Annotations that make a load-balanced Service internal (and of the
    /// right load balancer type) on this cloud.
    fn internal_load_balancer(&self) -> Value;
    /// XR status fields read from observed resources, only when known.
    fn status(&self, p: &Platform, observed: Observed<'_>) -> Map<String, Value>;
}

/// Every cloud this build renders, by its `cloud` label.
pub const CLOUDS: &[&dyn Cloud] = &[
    #[cfg(feature = "gcp")]
    &super::gcp::Gcp,
    #[cfg(feature = "aws")]
    &super::aws::Aws,
    #[cfg(feature = "azure")]
    &super::azure::Azure,
];

pub fn find(name: &str) -> Option<&'static dyn Cloud> {
    CLOUDS.iter().copied().find(|c| c.name() == name)
}
