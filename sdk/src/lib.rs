//! The SDK for composition modules: what a module needs to serve one step
//! of a Crossplane function pipeline from the function host.
//!
//! A module is a type implementing [`Module`], exported with
//! [`export_module!`]:
//!
//! ```ignore
//! use module_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl Module for Hello {
//!     fn describe() -> ModuleInfo {
//!         ModuleInfo::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), "hello")
//!     }
//!
//!     fn run(request: &Request, log: &mut Log) -> Response {
//!         log.info("hello", &[]);
//!         Response::to(request, 60)
//!     }
//! }
//!
//! export_module!(Hello);
//! ```
//!
//! The logic is plain Rust over [`protocol`] types, so it builds and tests
//! on the host target; only the export glue is wasm-specific.

pub mod arena;
pub mod json;
pub mod log;
pub mod protocol;
pub mod structpb;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod export;

/// What a module usually imports.
pub mod prelude {
    pub use crate::Module;
    pub use crate::export_module;
    pub use crate::log::Log;
    pub use crate::protocol::{ModuleInfo, Ready, Request, Resource, Response, Route, State};
}

/// A composition module.
pub trait Module {
    /// Its name, version, and the routes it serves.
    fn describe() -> protocol::ModuleInfo;

    /// Answers one request. Log lines go to stderr as they are written,
    /// where the host's logger takes them in; a fatal result in the
    /// response is the answer to bad input.
    fn run(request: &protocol::Request, log: &mut log::Log) -> protocol::Response;
}

/// Exports a [`Module`] as the component's `composition` interface
/// (`describe` and `run-function`, which the host calls) and as
/// `wasi:cli/run` (JSON on stdin and stdout, for `wasmtime run`), with a
/// per-call arena as the allocator and a panic hook that reports a panic's
/// message before the module traps. Only the wasm build exports; natively
/// the module is a plain library.
#[macro_export]
macro_rules! export_module {
    ($module:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            // Every call runs in a fresh instance whose memory is dropped
            // afterwards.
            #[global_allocator]
            static ALLOCATOR: $crate::arena::Arena<$crate::arena::LinearMemory, std::alloc::System> =
                $crate::arena::Arena::new($crate::arena::LinearMemory, std::alloc::System);

            struct Export;

            impl $crate::export::wit::Guest for Export {
                fn describe() -> $crate::export::wit::ModuleInfo {
                    $crate::export::describe::<$module>()
                }

                fn run_function(
                    request: $crate::export::wit::Request,
                ) -> Result<$crate::export::wit::Response, $crate::export::wit::ModuleError> {
                    $crate::export::run_function::<$module>(request)
                }
            }

            impl $crate::export::bindings::exports::wasi::cli::run::Guest for Export {
                fn run() -> Result<(), ()> {
                    ALLOCATOR.close();
                    $crate::export::run_command::<$module>()
                }
            }

            $crate::export::bindings::export_bindings!(Export with_types_in $crate::export::bindings);
        };
    };
}
