//! Per-call cost of the cluster module, native vs through wasm (broken
//! down by phase), and the host's cold start with and without the
//! compiled-module cache.
//!
//! `cargo bench -p platform-integration --bench call` measures; without
//! `--bench` (as `cargo test -p platform-integration --benches` runs it)
//! it runs a few iterations only, to prove the benchmark still works.

use std::time::{Duration, Instant};

use fnhost::grpc::{convert, wire};
use fnhost::wasm::limits::Limits;
use fnhost::wasm::runtime::Runtime;
use function_sdk_rust::proto::v1 as pb;
use platform_integration::*;
use prost::Message;

fn per_call(iterations: usize) {
    let runtime = Runtime::new(Limits::default(), None).expect("runtime");
    let module = runtime.load(&wasm("cluster_all.wasm")).expect("module");
    println!(
        "| claim | call | resources | native logic | native function | wasm total (p50 / p99) | request → WIT | instantiate | guest run | WIT → response | wasm / native function | wasm / native logic |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let cases = [
        ("gcp", "first call", first_call_request("gcp")),
        ("gcp", "cluster up", cluster_up_request("gcp")),
        ("aws", "cluster up", cluster_up_request("aws")),
        ("azure", "cluster up", cluster_up_request("azure")),
    ];
    for (cloud, when, base) in cases {
        let mut samples: [Vec<Duration>; 7] = Default::default();
        let mut resources = 0;
        for call in 0..iterations {
            // A request no earlier call has made, encoded outside the
            // timing: both paths start from the bytes a server receives and
            // end with the bytes it sends.
            let mut req = base.clone();
            vary(&mut req, call as u64);
            let bytes = req.encode_to_vec();
            // Native: decoded into the SDK's types, the library on it (the
            // conversion to JSON values included), its response turned into
            // protobuf and encoded, as a native SDK function must.
            let t = Instant::now();
            let req = pb::RunFunctionRequest::decode(bytes.as_slice()).expect("request");
            let t_logic = Instant::now();
            let mut log = cluster_platform::log::Log::default();
            let rsp = cluster_platform::platform::run(&native::request(&req), &mut log);
            samples[0].push(t_logic.elapsed());
            let rsp = native::response(rsp, "tag");
            let sent = rsp.encode_to_vec();
            samples[6].push(t.elapsed());
            let native_resources = rsp.desired.as_ref().map_or(0, |d| d.resources.len());
            // Dropped outside the timing, as the wasm path's response is.
            std::hint::black_box((rsp, sent, req));

            let t = Instant::now();
            runtime.instantiate_only(&module).expect("instantiate");
            samples[1].push(t.elapsed());

            let t0 = Instant::now();
            let req = wire::RunFunctionRequest::decode(bytes.as_slice()).expect("request");
            let w = convert::request_to_wit(&req);
            let t1 = Instant::now();
            let rsp = runtime.call(&module, &w).expect("call");
            let t2 = Instant::now();
            let rsp = convert::response_from_wit(rsp, "tag").expect("response");
            let sent = rsp.encode_to_vec();
            let t3 = Instant::now();
            std::hint::black_box((sent, req, w));
            resources = rsp.desired.as_ref().map_or(0, |d| d.resources.len());
            assert!(
                resources > 0 && resources == native_resources,
                "{cloud} {when}: wasm composed {resources} resources, native {native_resources}"
            );
            samples[2].push(t1 - t0);
            samples[3].push(t2 - t1);
            samples[4].push(t3 - t2);
            samples[5].push(t3 - t0);
        }
        let [native_t, inst, to_wit, run, from_wit, total, native_fn] = samples.map(stats);
        println!(
            "| {cloud} | {when} | {resources} | {:.0} µs | {:.0} µs | {:.0} / {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs | {:.2}x | {:.2}x |",
            micros(native_t.p50),
            micros(native_fn.p50),
            micros(total.p50),
            micros(total.p99),
            micros(to_wit.p50),
            micros(inst.p50),
            // The call includes instantiation; the guest's own run is the rest.
            micros(run.p50) - micros(inst.p50),
            micros(from_wit.p50),
            micros(total.p50) / micros(native_fn.p50),
            micros(total.p50) / micros(native_t.p50),
        );
    }
}

