//! Shared test fixtures: the built guest modules, requests, a served host.
#![allow(dead_code)]

pub mod openssl;
pub mod pki;
pub mod registry;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use function_sdk_rust::proto::v1::function_runner_service_client::FunctionRunnerServiceClient;
use function_sdk_rust::proto::v1::{
    RequestMeta, Resource, RunFunctionRequest, RunFunctionResponse, Severity, State,
};
use function_sdk_rust::resource::json_to_struct;
use function_sdk_rust::resource::struct_to_json;
use serde_json::{Value, json};
use tempfile::TempDir;
use tonic::transport::Channel;

/// A compiled-module cache shared by the test run, so each test does not
/// compile the same modules again.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-module-cache")
}

/// The workspace, where the CLI runs as from the README.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The project's examples (claims, EnvironmentConfigs).
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// The composition modules the test run built (`make guest`).
pub const CLUSTER_WASM: &str = "cluster_all.wasm";
pub const HOSTILE_WASM: &str = "hostile_guest.wasm";
/// The cluster platform built for `cloud` alone.
pub fn cloud_wasm(cloud: &str) -> String {
    format!("cluster_{cloud}.wasm")
}

/// The SDK's example module (`examples/modules/label`).
pub const LABEL_WASM: &str = "label_module.wasm";

/// Where the guests are: `$GUEST_WASM_DIR`, or the workspace's wasm target.
pub fn wasm_dir() -> PathBuf {
    std::env::var_os("GUEST_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/release")
        })
}

pub fn wasm(name: &str) -> PathBuf {
    let path = wasm_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: build the guest modules first with `make guest` (the test command does)",
        path.display()
    );
    path
}

/// A fresh modules directory holding copies of the named modules.
pub fn modules_dir(names: &[&str]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        std::fs::copy(wasm(name), dir.path().join(name)).unwrap();
    }
    dir
}

pub fn to_struct(v: &Value) -> pbjson_types::Struct {
    json_to_struct(v.as_object().expect("a JSON object"))
}

pub fn gcp_claim() -> Value {
    json!({
        "apiVersion": "myplatform.io/v1alpha1",
        "kind": "XCluster",
        "metadata": {
            "name": "prod-cluster",
            "labels": {"cloud": "gcp", "planeId": "my-project-123", "planeType": "production"},
        },
        "spec": {"parameters": {
            "domain": "prod.example.com",
            "forProvider": {"location": "us-central1"},
        }},
    })
}

pub fn input(module: &str) -> Value {
    json!({"apiVersion": "myplatform.io/v1alpha1", "kind": "Input", "module": module})
}

/// A request for `xr` through the step input `input`.
pub fn request(tag: &str, xr: &Value, input: Option<&Value>) -> RunFunctionRequest {
    let composite = Resource {
        resource: Some(to_struct(xr)),
        ..Default::default()
    };
    RunFunctionRequest {
        meta: Some(RequestMeta {
            tag: tag.to_string(),
            ..Default::default()
        }),
        observed: Some(State {
            composite: Some(composite),
            ..Default::default()
        }),
        input: input.map(to_struct),
        ..Default::default()
    }
}

/// The environment Crossplane would hand a GCP production claim: the
/// example EnvironmentConfigs merged baseline, cloud, plane type.
pub fn gcp_environment() -> Value {
    environment("gcp", "production")
}

/// The example EnvironmentConfigs for `cloud` and `plane_type`, merged in
/// the Composition's order.
pub fn environment(cloud: &str, plane_type: &str) -> Value {
    let configs = fnhost::render::docs::read(&examples().join("envconfigs")).unwrap();
    let mut env = json!({"apiVersion": "internal.crossplane.io/v1alpha1", "kind": "Environment"});
    for (key, value) in [
        ("baseline", "default"),
        ("cloud", cloud),
        ("planeType", plane_type),
    ] {
        for config in configs
            .iter()
            .filter(|c| c["metadata"]["labels"][key] == value)
        {
            fnhost::render::docs::merge(&mut env, &config["data"]);
        }
    }
    env
}

/// A cluster request for the example claim of `cloud`, its environment in
/// the context, so the module renders in one call.
pub fn example_request(cloud: &str, tag: &str) -> RunFunctionRequest {
    use fnhost::render::{claim, docs};
    let root = workspace_root();
    let xrd = docs::read_one(&root.join("apis/legacy/definition.yaml"), "the XRD").unwrap();
    let example =
        docs::read_one(&examples().join(format!("{cloud}/claim.yaml")), "the claim").unwrap();
    let xr = claim::composite_for(example, Some(&xrd)).unwrap();
    let plane_type = xr["metadata"]["labels"]["planeType"]
        .as_str()
        .unwrap()
        .to_string();
    let mut req = request(tag, &xr, Some(&input("cluster")));
    req.context = Some(to_struct(
        &json!({"apiextensions.crossplane.io/environment": environment(cloud, &plane_type)}),
    ));
    req
}

