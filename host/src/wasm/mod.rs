//! The wasm runtime: the WIT contract, the engine and its limits, one
//! fresh instance per call, the compiled-module cache, guest logs.

pub mod bindings;
pub(crate) mod cache;
pub(crate) mod clock_guard;
pub(crate) mod contract;
pub(crate) mod guest_log;
pub mod limits;
mod off_executor;
pub mod runtime;
