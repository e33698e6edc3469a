//! The local registry of `test-support`, pushing with this build's host.

use std::path::Path;

pub use test_support::registry::{LocalRegistry, Secured};

fn pusher() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_function-cluster-platform"))
}

/// Plain HTTP, anonymous.
pub fn start() -> LocalRegistry {
    LocalRegistry::start(pusher())
}

/// HTTPS with the given certificate, and only the given user.
pub fn start_with(secured: &Secured) -> LocalRegistry {
    LocalRegistry::start_with(Some(secured), pusher())
}
