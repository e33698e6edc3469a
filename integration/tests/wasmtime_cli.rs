//! The stock `wasmtime` CLI as a harness: `wasmtime run module.wasm <
//! request.json` on a per-cloud module answers the example request, given
//! in protobuf's JSON mapping, with the response the host serves for it.
//! The CLI is the workspace's `wasmtime` binary (`wasmtime-cli/`, the
//! `wasmtime-cli` crate's `run` command), which the workspace build makes;
//! `WASMTIME` may point at another.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use fnhost::wasm::limits::Limits;
use fnhost::wasm::runtime::Runtime;
use function_sdk_rust::proto::v1 as pb;
use platform_integration::*;
use serde_json::Value;

fn wasmtime() -> PathBuf {
    let path = std::env::var_os("WASMTIME")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/debug/wasmtime"));
    assert!(
        path.exists(),
        "{} is missing: `cargo build -p wasmtime-cli-harness` builds it",
        path.display()
    );
    path
}

/// `wasmtime run module < stdin`, as a platform engineer would type it.
fn wasmtime_run(module: &str, stdin: &str) -> Output {
    let mut child = Command::new(wasmtime())
        .arg("run")
        .arg(wasm(module))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run wasmtime");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Every stderr line is one of the SDK's JSON log lines.
fn log_lines(stderr: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {line}"));
            assert!(
                value["level"].is_string() && value["message"].is_string(),
                "{line}"
            );
            value
        })
        .collect()
}

#[test]
fn wasmtime_run_answers_the_example_request_as_the_host_serves_it() {
    let runtime = Runtime::new(Limits::default(), None).unwrap();
    for cloud in ["gcp", "aws", "azure"] {
        let file = format!("cluster_{cloud}.wasm");
        let module = runtime.load(&wasm(&file)).unwrap();
        let serve = |r: &pb::RunFunctionRequest| serve_in_process(&runtime, &module, r);
        let bare = with_cluster_up(bare_request(&example_xr(cloud), "cluster"), cloud);
        let request = answer_requirements(bare, serve);
        let served = serve(&request);

        let output = wasmtime_run(&file, &serde_json::to_string(&request).unwrap());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{cloud}: wasmtime run failed: {stderr}"
        );
        log_lines(&output.stderr);
        let answered: pb::RunFunctionResponse = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{cloud}: stdout is not a RunFunctionResponse: {e}"));
        let resources = &served.desired.as_ref().unwrap().resources;
        assert!(
            resources.len() > 20,
            "{cloud}: {} resources",
            resources.len()
        );
        // Compared in the JSON mapping, where a null is a null: pbjson reads
        // one as a Value with no kind, the host's wire carries NullValue.
        assert_eq!(
            serde_json::to_value(&answered).unwrap(),
            serde_json::to_value(&served).unwrap(),
            "{cloud}: wasmtime run answered otherwise"
        );
    }
}

#[test]
fn wasmtime_run_on_a_request_that_is_not_one_fails_naming_the_field() {
    let output = wasmtime_run("cluster_gcp.wasm", r#"{"observed": {"composite": 3}}"#);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let lines = log_lines(&output.stderr);
    let message = lines[0]["message"].as_str().unwrap();
    assert_eq!(lines[0]["level"], "error");
    assert_eq!(
        message,
        "stdin is not a RunFunctionRequest: observed.composite must be an object"
    );

    let output = wasmtime_run("cluster_gcp.wasm", "not json");
    assert!(!output.status.success());
    let lines = log_lines(&output.stderr);
    assert!(
        lines[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("stdin is not JSON"),
        "{lines:?}"
    );
}
