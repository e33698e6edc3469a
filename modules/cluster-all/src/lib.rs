//! The cluster platform with every cloud, routed by `module: cluster`
//! alone; a per-cloud module, naming its `cloud` label, wins over it.

cluster_platform::module_sdk::export_module!(cluster_platform::ClusterPlatform);
