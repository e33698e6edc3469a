//! The cluster platform: one `Cluster` claim in, every managed resource a
//! production cluster needs out.
//!
//! The logic is plain Rust over the SDK's [`protocol`] types so it builds
//! and tests on the host target. The crates under `modules/` export it as
//! WASI components: `cluster-all` with every cloud, and one per cloud
//! built with only that cloud's feature.

pub mod platform;
#[cfg(feature = "testing")]
pub mod testing;

pub use module_sdk;
pub use module_sdk::{log, protocol};

/// The cluster platform with every cloud this build has, as a module.
pub struct ClusterPlatform;

impl module_sdk::Module for ClusterPlatform {
    fn describe() -> protocol::ModuleInfo {
        describe()
    }

    fn run(request: &protocol::Request, log: &mut log::Log) -> protocol::Response {
        platform::run(request, log)
    }
}

/// The module's identity, as the host's registry sees it.
pub fn describe() -> protocol::ModuleInfo {
    protocol::ModuleInfo {
        name: env!("CARGO_PKG_NAME").to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        // Every composite: a module that also names a `cloud` label serves
        // that cloud in this one's place, and a cloud this module does not
        // know gets a fatal result listing the ones it does.
        routes: vec![protocol::Route::new("cluster")],
    }
}

/// The identity of the platform built for `cloud` alone: it serves the
/// step Input `module: cluster` for composites labelled `cloud: <cloud>`.
pub fn describe_cloud(name: &str, version: &str, cloud: &str) -> protocol::ModuleInfo {
    protocol::ModuleInfo {
        name: name.to_string(),
        version: version.to_string(),
        routes: vec![protocol::Route::new("cluster").label("cloud", cloud)],
    }
}

/// Exports the platform, built with one cloud's feature, as that cloud's
/// module; a per-cloud crate is this one line.
#[macro_export]
macro_rules! export_cloud_module {
    ($cloud:literal) => {
        pub struct CloudModule;

        impl $crate::module_sdk::Module for CloudModule {
            fn describe() -> $crate::protocol::ModuleInfo {
                $crate::describe_cloud(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), $cloud)
            }

            fn run(
                request: &$crate::protocol::Request,
                log: &mut $crate::log::Log,
            ) -> $crate::protocol::Response {
                $crate::platform::run(request, log)
            }
        }

        $crate::module_sdk::export_module!(CloudModule);
    };
}
