//! Per-call cost of the cluster module, native vs through wasm (broken
//! down by phase), and the host's cold start with and without the
//! compiled-module cache.
//!
//! `cargo bench -p platform-bench --bench call` measures; without
//! `--bench` (as `cargo test -p platform-bench --benches` runs it) it runs a
//! few iterations only, to prove the benchmark still works.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cluster_platform::protocol as native;
use fnhost::convert;
use fnhost::limits::Limits;
use fnhost::render::{claim, docs, pipeline};
use fnhost::runtime::Runtime;
use function_sdk_rust::proto::v1 as pb;
use function_sdk_rust::proto::v1::function_runner_service_client::FunctionRunnerServiceClient;
use function_sdk_rust::resource::struct_to_json;
use serde_json::{Value, json};

/// The host binary of the same profile as this bench (built by `make`).
fn host_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/call-xxxx -> target/<profile>/function-cluster-platform
    let path = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("function-cluster-platform");
    assert!(
        path.exists(),
        "{} is missing: build the host of this profile first",
        path.display()
    );
    path
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn wasm() -> PathBuf {
    let path = std::env::var_os("GUEST_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/wasm32-wasip2/release"))
        .join("cluster_platform.wasm");
    assert!(
        path.exists(),
        "{} is missing: run `make guest` first",
        path.display()
    );
    path
}

