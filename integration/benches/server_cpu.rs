//! Server CPU per call, from `/proc`, for three servers in turn on the same
//! client and requests: a do-nothing function on `function-sdk-rust` (the
//! protocol's floor), the cluster platform as a native function on the
//! SDK, and this host running the platform's module.
//!
//! `cargo bench -p platform-integration --bench server_cpu` measures
//! (5,000 calls each at 4 concurrent streams); without `--bench` it makes a
//! few calls only, to prove the benchmark still works.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use function_sdk_rust::proto::v1 as pb;
use platform_integration::*;

const STREAMS: usize = 4;

/// A server under test: its name in the table and how to start it.
type Server<'a> = (&'static str, Box<dyn Fn() -> HostProcess + 'a>);

/// What one server spent on one kind of call.
struct Cost {
    cpu_per_call: Duration,
    p50: Duration,
}

/// `calls` distinct calls of `req` over `STREAMS` connections, after a
/// warm-up; the server's CPU time is read around them.
async fn measure(server: &HostProcess, req: &pb::RunFunctionRequest, calls: usize) -> Cost {
    let next = Arc::new(AtomicU64::new(0));
    let run = |calls_each: usize| {
        let mut tasks = Vec::new();
        for _ in 0..STREAMS {
            let (req, next, address) = (req.clone(), next.clone(), server.address.clone());
            tasks.push(tokio::spawn(async move {
                let mut client =
                    pb::function_runner_service_client::FunctionRunnerServiceClient::connect(
                        format!("http://{address}"),
                    )
                    .await
                    .expect("connect");
                let mut latencies = Vec::with_capacity(calls_each);
                for _ in 0..calls_each {
                    let mut call = req.clone();
                    vary(&mut call, next.fetch_add(1, Ordering::Relaxed));
                    let started = Instant::now();
                    let rsp = client.run_function(call).await.expect("call").into_inner();
                    latencies.push(started.elapsed());
                    assert!(
                        !rsp.results
                            .iter()
                            .any(|r| r.severity == pb::Severity::Fatal as i32),
                        "a call failed: {:?}",
                        rsp.results
                    );
                }
                latencies
            }));
        }
        async move {
            let mut all = Vec::new();
            for task in tasks {
                all.extend(task.await.expect("stream"));
            }
            all
        }
    };
    run(calls.div_ceil(STREAMS * 10).max(1)).await;
    let before = server.cpu_time();
    let latencies = run(calls.div_ceil(STREAMS)).await;
    let spent = server.cpu_time() - before;
    Cost {
        cpu_per_call: spent / latencies.len() as u32,
        p50: stats(latencies).p50,
    }
}

async fn ready(server: &HostProcess, req: &pb::RunFunctionRequest) {
    let started = Instant::now();
    loop {
        let mut client = server.client().await;
        if client.run_function(req.clone()).await.is_ok() {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never served");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let calls = if full { 5000 } else { 40 };
    let cases = [
        ("first call", first_call_request("gcp")),
        ("cluster up", cluster_up_request("gcp")),
    ];

    let modules = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    install(
        modules.path(),
        "cluster_all.wasm",
        &std::fs::read(wasm("cluster_all.wasm")).expect("wasm"),
    );
    let cache_dir = cache.path().to_str().expect("a UTF-8 path");
    let servers: [Server; 3] = [
        (
            "do-nothing function on function-sdk-rust",
            Box::new(|| {
                HostProcess::spawn_function(Path::new(env!("CARGO_BIN_EXE_noop-function")), &[])
            }),
        ),
        (
            "the platform as a native function-sdk-rust function",
            Box::new(|| {
                HostProcess::spawn_function(Path::new(env!("CARGO_BIN_EXE_native-function")), &[])
            }),
        ),
        (
            "this host, the platform's wasm module",
            Box::new(|| HostProcess::spawn(modules.path(), &["--cache-dir", cache_dir])),
        ),
    ];

    println!(
        "## Server CPU per call (GCP production claim, {calls} distinct calls per row, {STREAMS} streams)\n"
    );
    println!(
        "| server | {} CPU / call | {} p50 | {} CPU / call | {} p50 | CPU / do-nothing |",
        cases[0].0, cases[0].0, cases[1].0, cases[1].0
    );
    println!("|---|---|---|---|---|---|");
    let mut floor: Option<[Duration; 2]> = None;
    for (name, spawn) in &servers {
        let server = spawn();
        ready(&server, &cases[0].1).await;
        let mut costs = Vec::new();
        for (_, req) in &cases {
            costs.push(measure(&server, req, calls).await);
        }
        let cpu = [costs[0].cpu_per_call, costs[1].cpu_per_call];
        let floor = *floor.get_or_insert(cpu);
        let ratio = |i: usize| cpu[i].as_secs_f64() / floor[i].as_secs_f64().max(1e-9);
        println!(
            "| {name} | {:.0} µs | {:.2} ms | {:.0} µs | {:.2} ms | {:.1}x / {:.1}x |",
            micros(cpu[0]),
            costs[0].p50.as_secs_f64() * 1e3,
            micros(cpu[1]),
            costs[1].p50.as_secs_f64() * 1e3,
            ratio(0),
            ratio(1),
        );
    }
}
