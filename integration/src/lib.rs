//! Shared pieces of the benchmarks and cross-crate tests: where things are,
//! the host process, requests, and latency statistics.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod native;
pub mod wire_client;

use fnhost::grpc::{convert, wire};
use fnhost::render::{claim, docs, pipeline};
use fnhost::wasm::runtime::{LoadedModule, Runtime};
use function_sdk_rust::proto::v1 as pb;
use function_sdk_rust::proto::v1::function_runner_service_client::FunctionRunnerServiceClient;
use serde_json::{Value, json};
use tonic::transport::Channel;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A built guest module (`make guest`).
pub fn wasm(name: &str) -> PathBuf {
    let path = std::env::var_os("GUEST_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/wasm32-wasip2/release"))
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run `make guest` first",
        path.display()
    );
    path
}

/// The host binary of the profile this code was built with.
pub fn host_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("HOST_BINARY") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<name>-<hash> -> target/<profile>/function-cluster-platform
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .join("function-cluster-platform");
    assert!(
        path.exists(),
        "{} is missing: build the host of this profile first",
        path.display()
    );
    path
}

pub use test_support::with_custom_section;

/// Writes `bytes` as `dir/name` with a temporary file and a rename.
pub fn install(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{name}.partial"));
    std::fs::write(&tmp, bytes).expect("write module");
    std::fs::rename(&tmp, dir.join(name)).expect("rename module");
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A host process serving `modules` insecurely on loopback.
pub struct HostProcess {
    pub child: Child,
    pub address: String,
}

impl HostProcess {
    /// The host of this profile serving `modules`, with `extra` flags.
    pub fn spawn(modules: &Path, extra: &[&str]) -> Self {
        let modules = modules.to_str().expect("a UTF-8 modules path");
        let mut args = vec!["--module-settle", "50ms", "--modules-dir", modules];
        args.extend(extra);
        Self::spawn_function(&host_binary(), &args)
    }

    /// Any function built on `function-sdk-rust` (whose flags the host
    /// shares), serving insecurely on a free loopback port.
    pub fn spawn_function(binary: &Path, extra: &[&str]) -> Self {
        Self::spawn_program(binary, &[], extra)
    }

    /// `program` with `leading` arguments (an interpreter's script), then
    /// the function flags every SDK shares, then `extra`.
    pub fn spawn_program(program: &Path, leading: &[&str], extra: &[&str]) -> Self {
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let child = Command::new(program)
            .args(leading)
            .args(["--insecure", "--metrics-address=", "--address", &address])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        Self { child, address }
    }

    /// CPU time the process has used so far, user and system, over all its
    /// threads (those that have exited included), from `/proc` (Linux).
    pub fn cpu_time(&self) -> Duration {
        cpu_time_of(&self.child.id().to_string())
    }

    /// Resident memory of the process, in KiB (Linux).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// A client, once the host answers.
    pub async fn client(&self) -> FunctionRunnerServiceClient<Channel> {
        let started = Instant::now();
        loop {
            if let Ok(client) =
                FunctionRunnerServiceClient::connect(format!("http://{}", self.address)).await
            {
                return client;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the host did not listen"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// CPU time a process (`self` for this one) has used so far, user and
/// system, over all its threads (those that have exited included), from
/// `/proc` (Linux).
pub fn cpu_time_of(pid: &str) -> Duration {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process's /proc stat");

    // Fields after the command name, which is in parentheses and may
    // hold spaces: the state is field 3, utime 14 and stime 15.
    let after_name = &stat[stat.rfind(')').expect("a /proc stat line") + 1..];
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|f| f.parse().expect("a tick count"))
        .collect();
    // SAFETY: sysconf only reads a configuration value.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Duration::from_secs_f64(fields.iter().sum::<u64>() as f64 / ticks_per_second)
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sha256 of the cluster module serving, from a `/modules` listing:
/// the upload API's (with its token) or the probes'; empty when none.
pub async fn serving_sha256(address: &str, token: Option<&str>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(address).await else {
        return String::new();
    };
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head =
        format!("GET /modules HTTP/1.1\r\nHost: {address}\r\n{auth}Connection: close\r\n\r\n");
    let mut response = String::new();
    if stream.write_all(head.as_bytes()).await.is_err()
        || stream.read_to_string(&mut response).await.is_err()
    {
        return String::new();
    }
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let listed: Value = serde_json::from_str(body).unwrap_or_default();
    listed["modules"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == "cluster-platform")
        .and_then(|m| m["sha256"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// The composite of an example claim.
pub fn example_xr(cloud: &str) -> Value {
    let xrd = docs::read_one(&root().join("apis/legacy/definition.yaml"), "the XRD").ok();
    let claim = docs::read_one(
        &root().join(format!("examples/{cloud}/claim.yaml")),
        "the claim",
    )
    .expect("claim");
    claim::composite_for(claim, xrd.as_ref()).expect("composite")
}

pub fn input(module: &str) -> Value {
    json!({"apiVersion": "myplatform.io/v1alpha1", "kind": "Input", "module": module})
}

/// A request for `xr` through `module`, without requirements answered.
pub fn bare_request(xr: &Value, module: &str) -> pb::RunFunctionRequest {
    pb::RunFunctionRequest {
        meta: Some(pb::RequestMeta {
            tag: "bench".into(),
            ..Default::default()
        }),
        observed: Some(pb::State {
            composite: Some(pipeline::resource(xr)),
            ..Default::default()
        }),
        input: Some(pipeline::to_struct(&input(module))),
        ..Default::default()
    }
}

/// `req` with the example's observed resources (`examples/<cloud>/observed`:
/// the cluster up), so the whole platform renders, Helm releases included.
pub fn with_cluster_up(mut req: pb::RunFunctionRequest, cloud: &str) -> pb::RunFunctionRequest {
    let observed =
        docs::read(&root().join(format!("examples/{cloud}/observed"))).expect("observed");
    let state = req.observed.get_or_insert_with(Default::default);
    for body in observed {
        let name = body["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
            .as_str()
            .expect("composition-resource-name")
            .to_string();
        state.resources.insert(name, pipeline::resource(&body));
    }
    req
}

/// The request Crossplane sends for a new composite of the example claim
/// once the requirements loop has settled: its EnvironmentConfigs
/// answered, nothing observed yet.
pub fn first_call_request(cloud: &str) -> pb::RunFunctionRequest {
    answer_requirements(bare_request(&example_xr(cloud), "cluster"), native::run)
}

/// [`first_call_request`] once the cluster is up: the whole platform
/// renders, Helm releases included.
pub fn cluster_up_request(cloud: &str) -> pb::RunFunctionRequest {
    let bare = with_cluster_up(bare_request(&example_xr(cloud), "cluster"), cloud);
    answer_requirements(bare, native::run)
}

/// Makes `req` one no other call sends: the observed composite carries
/// `call` in an annotation, so nothing a cache could answer is measured.
pub fn vary(req: &mut pb::RunFunctionRequest, call: u64) {
    let xr = req
        .observed
        .get_or_insert_with(Default::default)
        .composite
        .get_or_insert_with(Default::default)
        .resource
        .get_or_insert_with(Default::default);
    let metadata = struct_field(&mut xr.fields, "metadata");
    let annotations = struct_field(metadata, "annotations");
    annotations.insert(
        "bench.platform.io/call".into(),
        pbjson_types::Value {
            kind: Some(pbjson_types::value::Kind::StringValue(call.to_string())),
        },
    );
}

/// The fields of the object at `key`, made an empty object first when it
/// is absent or not an object.
fn struct_field<'a>(
    fields: &'a mut HashMap<String, pbjson_types::Value>,
    key: &str,
) -> &'a mut HashMap<String, pbjson_types::Value> {
    use pbjson_types::value::Kind;
    let value = fields.entry(key.to_string()).or_default();
    if !matches!(value.kind, Some(Kind::StructValue(_))) {
        value.kind = Some(Kind::StructValue(Default::default()));
    }
    match &mut value.kind {
        Some(Kind::StructValue(s)) => &mut s.fields,
        _ => unreachable!("set to an object above"),
    }
}
/// Fills `req`'s required resources from the example EnvironmentConfigs
/// the way Crossplane's loop does, calling `call` until they settle.
pub fn answer_requirements(
    mut req: pb::RunFunctionRequest,
    mut call: impl FnMut(&pb::RunFunctionRequest) -> pb::RunFunctionResponse,
) -> pb::RunFunctionRequest {
    let available = docs::read(&root().join("examples/envconfigs")).expect("envconfigs");
    for _ in 0..pipeline::MAX_REQUIREMENTS_ITERATIONS {
        let wanted = call(&req).requirements.unwrap_or_default();
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

pub struct Stats {
    pub p50: Duration,
    pub p99: Duration,
    pub mean: Duration,
}

pub fn stats(mut samples: Vec<Duration>) -> Stats {
    assert!(!samples.is_empty(), "no samples");
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Stats {
        p50: at(0.5),
        p99: at(0.99),
        mean: samples.iter().sum::<Duration>() / samples.len() as u32,
    }
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The bytes the host sends for `req`, from the bytes Crossplane sends:
/// one call of `module` as the host makes it (the request's objects passed
/// on as bytes, the response's checked and copied).
pub fn sent_by_the_host(
    runtime: &Runtime,
    module: &LoadedModule,
    req: &pb::RunFunctionRequest,
) -> Vec<u8> {
    use prost::Message;
    let received = req.encode_to_vec();
    let req = wire::RunFunctionRequest::decode(received.as_slice()).expect("a request");
    let tag = req.meta.as_ref().map(|m| m.tag.clone()).unwrap_or_default();
    let rsp = runtime
        .call(module, &convert::request_to_wit(&req))
        .expect("the module answers");
    convert::response_from_wit(rsp, &tag)
        .expect("a well-formed response")
        .encode_to_vec()
}

/// [`sent_by_the_host`], read back with the SDK's types.
pub fn serve_in_process(
    runtime: &Runtime,
    module: &LoadedModule,
    req: &pb::RunFunctionRequest,
) -> pb::RunFunctionResponse {
    use prost::Message;
    pb::RunFunctionResponse::decode(sent_by_the_host(runtime, module, req).as_slice())
        .expect("checked objects decode")
}