/// A cluster request for the GCP claim with its environment in the
/// context, so the module renders in one call.
pub fn cluster_request(tag: &str) -> RunFunctionRequest {
    let mut req = request(tag, &gcp_claim(), Some(&input("cluster")));
    req.context = Some(to_struct(
        &json!({"apiextensions.crossplane.io/environment": gcp_environment()}),
    ));
    req
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Serves the host in this test's runtime with `extra` flags; returns the
/// address once it accepts connections.
pub async fn serve(modules: &Path, extra: &[&str]) -> String {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut argv = vec![
        "function-cluster-platform".to_string(),
        "--address".into(),
        address.clone(),
        "--modules-dir".into(),
        modules.display().to_string(),
    ];
    argv.extend(extra.iter().map(|s| s.to_string()));
    argv.extend(["--cache-dir".to_string(), cache_dir().display().to_string()]);
    if !extra.contains(&"--metrics-address") {
        argv.push("--metrics-address=".into());
    }
    if !extra.iter().any(|a| a.starts_with("--probe-address")) {
        argv.push("--probe-address=".into());
    }
    let cli = fnhost::cli::Cli::try_parse_from(argv).unwrap();
    tokio::spawn(async move {
        if let Err(e) = fnhost::server::serve(cli.serve).await {
            panic!("server failed: {e:#}");
        }
    });
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(&address).await.is_ok() {
            return address;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the host did not listen on {address}");
}

pub async fn insecure_client(address: &str) -> FunctionRunnerServiceClient<Channel> {
    FunctionRunnerServiceClient::connect(format!("http://{address}"))
        .await
        .unwrap()
}

/// A copy of the hostile test module that reports `version`, serves
/// `clouds` and carries `flags`: the build's variant bytes, patched.
pub fn variant(version: &str, clouds: &[&str], flags: &[&str]) -> Vec<u8> {
    let mut bytes = std::fs::read(wasm(HOSTILE_WASM)).unwrap();
    let marker = b"@@VARIANT@@";
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("variant marker");
    let text = format!(
        "@@VARIANT@@{version};{};{}",
        clouds.join(","),
        flags.join(",")
    );
    let padded = format!("{text:<96}");
    bytes[at..at + 96].copy_from_slice(padded.as_bytes());
    bytes
}

/// Installs a module as a deployer should: write a temporary file, rename.
pub fn install(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{name}.partial"));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

pub fn hostile_request(cloud: &str) -> RunFunctionRequest {
    let mut xr = gcp_claim();
    xr["metadata"]["labels"]["cloud"] = json!(cloud);
    request("swap", &xr, Some(&input("hostile")))
}

/// Calls the hostile module until `version` answers, for up to 10 s.
pub async fn wait_for_version(client: &mut FunctionRunnerServiceClient<Channel>, version: &str) {
    for _ in 0..200 {
        if served(client).await.as_deref() == Ok(version) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{version} was never served");
}

/// The version the host serves a hostile-module call with now, or why the
/// call failed.
pub async fn served(client: &mut FunctionRunnerServiceClient<Channel>) -> Result<String, String> {
    let rsp = client.run_function(hostile_request("gcp")).await.unwrap();
    served_version(&rsp.into_inner())
}

/// The version that produced a successful response, or why it failed.
pub fn served_version(rsp: &RunFunctionResponse) -> Result<String, String> {
    if let Some(fatal) = rsp
        .results
        .iter()
        .find(|r| r.severity == Severity::Fatal as i32)
    {
        return Err(fatal.message.clone());
    }
    let desired = rsp.desired.as_ref().ok_or("no desired state")?;
    let hello = desired.resources.get("hello").ok_or("no hello resource")?;
    let body = struct_to_json(hello.resource.as_ref().ok_or("empty resource")?);
    Ok(body["data"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// One HTTP/1.1 request on a fresh connection: (status, body).
pub async fn http(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> (u16, String) {
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    http_over(stream, address, method, path, token, &[], body).await
}

/// One HTTP/1.1 request on `stream`, then its answer: the status (0 when
/// there is no HTTP answer) and the body.
pub async fn http_over<S>(
    mut stream: S,
    host: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    // The server may refuse (a TLS alert) or answer (413) and close before
    // reading everything.
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.flush().await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