/// The floor: a minimal module (it copies the request forward and adds
/// one resource) through the same path.
fn minimal_module(iterations: usize) {
    let runtime = Runtime::new(Limits::default(), None).expect("runtime");
    let module = runtime.load(&wasm("hostile_guest.wasm")).expect("module");
    let req = wire::RunFunctionRequest::from(&bare_request(&example_xr("gcp"), "hostile"));
    let (mut inst, mut total) = (Vec::new(), Vec::new());
    for _ in 0..iterations {
        let t = Instant::now();
        runtime.instantiate_only(&module).expect("instantiate");
        inst.push(t.elapsed());
        let t = Instant::now();
        let rsp = runtime
            .call(&module, &convert::request_to_wit(&req))
            .expect("call");
        std::hint::black_box(convert::response_from_wit(rsp, "tag").expect("response"));
        total.push(t.elapsed());
    }
    let (inst, total) = (stats(inst), stats(total));
    println!("\n## Minimal module ({iterations} iterations)\n");
    println!("| instantiate (p50) | instantiate + call + conversions (p50 / p99) |\n|---|---|");
    println!(
        "| {:.0} µs | {:.0} / {:.0} µs |",
        micros(inst.p50),
        micros(total.p50),
        micros(total.p99)
    );
}

/// Fresh instances back to back, with nothing run in between: what an
/// instance costs while the CPU's caches hold the module's instance state,
/// beside the *instantiate* column, taken between real calls.
fn instances_back_to_back(iterations: usize) {
    let runtime = Runtime::new(Limits::default(), None).expect("runtime");
    println!("\n## Fresh instances back to back ({iterations} iterations)\n");
    println!("| module | instantiate and drop (p50 / p99) |\n|---|---|");
    for name in ["cluster_gcp.wasm", "hostile_guest.wasm"] {
        let module = runtime.load(&wasm(name)).expect("module");
        let samples = (0..iterations)
            .map(|_| {
                let t = Instant::now();
                runtime.instantiate_only(&module).expect("instantiate");
                t.elapsed()
            })
            .collect();
        let s = stats(samples);
        println!(
            "| {name} | {:.0} / {:.0} µs |",
            micros(s.p50),
            micros(s.p99)
        );
    }
}

/// Process start to the first successful RunFunction.
fn cold_start(cache: Option<&std::path::Path>) -> Duration {
    let modules = tempfile::tempdir().expect("tempdir");
    install(
        modules.path(),
        "cluster_all.wasm",
        &std::fs::read(wasm("cluster_all.wasm")).expect("wasm"),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let extra: Vec<String> = cache
        .map(|c| vec!["--cache-dir".into(), c.display().to_string()])
        .unwrap_or_default();
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let started = Instant::now();
    let host = HostProcess::spawn(modules.path(), &extra);
    rt.block_on(async {
        let req = bare_request(&example_xr("gcp"), "cluster");
        loop {
            let mut client = host.client().await;
            if client.run_function(req.clone()).await.is_ok() {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
}

/// Each cluster module's size, and the time to compile, link and describe
/// it with the host's engine and no compiled cache.
fn module_sizes(runs: usize) {
    println!("\n## Cluster modules ({runs} runs, p50 of compile + link + describe, no cache)\n");
    println!("| module | routes | size | compile |\n|---|---|---|---|");
    for name in ["cluster_all", "cluster_gcp", "cluster_aws", "cluster_azure"] {
        let path = wasm(&format!("{name}.wasm"));
        let size = std::fs::metadata(&path).expect("module").len();
        let mut times = Vec::new();
        let mut routes = String::new();
        for _ in 0..runs {
            let runtime = Runtime::new(Limits::default(), None).expect("runtime");
            let started = Instant::now();
            let module = runtime.load(&path).expect("module");
            times.push(started.elapsed());
            routes = module
                .info
                .routes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
        }
        println!(
            "| {name}.wasm | {routes} | {:.2} MB | {:.0} ms |",
            size as f64 / 1e6,
            stats(times).p50.as_secs_f64() * 1e3
        );
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let iterations = if full { 2000 } else { 3 };
    println!("## Per call ({iterations} iterations, p50 unless noted)\n");
    per_call(iterations);
    minimal_module(iterations);
    instances_back_to_back(iterations);

    let runs = if full { 5 } else { 1 };
    let cache = tempfile::tempdir().expect("tempdir");
    let without: Vec<Duration> = (0..runs).map(|_| cold_start(None)).collect();
    cold_start(Some(cache.path())); // fills the cache
    let with: Vec<Duration> = (0..runs).map(|_| cold_start(Some(cache.path()))).collect();
    println!("\n## Cold start ({runs} runs, process start to first successful call, p50)\n");
    println!("| compiled cache | time |\n|---|---|");
    println!(
        "| none (compiles the module) | {:.0} ms |",
        stats(without).p50.as_secs_f64() * 1e3
    );
    println!("| warm | {:.0} ms |", stats(with).p50.as_secs_f64() * 1e3);
    module_sizes(runs);
}
