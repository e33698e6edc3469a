//! What the simulated providers report for each kind once it is ready
//! (`providers.yaml`): data, not code, so the simulator stays generic.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

const BUILT_IN: &str = include_str!("providers.yaml");

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KindReport {
    pub(crate) group: String,
    pub(crate) kind: String,
    /// Fields the cloud computes, merged over the mirrored forProvider.
    #[serde(default)]
    pub(crate) at_provider: Option<Value>,
    /// Connection details written once ready.
    #[serde(default)]
    pub(crate) connection: BTreeMap<String, String>,
    /// A node pool: what makes a cluster able to run Helm releases.
    #[serde(default)]
    pub(crate) schedulable: bool,
}

#[derive(Debug, Deserialize)]
struct Table {
    kinds: Vec<KindReport>,
}

pub(crate) struct Providers {
    kinds: Vec<KindReport>,
}

impl Providers {
    pub(crate) fn built_in() -> anyhow::Result<Self> {
        let table: Table = serde_yaml::from_str(BUILT_IN)
            .map_err(|e| anyhow::anyhow!("the built-in providers table: {e}"))?;
        Ok(Self { kinds: table.kinds })
    }

    /// The report of `apiVersion`'s group and `kind`; namespaced twins
    /// (`*.m.*` groups) report as their cluster-scoped kind.
    pub(crate) fn report(&self, api_version: &str, kind: &str) -> Option<&KindReport> {
        let group = api_version.split('/').next().unwrap_or_default();
        let group = group.replacen(".m.", ".", 1);
        self.kinds
            .iter()
            .find(|k| k.kind == kind && k.group == group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_reads_and_matches_namespaced_twins() {
        let providers = Providers::built_in().unwrap();
        let pool = providers
            .report("container.gcp.m.upbound.io/v1beta2", "NodePool")
            .unwrap();
        assert!(pool.schedulable);
        let cluster = providers
            .report("container.gcp.upbound.io/v1beta2", "Cluster")
            .unwrap();
        assert!(cluster.connection.contains_key("kubeconfig"));
        assert!(
            providers
                .report("compute.gcp.upbound.io/v1beta1", "Network")
                .is_none()
        );
    }
}
