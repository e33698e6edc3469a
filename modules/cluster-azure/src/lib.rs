//! The cluster platform for composites labelled `cloud: azure`.

cluster_platform::export_cloud_module!("azure");
