//! `wasi:clocks/monotonic-clock` with waits bounded by the call's deadline.
//!
//! The epoch deadline stops guest code, but a guest that sleeps waits in a
//! host call, where epochs cannot reach it: one long sleep would hold a call
//! slot and a thread for as long as it asks. Here a wait that would end
//! after the call's deadline is refused at once, as a timeout; shorter waits
//! (and zero-length ones, used for non-blocking polls) behave as usual.

use std::time::{Duration, Instant};

use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::clocks::{WasiClocksCtxView, WasiClocksView};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;

use crate::wasm::runtime::CallState;

/// Why a wait was refused; [`crate::wasm::runtime`] reports it as a timeout.
#[derive(Debug)]
pub(crate) struct WaitPastDeadline(pub Duration);

impl std::fmt::Display for WaitPastDeadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "asked to wait {:?}, past the call's deadline", self.0)
    }
}

impl std::error::Error for WaitPastDeadline {}

pub(crate) struct GuardedClock<'a> {
    clocks: WasiClocksCtxView<'a>,
    deadline: Instant,
}

impl GuardedClock<'_> {
    fn wait(&mut self, wait: Duration) -> wasmtime::Result<Resource<DynPollable>> {
        let ends = Instant::now().checked_add(wait);
        if ends.is_none_or(|ends| ends > self.deadline) {
            return Err(WaitPastDeadline(wait).into());
        }
        monotonic_clock::Host::subscribe_duration(&mut self.clocks, wait.as_nanos() as u64)
    }
}

impl monotonic_clock::Host for GuardedClock<'_> {
    fn now(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        monotonic_clock::Host::now(&mut self.clocks)
    }

    fn resolution(&mut self) -> wasmtime::Result<monotonic_clock::Duration> {
        monotonic_clock::Host::resolution(&mut self.clocks)
    }

    fn subscribe_instant(
        &mut self,
        when: monotonic_clock::Instant,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        let now = monotonic_clock::Host::now(&mut self.clocks)?;
        self.wait(Duration::from_nanos(when.saturating_sub(now)))
    }

    fn subscribe_duration(
        &mut self,
        duration: monotonic_clock::Duration,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.wait(Duration::from_nanos(duration))
    }
}

struct Guarded;

impl HasData for Guarded {
    type Data<'a> = GuardedClock<'a>;
}

/// Replaces the monotonic clock WASI linked with the guarded one.
pub(crate) fn add_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    monotonic_clock::add_to_linker::<CallState, Guarded>(linker, |state| {
        let deadline = state.deadline;
        GuardedClock {
            clocks: state.clocks(),
            deadline,
        }
    })?;
    linker.allow_shadowing(false);
    Ok(())
}
