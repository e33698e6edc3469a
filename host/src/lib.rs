//! A Crossplane composition function host that runs its logic as WASI
//! components. It knows the function protocol and the sandbox, nothing of
//! what the modules compose.

pub mod admission;
pub mod bindings;
pub mod cache;
pub mod cli;
pub mod clock_guard;
pub mod contract;
pub mod convert;
pub mod cosign;
pub mod dockerconfig;
pub mod follow;
pub mod guest_log;
pub mod limits;
pub mod metrics;
pub mod oci;
pub mod probes;
pub mod registry;
pub mod reload;
pub mod render;
pub mod runtime;
pub mod server;
pub mod service;
pub mod source;
pub mod upload;
pub mod watch;
