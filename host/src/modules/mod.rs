//! Where modules come from and how they become servable: the modules
//! directory, its watcher and the upload API, OCI registries and cosign,
//! admission, and the routing table.

pub mod admission;
pub mod cosign;
pub(crate) mod dockerconfig;
pub(crate) mod follow;
pub mod oci;
pub mod registry;
pub mod reload;
pub mod source;
pub(crate) mod upload;
pub(crate) mod watch;
