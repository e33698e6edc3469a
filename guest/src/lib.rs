//! The cluster platform: one `Cluster` claim in, every managed resource a
//! production cluster needs out.
//!
//! The logic is plain Rust over [`protocol`] types so it builds and tests on
//! the host target; [`wasm`] is the thin layer that exports it as a WASI
//! component through the `platform:function` WIT world.

pub mod arena;
pub mod log;
pub mod platform;
pub mod protocol;

#[cfg(target_arch = "wasm32")]
mod wasm;

// Every call runs in a fresh instance whose memory is dropped afterwards.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: arena::Arena<arena::LinearMemory, std::alloc::System> =
    arena::Arena::new(arena::LinearMemory, std::alloc::System);

/// The module's identity, as the host's registry sees it.
pub fn describe() -> protocol::ModuleInfo {
    protocol::ModuleInfo {
        name: env!("CARGO_PKG_NAME").to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        modules: vec!["cluster".to_string()],
        // Every cloud: a module that names one cloud replaces this one for
        // that cloud alone, and a cloud this module does not know gets a
        // fatal result listing the ones it does.
        clouds: Vec::new(),
    }
}
