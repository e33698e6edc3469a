//! Server CPU per call, from `/proc`, for four servers in turn on the same
//! client and requests: a do-nothing function on `function-sdk-rust` (the
//! protocol's floor), the cluster platform as a native function on the
//! SDK, the seed's original design in Python on `function-sdk-python`
//! (`integration/seed-python`, set up by `make test-setup`), and this host
//! running the platform's module.
//!
//! `cargo bench -p platform-integration --bench server_cpu` measures
//! (5,000 calls each at 4 concurrent streams); without `--bench` it makes a
//! few calls only, to prove the benchmark still works. `SERVERS=host`
//! measures only the servers whose name holds that text.

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
    /// What the client (this process) spent: building and encoding the
    /// request, decoding the answer into the SDK's types.
    client_cpu_per_call: Duration,
    p50: Duration,
    /// Composed resources in its answer.
    resources: usize,
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
                let mut resources = 0;
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
                    resources = rsp.desired.map_or(0, |d| d.resources.len());
                }
                (latencies, resources)
            }));
        }
        async move {
            let (mut all, mut resources) = (Vec::new(), 0);
            for task in tasks {
                let (latencies, composed) = task.await.expect("stream");
                all.extend(latencies);
                resources = composed;
            }
            (all, resources)
        }
    };
    run(calls.div_ceil(STREAMS * 10).max(1)).await;
    let (before, client_before) = (server.cpu_time(), cpu_time_of("self"));
    let (latencies, resources) = run(calls.div_ceil(STREAMS)).await;
    let spent = server.cpu_time() - before;
    let client_spent = cpu_time_of("self") - client_before;
    Cost {
        cpu_per_call: spent / latencies.len() as u32,
        client_cpu_per_call: client_spent / latencies.len() as u32,
        p50: stats(latencies).p50,
        resources,
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
    let seed_python = root().join("target/seed-venv/bin/python3");
    let seed_function = root().join("integration/seed-python/function.py");
    let seed_function = seed_function.to_str().expect("a UTF-8 path");
    let servers: [Server; 4] = [
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
            "the seed's design in Python on function-sdk-python",
            Box::new(|| HostProcess::spawn_program(&seed_python, &[seed_function], &[])),
        ),
        (
            "this host, the platform's wasm module",
            Box::new(|| HostProcess::spawn(modules.path(), &["--cache-dir", cache_dir])),
        ),
    ];

    // SERVERS=<text> measures only the servers whose name contains it (to
    // profile one); the ratios then take the first and last measured.
    let only = std::env::var("SERVERS").unwrap_or_default();
    let mut measured = Vec::new();
    for (name, spawn) in servers.iter().filter(|(name, _)| name.contains(&only)) {
        let server = spawn();
        ready(&server, &cases[0].1).await;
        let mut costs = Vec::new();
        for (_, req) in &cases {
            costs.push(measure(&server, req, calls).await);
        }
        measured.push((*name, costs));
    }

    println!(
        "## Server CPU per call (GCP production claim, {calls} distinct calls per row, {STREAMS} streams)\n"
    );
    println!(
        "| server | resources | {} CPU / call | {} p50 | {} CPU / call | {} p50 | CPU / do-nothing | CPU / this host | client CPU / call |",
        cases[0].0, cases[0].0, cases[1].0, cases[1].0
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let cpu = |costs: &[Cost], i: usize| costs[i].cpu_per_call.as_secs_f64().max(1e-9);
    let floor = &measured[0].1;
    let host = &measured[measured.len() - 1].1;
    for (name, costs) in &measured {
        println!(
            "| {name} | {} / {} | {:.0} µs | {:.2} ms | {:.0} µs | {:.2} ms | {:.1}x / {:.1}x | {:.2}x / {:.2}x | {:.0} / {:.0} µs |",
            costs[0].resources,
            costs[1].resources,
            micros(costs[0].cpu_per_call),
            costs[0].p50.as_secs_f64() * 1e3,
            micros(costs[1].cpu_per_call),
            costs[1].p50.as_secs_f64() * 1e3,
            cpu(costs, 0) / cpu(floor, 0),
            cpu(costs, 1) / cpu(floor, 1),
            cpu(costs, 0) / cpu(host, 0),
            cpu(costs, 1) / cpu(host, 1),
            micros(costs[0].client_cpu_per_call),
            micros(costs[1].client_cpu_per_call),
        );
    }
}
