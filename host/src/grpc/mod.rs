//! The gRPC face: Crossplane's `RunFunction` read off the wire, routed to
//! a module, and answered, converting between the wire's messages and WIT
//! types.

pub mod convert;
mod counting;
pub(crate) mod server;
pub mod service;
pub mod wire;
