//! The gRPC face: Crossplane's `RunFunction` answered by routing the
//! request to a module and converting between protobuf and WIT types.

pub mod convert;
pub mod service;
