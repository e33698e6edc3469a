//! A Crossplane composition function host that runs its logic as WASI
//! components. It knows the function protocol and the sandbox, nothing of
//! what the modules compose.

pub mod cli;
mod files;
pub mod grpc;
pub mod metrics;
pub mod modules;
pub(crate) mod probes;
pub mod render;
mod scrape;
pub mod server;
pub mod wasm;
