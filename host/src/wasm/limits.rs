//! Per-call sandbox limits and the resource limiter that enforces memory.

use std::time::Duration;

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// What one guest call may use.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock time for one call (instantiate + run).
    pub timeout: Duration,
    /// Linear memory of one instance, in bytes.
    pub memory_bytes: usize,
    /// Log lines one call may emit; the rest are counted and reported.
    pub max_log_lines: usize,
    /// Bytes of one log line kept; a longer line is cut and logged as text.
    pub max_log_bytes: usize,
    /// Guest calls that run at once; the pooling allocator is sized to it.
    pub max_concurrent_calls: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(2),
            memory_bytes: 256 << 20,
            max_log_lines: 200,
            max_log_bytes: 4096,
            max_concurrent_calls: 16,
        }
    }
}

/// [`StoreLimits`] that also remembers whether it refused memory, so a
/// failed call can say it ran out of memory rather than show a bare trap.
pub(crate) struct MemoryGuard {
    inner: StoreLimits,
    pub(crate) exhausted: bool,
}

impl MemoryGuard {
    pub(crate) fn new(memory_bytes: usize) -> Self {
        Self {
            inner: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .trap_on_grow_failure(true)
                .build(),
            exhausted: false,
        }
    }
}

impl ResourceLimiter for MemoryGuard {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grown = self.inner.memory_growing(current, desired, maximum);
        if !matches!(grown, Ok(true)) {
            self.exhausted = true;
        }
        grown
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }
}
