//! The cluster platform for composites labelled `cloud: aws`.

cluster_platform::export_cloud_module!("aws");
