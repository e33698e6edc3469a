//! End to end over gRPC on loopback with real tonic clients: latency
//! sequentially and with 16 concurrent streams, throughput at saturation,
//! resident memory, module swap time, and a soak with swaps under load.
//! The load comes from [`WireClient`], which leaves the response's objects
//! as bytes; one sequential row uses the SDK's client, which decodes them.
//!
//! `cargo bench -p platform-integration --bench grpc` measures (a 60 s
//! soak); without `--bench` it runs briefly to prove it still works.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fnhost::grpc::wire;
use function_sdk_rust::proto::v1 as pb;
use platform_integration::wire_client::WireClient;
use platform_integration::*;

const STREAMS: usize = 16;
const TOKEN: &str = "bench-upload-token-0123456789";

/// Numbers every call of the run, so each sends a request of its own.
static CALLS: AtomicU64 = AtomicU64::new(0);

/// `req`, made distinct from every other call's (see [`vary`]).
fn distinct(req: &pb::RunFunctionRequest) -> pb::RunFunctionRequest {
    let mut call = req.clone();
    vary(&mut call, CALLS.fetch_add(1, Ordering::Relaxed));
    call
}

/// Distinct calls for the wire client, made cheaply: the request is
/// converted once, and each call encodes only its own varied composite.
struct WireCalls {
    request: wire::RunFunctionRequest,
    composite: pb::RunFunctionRequest,
}

