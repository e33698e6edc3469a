//! The wasm runtime: the WIT contract, the engine and its limits, one
//! fresh instance per call, the compiled-module cache, guest logs.

pub mod bindings;
pub mod cache;
pub mod clock_guard;
pub mod contract;
pub mod guest_log;
pub mod limits;
mod off_executor;
pub mod runtime;
