//! Where a guest call may run.
//!
//! WASI's synchronous bindings finish a module's blocking host calls (a
//! log line's `blocking-write-and-flush`, a poll) with tokio's `block_on`
//! (`wasmtime_wasi::runtime::in_tokio`), which panics on a thread that is
//! driving async tasks. A call is also milliseconds of CPU work that must
//! not hold an async worker. So a call made from async code steps off the
//! executor first; one made from a blocking thread runs where it is.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `f` where blocking is allowed, on any thread it is called from.
pub(crate) fn run_off_executor<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        // A plain thread: WASI's own ambient runtime serves the waits.
        Err(_) => f(),
        // Moves this worker's other tasks to another thread; on a thread of
        // `spawn_blocking` it runs `f` at once.
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        // A current-thread runtime cannot hand its tasks away: the call
        // gets a thread of its own and this one waits for it.
        Ok(_) => std::thread::scope(|scope| {
            scope
                .spawn(f)
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::run_off_executor;
    use tokio::runtime::Handle;

    /// What WASI does to finish a blocking write.
    fn block_on_current() -> u8 {
        match Handle::try_current() {
            Ok(handle) => handle.block_on(async { 7 }),
            Err(_) => 7,
        }
    }

    #[test]
    fn a_plain_thread_runs_in_place() {
        let here = std::thread::current().id();
        assert_eq!(run_off_executor(|| std::thread::current().id()), here);
        assert_eq!(run_off_executor(block_on_current), 7);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_async_task_on_a_current_thread_runtime_may_block_on() {
        assert_eq!(run_off_executor(block_on_current), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_async_task_on_a_multi_thread_runtime_may_block_on() {
        assert_eq!(run_off_executor(block_on_current), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_blocking_task_runs_in_place() {
        let (inside, outside) = tokio::task::spawn_blocking(|| {
            let here = std::thread::current().id();
            (run_off_executor(|| std::thread::current().id()), here)
        })
        .await
        .unwrap();
        assert_eq!(inside, outside);
    }
}