impl WireCalls {
    fn new(req: &pb::RunFunctionRequest) -> Arc<Self> {
        let composite = pb::RunFunctionRequest {
            observed: Some(pb::State {
                composite: req.observed.as_ref().and_then(|o| o.composite.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        Arc::new(Self {
            request: wire::RunFunctionRequest::from(req),
            composite,
        })
    }

    /// [`distinct`], as the wire client sends it.
    fn next(&self) -> wire::RunFunctionRequest {
        let mut varied = self.composite.clone();
        vary(&mut varied, CALLS.fetch_add(1, Ordering::Relaxed));
        let xr = varied
            .observed
            .and_then(|o| o.composite)
            .and_then(|c| c.resource)
            .map(|xr| prost::Message::encode_to_vec(&xr));
        let mut call = self.request.clone();
        call.observed
            .get_or_insert_with(Default::default)
            .composite
            .get_or_insert_with(Default::default)
            .resource = xr;
        call
    }
}

fn fatal(results: &[pb::Result]) -> bool {
    results
        .iter()
        .any(|r| r.severity == pb::Severity::Fatal as i32)
}

fn failed(rsp: &Result<tonic::Response<pb::RunFunctionResponse>, tonic::Status>) -> bool {
    rsp.as_ref()
        .map_or(true, |rsp| fatal(&rsp.get_ref().results))
}

fn failed_wire(rsp: &Result<wire::RunFunctionResponse, tonic::Status>) -> bool {
    rsp.as_ref().map_or(true, |rsp| fatal(&rsp.results))
}

/// Runs `stream(index, client, failures)` on `STREAMS` streams, each on its
/// own connection; returns every stream's latencies and the failed calls
/// they counted.
async fn on_streams<F, S>(address: &str, stream: F) -> (Vec<Duration>, u64)
where
    F: Fn(usize, WireClient, Arc<AtomicU64>) -> S,
    S: std::future::Future<Output = Vec<Duration>> + Send + 'static,
{
    let failures = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for index in 0..STREAMS {
        let client = WireClient::connect(address).await;
        tasks.push(tokio::spawn(stream(index, client, failures.clone())));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("stream"));
    }
    (all, failures.load(Ordering::Relaxed))
}

/// Runs `STREAMS` streams until `calls_each` calls or `stop`; returns the
/// latencies and the number of failed calls.
async fn load(
    address: String,
    calls: Arc<WireCalls>,
    calls_each: usize,
    stop: Arc<AtomicBool>,
) -> (Vec<Duration>, u64) {
    on_streams(&address, |_, mut client, failures| {
        let (calls, stop) = (calls.clone(), stop.clone());
        async move {
            let mut latencies = Vec::with_capacity(calls_each);
            for _ in 0..calls_each {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let call = calls.next();
                let t = Instant::now();
                let rsp = client.run_function(call).await;
                latencies.push(t.elapsed());
                if failed_wire(&rsp) {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }
    })
    .await
}

/// Open loop: `STREAMS` streams together offering `rate` calls per second
/// for `period`. Each call is due at a fixed time. A call that starts late
/// because the stream's previous call was still running is charged from
/// its due time (no coordinated omission); otherwise latency counts from
/// the send, so the client timer's millisecond granularity is not charged
/// to the server. Returns the latencies and the number of failed calls.
async fn paced(
    address: String,
    calls: Arc<WireCalls>,
    rate: f64,
    period: Duration,
) -> (Vec<Duration>, u64) {
    let interval = Duration::from_secs_f64(STREAMS as f64 / rate);
    let calls_each = (period.as_secs_f64() / interval.as_secs_f64()) as u32;
    let start = Instant::now() + Duration::from_millis(100);
    on_streams(&address, |stream, mut client, failures| {
        let calls = calls.clone();
        // Streams start spread over one interval, not all at once.
        let first = start + interval.mul_f64(stream as f64 / STREAMS as f64);
        async move {
            let mut latencies = Vec::with_capacity(calls_each as usize);
            let mut previous_done = Instant::now();
            for k in 0..calls_each {
                let due = first + interval * k;
                // Built before it is due, so its cost is not charged.
                let call = calls.next();
                tokio::time::sleep_until(due.into()).await;
                let from = if previous_done > due {
                    due
                } else {
                    Instant::now()
                };
                let rsp = client.run_function(call).await;
                previous_done = Instant::now();
                latencies.push(previous_done - from);
                if failed_wire(&rsp) {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }
    })
    .await
}

/// Microseconds of `cpu` per call.
fn per_call(cpu: Duration, calls: usize) -> f64 {
    micros(cpu / calls.max(1) as u32)
}

/// Installs `bytes` and waits until the host serves them.
async fn swap(dir: &std::path::Path, upload: &str, bytes: &[u8]) -> Duration {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(bytes));
    let landed = Instant::now();
    install(dir, "cluster_all.wasm", bytes);
    while serving_sha256(upload, Some(TOKEN)).await != digest {
        assert!(
            landed.elapsed() < Duration::from_secs(60),
            "the new module never served"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    landed.elapsed()
}

/// `host compile`: every module of `modules` into the compiled cache.
fn precompile(modules: &std::path::Path, cache: &std::path::Path) {
    let status = std::process::Command::new(host_binary())
        .args(["compile", "--modules-dir"])
        .arg(modules)
        .arg("--cache-dir")
        .arg(cache)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("compile");
    assert!(status.success());
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (sequential, per_stream, paced_period, soak) = if full {
        (2000, 250, Duration::from_secs(10), Duration::from_secs(60))
    } else {
        (20, 5, Duration::from_millis(500), Duration::from_secs(2))
    };
    let modules = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    let token = tempfile::NamedTempFile::new().expect("token");
    std::fs::write(token.path(), TOKEN).expect("token");
    let cluster = std::fs::read(wasm("cluster_all.wasm")).expect("wasm");
    install(modules.path(), "cluster_all.wasm", &cluster);
    // Compiled ahead, as the image ships its modules: a host that compiles
    // on start keeps the compiler's memory (about 70 MiB more RSS).
    precompile(modules.path(), cache.path());
    let upload = format!("127.0.0.1:{}", free_port());
    // HOST_ARGS adds host flags, to compare settings (e.g. concurrency).
    let host_args = std::env::var("HOST_ARGS").unwrap_or_default();
    let mut args = vec![
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "--upload-insecure",
        "--upload-address",
        &upload,
        "--upload-token-file",
        token.path().to_str().unwrap(),
    ];
    args.extend(host_args.split_whitespace());
    let host = HostProcess::spawn(modules.path(), &args);
    let req = cluster_up_request("gcp");
    let mut client = host.client().await;
    assert!(
        !failed(&client.run_function(req.clone()).await),
        "the request fails"
    );
    let idle_rss = host.rss_kib();

    let cpu = host.cpu_time();
    let mut latencies = Vec::new();
    for _ in 0..sequential {
        let call = distinct(&req);
        let t = Instant::now();
        let rsp = client.run_function(call).await;
        latencies.push(t.elapsed());
        assert!(!failed(&rsp));
    }
    let seq_sdk = (
        stats(latencies),
        per_call(host.cpu_time() - cpu, sequential),
    );
    let wire_calls = WireCalls::new(&req);
    let mut wire_client = WireClient::connect(&host.address).await;
    let cpu = host.cpu_time();
    let mut latencies = Vec::new();
    for _ in 0..sequential {
        let call = wire_calls.next();
        let t = Instant::now();
        let rsp = wire_client.run_function(call).await;
        latencies.push(t.elapsed());
        assert!(!failed_wire(&rsp));
    }
    let seq = (
        stats(latencies),
        per_call(host.cpu_time() - cpu, sequential),
    );

    let cpu = host.cpu_time();
    let started = Instant::now();
    let (latencies, failures) = load(
        host.address.clone(),
        wire_calls.clone(),
        per_stream,
        Arc::new(AtomicBool::new(false)),
    )
    .await;
    let wall = started.elapsed();
    let loaded_rss = host.rss_kib();
    let calls = latencies.len();
    let conc_cpu = per_call(host.cpu_time() - cpu, calls);
    let conc = stats(latencies);

    println!(
        "## End to end over gRPC (GCP production claim, {} resources)\n",
        {
            let rsp = client
                .run_function(req.clone())
                .await
                .expect("call")
                .into_inner();
            rsp.desired.map_or(0, |d| d.resources.len())
        }
    );
    println!(
        "| load | calls | p50 | p99 | throughput | server CPU / call | failed |\n|---|---|---|---|---|---|---|"
    );
    for (client, (seq, cpu)) in [("the SDK's client", &seq_sdk), ("wire client", &seq)] {
        println!(
            "| sequential, 1 stream, {client} | {sequential} | {:.2} ms | {:.2} ms | {:.0} calls/s | {cpu:.0} µs | 0 |",
            seq.p50.as_secs_f64() * 1e3,
            seq.p99.as_secs_f64() * 1e3,
            1.0 / seq.mean.as_secs_f64()
        );
    }
    println!(
        "| {STREAMS} concurrent streams, wire client | {calls} | {:.2} ms | {:.2} ms | {:.0} calls/s | {conc_cpu:.0} µs | {failures} |",
        conc.p50.as_secs_f64() * 1e3,
        conc.p99.as_secs_f64() * 1e3,
        calls as f64 / wall.as_secs_f64()
    );

    // Latency under load below saturation: 16 streams at fixed rates.
    // The server's CPU per call says whether a slower call did more work
    // (cold caches) or waited (wake-ups, scheduling).
    println!(
        "\n### {STREAMS} streams, open loop (each call due at a fixed time)\n\n| offered load | calls | p50 | p99 | server CPU / call | failed |\n|---|---|---|---|---|---|"
    );
    for rate in [100.0, 250.0, 500.0] {
        let cpu = host.cpu_time();
        let (latencies, failures) =
            paced(host.address.clone(), wire_calls.clone(), rate, paced_period).await;
        let calls = latencies.len();
        let cpu = per_call(host.cpu_time() - cpu, calls);
        let paced_stats = stats(latencies);
        println!(
            "| {rate:.0} calls/s | {calls} | {:.2} ms | {:.2} ms | {cpu:.0} µs | {failures} |",
            paced_stats.p50.as_secs_f64() * 1e3,
            paced_stats.p99.as_secs_f64() * 1e3,
        );
        assert_eq!(failures, 0, "calls failed under paced load");
    }
    println!("\n## Resident memory\n\n| when | RSS |\n|---|---|");
    println!(
        "| idle, after the first call | {:.1} MiB |",
        idle_rss as f64 / 1024.0
    );
    println!(
        "| after {STREAMS}-stream load | {:.1} MiB |",
        loaded_rss as f64 / 1024.0
    );

    // Swap time: a new digest of the cluster module, compiled on arrival
    // (cold) or found in the compiled cache (warm).
    let cold = swap(
        modules.path(),
        &upload,
        &with_custom_section(&cluster, "cold"),
    )
    .await;
    let warm_bytes = with_custom_section(&cluster, "warm");
    let staging = tempfile::tempdir().expect("tempdir");
    install(staging.path(), "cluster_all.wasm", &warm_bytes);
    precompile(staging.path(), cache.path());
    let warm = swap(modules.path(), &upload, &warm_bytes).await;
    println!(
        "\n## Module swap (file renamed into place to the new digest serving; settle 50 ms)\n"
    );
    println!("| compiled cache | time |\n|---|---|");
    println!(
        "| cold (compiled on arrival) | {:.0} ms |",
        cold.as_secs_f64() * 1e3
    );
    println!(
        "| warm (precompiled) | {:.0} ms |",
        warm.as_secs_f64() * 1e3
    );

    // Soak: 16 streams for the whole period, a swap every 5 s (2 s in
    // quick mode), alternating two digests of the module.
    let before = host.rss_kib();
    let stop = Arc::new(AtomicBool::new(false));
    // Bounded by the stop flag and a per-stream call cap.
    let soak_load = tokio::spawn(load(
        host.address.clone(),
        wire_calls.clone(),
        1_000_000,
        stop.clone(),
    ));
    let started = Instant::now();
    let mut swaps = 0;
    let mut rss_trend: Vec<String> = Vec::new();
    while started.elapsed() < soak {
        tokio::time::sleep(if full {
            Duration::from_secs(5)
        } else {
            Duration::from_secs(1)
        })
        .await;
        swap(
            modules.path(),
            &upload,
            &with_custom_section(&cluster, &format!("soak-{}", swaps % 2)),
        )
        .await;
        swaps += 1;
        rss_trend.push(format!("{:.0}", host.rss_kib() as f64 / 1024.0));
    }
    stop.store(true, Ordering::Relaxed);
    let (latencies, failures) = soak_load.await.expect("soak");
    let after = host.rss_kib();
    println!(
        "\n## Soak ({:.0} s, {STREAMS} streams, {swaps} swaps)\n",
        started.elapsed().as_secs_f64()
    );
    println!("| calls | failed | p99 | RSS before | RSS after |\n|---|---|---|---|---|");
    println!(
        "| {} | {failures} | {:.2} ms | {:.1} MiB | {:.1} MiB |",
        latencies.len(),
        stats(latencies).p99.as_secs_f64() * 1e3,
        before as f64 / 1024.0,
        after as f64 / 1024.0
    );
    println!("\nRSS (MiB) after each swap: {}", rss_trend.join(", "));
    assert_eq!(failures, 0, "calls failed during the soak");
}
