//! The cluster platform for composites labelled `cloud: gcp`.

cluster_platform::export_cloud_module!("gcp");
