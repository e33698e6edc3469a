//! A module that traps, loops, hoards memory, floods the log or answers
//! with an enormous response is stopped by the host's limits and becomes a
//! fatal result naming the module, while other calls keep being served.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use fnhost::grpc::service::Dispatcher;
use fnhost::metrics::Metrics;
use fnhost::wasm::limits::Limits;
use fnhost::wasm::runtime::Runtime;
use function_sdk_rust::proto::v1::{RunFunctionResponse, Severity};
use serde_json::json;

fn dispatcher() -> Arc<Dispatcher> {
    dispatcher_with_deadline(Duration::from_millis(300))
}

fn dispatcher_with_deadline(timeout: Duration) -> Arc<Dispatcher> {
    let limits = Limits {
        timeout,
        memory_bytes: 64 << 20,
        max_concurrent_calls: 4,
        ..Limits::default()
    };
    let runtime = Arc::new(Runtime::new(limits, Some(&cache_dir())).unwrap());
    let modules = modules_dir(&[CLUSTER_WASM, HOSTILE_WASM]);
    let admission = fnhost::modules::admission::Admission::new(runtime.clone(), None);
    let registry = admission.load_dir(modules.path()).unwrap();
    Arc::new(Dispatcher::new(runtime, registry, Metrics::unregistered()))
}

fn hostile(behaviour: &str) -> function_sdk_rust::proto::v1::RunFunctionRequest {
    let input = json!({"apiVersion": "myplatform.io/v1alpha1", "kind": "Input", "module": "hostile", "behaviour": behaviour});
    request(behaviour, &gcp_claim(), Some(&input))
}

fn fatal_message(rsp: &RunFunctionResponse) -> Option<&str> {
    rsp.results
        .iter()
        .find(|r| r.severity == Severity::Fatal as i32)
        .map(|r| r.message.as_str())
}

/// Runs the hostile call beside a normal cluster call; the normal call must
/// succeed, and the hostile one must fail with a message naming the module.
async fn contained(behaviour: &str, expected: &str) {
    let dispatcher = dispatcher();
    let bad = tokio::spawn({
        let d = dispatcher.clone();
        let req = hostile(behaviour);
        async move { d.run(req).await }
    });
    let good = dispatcher.run(cluster_request("good")).await;
    assert_eq!(
        fatal_message(&good),
        None,
        "the normal call failed beside {behaviour}"
    );
    assert!(good.desired.unwrap().resources.contains_key("cluster"));

    let bad = bad.await.unwrap();
    assert_eq!(bad.meta.as_ref().unwrap().tag, behaviour);
    let message =
        fatal_message(&bad).unwrap_or_else(|| panic!("{behaviour} produced no fatal result"));
    assert!(message.contains("module hostile-guest@0.1.0"), "{message}");
    assert!(message.contains(expected), "{behaviour}: {message}");

    // The host keeps serving after the failure.
    let after = dispatcher.run(hostile("ok")).await;
    assert_eq!(fatal_message(&after), None);
}

#[tokio::test]
async fn a_trapping_module_is_a_fatal_result() {
    contained("trap", "trapped").await;
}

/// A panic traps, but the SDK reports its message (and where) first, so
/// the fatal result says why rather than only that the module trapped.
#[tokio::test]
async fn a_panicking_module_is_a_fatal_result_with_the_panic_message() {
    contained(
        "panic",
        "panicked: run() panics on purpose (at test-guests/hostile/src/lib.rs:",
    )
    .await;
}

#[tokio::test]
async fn a_looping_module_is_stopped_at_its_deadline() {
    contained("loop", "ran past its 300ms deadline").await;
}

#[tokio::test]
async fn a_module_that_hoards_memory_is_stopped_at_its_limit() {
    contained("alloc", "exceeded its memory limit of 64 MiB").await;
}

#[tokio::test]
async fn a_response_over_the_message_limit_is_a_fatal_result() {
    contained("huge-response", "over the 4194304-byte gRPC message limit").await;
}

/// Counts the guest's "flood" log lines that reach the host's logger.
struct FloodCounter(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for FloodCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct IsFlood(bool);
        impl tracing::field::Visit for IsFlood {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" && format!("{value:?}") == "flood" {
                    self.0 = true;
                }
            }
        }
        let mut visitor = IsFlood(false);
        event.record(&mut visitor);
        if event.metadata().target() == "guest" && visitor.0 {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[tokio::test]
async fn a_module_flooding_the_log_is_cut_off_and_still_answers() {
    use tracing_subscriber::layer::SubscriberExt;
    let flood = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(FloodCounter(flood.clone()));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    // 100,000 log lines: the host passes on the first 200 and drops the rest.
    // Writing them takes longer than the other tests' short deadline in a
    // debug build of the host, so this call has the default one.
    let rsp = dispatcher_with_deadline(Limits::default().timeout)
        .run(hostile("log-flood"))
        .await;
    assert_eq!(fatal_message(&rsp), None);
    assert_eq!(
        flood.load(Ordering::Relaxed),
        Limits::default().max_log_lines
    );
}

#[tokio::test]
async fn a_normal_module_answers() {
    let rsp = dispatcher().run(hostile("ok")).await;
    assert_eq!(fatal_message(&rsp), None);
    assert!(rsp.desired.unwrap().resources.contains_key("hello"));
}

#[tokio::test]
async fn a_module_sees_no_environment_arguments_files_or_network() {
    let rsp = dispatcher().run(hostile("probe")).await;
    assert_eq!(fatal_message(&rsp), None);
    let probe = &rsp.desired.unwrap().resources["probe"];
    let seen = function_sdk_rust::resource::struct_to_json(probe.resource.as_ref().unwrap());
    assert_eq!(
        seen["data"],
        json!({"env": "0", "args": "0", "files": "false", "network": "false"})
    );
}

#[tokio::test]
async fn a_module_that_sleeps_past_its_deadline_is_stopped_at_once() {
    // The wait happens in a host call, where epochs cannot interrupt it.
    contained("sleep", "ran past its 300ms deadline").await;
}

/// A module's log lines are WASI writes, which wasmtime's synchronous
/// bindings finish with tokio's `block_on`: a call made straight from an
/// async task must still log, report its panic and answer, on either kind
/// of tokio runtime.
fn panics_and_logs_from_here() {
    let runtime = Runtime::new(Limits::default(), Some(&cache_dir())).unwrap();
    let module = runtime.load(&wasm(HOSTILE_WASM)).unwrap();
    let request = fnhost::grpc::convert::request_to_wit(&(&hostile("panic")).into());
    match runtime.call(&module, &request) {
        Err(fnhost::wasm::runtime::Failure::Panic(message)) => {
            assert!(message.starts_with("run() panics on purpose"), "{message}")
        }
        other => panic!("expected the module's panic, got {other:?}"),
    }
    let ok = fnhost::grpc::convert::request_to_wit(&(&hostile("log-flood")).into());
    assert!(runtime.call(&module, &ok).is_ok());
}

#[tokio::test(flavor = "current_thread")]
async fn a_call_from_an_async_task_on_a_current_thread_runtime_logs_and_answers() {
    panics_and_logs_from_here();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_from_an_async_task_on_a_multi_thread_runtime_logs_and_answers() {
    panics_and_logs_from_here();
}