struct Stats {
    mean: f64,
    p50: f64,
    p99: f64,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let at = |q: f64| us(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    Stats {
        mean: samples.iter().map(|d| us(*d)).sum::<f64>() / samples.len() as f64,
        p50: at(0.5),
        p99: at(0.99),
    }
}

/// The request Crossplane sends once the module's requirements (the
/// EnvironmentConfigs) are answered.
fn complete_request(
    runtime: &Runtime,
    module: &fnhost::runtime::LoadedModule,
    cloud: &str,
) -> pb::RunFunctionRequest {
    let xrd = docs::read_one(&root().join("apis/cluster/definition.yaml"), "the XRD").ok();
    let claim = docs::read_one(
        &root().join(format!("examples/{cloud}/claim.yaml")),
        "the claim",
    )
    .unwrap();
    let xr = claim::composite_for(claim, xrd.as_ref()).unwrap();
    let available = docs::read(&root().join("examples/envconfigs")).unwrap_or_default();
    let mut req = pb::RunFunctionRequest {
        meta: Some(pb::RequestMeta {
            tag: format!("bench-{cloud}"),
            ..Default::default()
        }),
        observed: Some(pb::State {
            composite: Some(pipeline::resource(&xr)),
            ..Default::default()
        }),
        input: Some(pipeline::to_struct(
            &json!({"apiVersion": "myplatform.io/v1alpha1", "kind": "Input", "module": "cluster"}),
        )),
        ..Default::default()
    };
    for _ in 0..pipeline::MAX_REQUIREMENTS_ITERATIONS {
        let rsp = runtime
            .call(module, &convert::request_to_wit(&req))
            .unwrap();
        let rsp = convert::response_from_wit(rsp, "").unwrap();
        let wanted = rsp.requirements.unwrap_or_default();
        let resources = pipeline::fetch(&wanted.resources, &available);
        let extra = pipeline::fetch(&wanted.extra_resources, &available);
        if resources == req.required_resources && extra == req.extra_resources {
            break;
        }
        req.required_resources = resources;
        req.extra_resources = extra;
    }
    req
}

/// The same request as the guest library sees it natively.
fn native_request(req: &pb::RunFunctionRequest) -> native::Request {
    let resource = |r: &pb::Resource| {
        native::Resource::new(
            r.resource
                .as_ref()
                .map(struct_to_json)
                .unwrap_or(Value::Null),
        )
    };
    let state = |s: Option<&pb::State>| native::State {
        composite: s.and_then(|s| s.composite.as_ref()).map(resource),
        resources: s
            .map(|s| {
                s.resources
                    .iter()
                    .map(|(k, v)| (k.clone(), resource(v)))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let required =
        |m: &std::collections::HashMap<String, pb::Resources>| -> BTreeMap<String, Vec<Value>> {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.items
                            .iter()
                            .map(|i| {
                                i.resource
                                    .as_ref()
                                    .map(struct_to_json)
                                    .unwrap_or(Value::Null)
                            })
                            .collect(),
                    )
                })
                .collect()
        };
    native::Request {
        tag: req.meta.as_ref().map(|m| m.tag.clone()).unwrap_or_default(),
        observed: state(req.observed.as_ref()),
        desired: state(req.desired.as_ref()),
        input: req.input.as_ref().map(struct_to_json),
        context: req.context.as_ref().map(struct_to_json),
        extra_resources: required(&req.extra_resources),
        required_resources: required(&req.required_resources),
        credentials: BTreeMap::new(),
    }
}

fn per_call(iterations: usize) {
    let runtime = Runtime::new(Limits::default(), None).unwrap();
    let module = runtime.load(&wasm()).unwrap();
    println!(
        "| claim | resources | native run | wasm total | request → WIT | instantiate | guest run | WIT → response | wasm / native |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for cloud in ["gcp", "aws", "azure"] {
        let req = complete_request(&runtime, &module, cloud);
        let (mut native_t, mut total, mut to_wit, mut inst, mut run, mut from_wit) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        let mut resources = 0;
        for _ in 0..iterations {
            let t = Instant::now();
            let native_req = native_request(&req);
            let mut log = cluster_platform::log::Log::default();
            let rsp = cluster_platform::platform::run(&native_req, &mut log);
            native_t.push(t.elapsed());
            std::hint::black_box(rsp);

            let t = Instant::now();
            runtime.instantiate_only(&module).unwrap();
            inst.push(t.elapsed());

            let t0 = Instant::now();
            let w = convert::request_to_wit(&req);
            let t1 = Instant::now();
            let rsp = runtime.call(&module, &w).unwrap();
            let t2 = Instant::now();
            let rsp = convert::response_from_wit(rsp, "tag").unwrap();
            let t3 = Instant::now();
            resources = rsp.desired.as_ref().map_or(0, |d| d.resources.len());
            to_wit.push(t1 - t0);
            run.push(t2 - t1);
            from_wit.push(t3 - t2);
            total.push(t3 - t0);
        }
        let (n, w) = (stats(native_t), stats(total));
        let i = stats(inst);
        // The guest run includes instantiation; report its remainder apart.
        let guest = stats(run).p50 - i.p50;
        println!(
            "| {cloud} | {resources} | {:.0} µs | {:.0} µs (p99 {:.0}) | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs | {:.2}x |",
            n.p50,
            w.p50,
            w.p99,
            stats(to_wit).p50,
            i.p50,
            guest,
            stats(from_wit).p50,
            w.p50 / n.p50
        );
        let _ = w.mean;
    }
}

/// Process start to the first successful RunFunction.
fn cold_start(cache: Option<&Path>) -> Duration {
    let modules = tempfile::tempdir().unwrap();
    std::fs::copy(wasm(), modules.path().join("cluster_platform.wasm")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(host_binary());
    cmd.args(["--insecure", "--metrics-address=", "--address"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--modules-dir")
        .arg(modules.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(cache) = cache {
        cmd.arg("--cache-dir").arg(cache);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let elapsed = rt.block_on(async {
        let req = pb::RunFunctionRequest {
            input: Some(pipeline::to_struct(&json!({"apiVersion": "myplatform.io/v1alpha1", "kind": "Input", "module": "cluster"}))),
            ..Default::default()
        };
        loop {
            if let Ok(mut client) = FunctionRunnerServiceClient::connect(format!("http://127.0.0.1:{port}")).await
                && client.run_function(req.clone()).await.is_ok()
            {
                return started.elapsed();
            }
            assert!(started.elapsed() < Duration::from_secs(30), "the host did not serve within 30s");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let iterations = if full { 2000 } else { 3 };
    println!("## Per call ({iterations} iterations, p50 unless noted)\n");
    per_call(iterations);

    let runs = if full { 5 } else { 1 };
    let cache = tempfile::tempdir().unwrap();
    let without: Vec<Duration> = (0..runs).map(|_| cold_start(None)).collect();
    cold_start(Some(cache.path())); // fills the cache
    let with: Vec<Duration> = (0..runs).map(|_| cold_start(Some(cache.path()))).collect();
    println!("\n## Cold start ({runs} runs, process start to first successful call)\n");
    println!("| compiled cache | p50 |\n|---|---|");
    println!(
        "| none (compiles the module) | {:.0} ms |",
        stats(without).p50 / 1000.0
    );
    println!("| warm | {:.0} ms |", stats(with).p50 / 1000.0);
}
