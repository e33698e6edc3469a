//! The compiled-module cache: a restart loads the artifact instead of
//! compiling again, and an unusable artifact is recompiled, not fatal.

mod common;

use common::*;
use fnhost::wasm::limits::Limits;
use fnhost::wasm::runtime::Runtime;

fn artifacts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    found.sort();
    found
}

#[test]
fn a_restart_reuses_the_compiled_artifact() {
    let cache = tempfile::tempdir().unwrap();
    let wasm = wasm(CLUSTER_WASM);

    let first = Runtime::new(Limits::default(), Some(cache.path())).unwrap();
    let module = first.load(&wasm).unwrap();
    let stored = artifacts(cache.path());
    assert_eq!(stored.len(), 1);
    let name = stored[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with(&module.digest),
        "{name} is not keyed by the wasm digest"
    );
    let written = std::fs::metadata(&stored[0]).unwrap().modified().unwrap();

    // A new runtime (a restart) finds the artifact and does not rewrite it.
    let second = Runtime::new(Limits::default(), Some(cache.path())).unwrap();
    let again = second.load(&wasm).unwrap();
    assert_eq!(again.info, module.info);
    assert_eq!(artifacts(cache.path()), stored);
    assert_eq!(
        std::fs::metadata(&stored[0]).unwrap().modified().unwrap(),
        written
    );
}

#[test]
fn an_unusable_artifact_is_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let wasm = wasm(CLUSTER_WASM);
    Runtime::new(Limits::default(), Some(cache.path()))
        .unwrap()
        .load(&wasm)
        .unwrap();
    let artifact = artifacts(cache.path()).remove(0);
    std::fs::write(&artifact, b"not an artifact").unwrap();

    let runtime = Runtime::new(Limits::default(), Some(cache.path())).unwrap();
    let module = runtime.load(&wasm).unwrap();
    assert_eq!(module.info.name, "cluster-platform");
    assert_ne!(std::fs::read(&artifact).unwrap(), b"not an artifact");
}

#[test]
fn a_file_that_is_not_a_component_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(Limits::default(), None).unwrap();

    let text = dir.path().join("text.wasm");
    std::fs::write(&text, "hello").unwrap();
    let err = format!("{:#}", runtime.load(&text).unwrap_err());
    assert!(err.contains("not a WebAssembly binary"), "{err}");

    let truncated = dir.path().join("truncated.wasm");
    let bytes = std::fs::read(wasm(CLUSTER_WASM)).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = format!("{:#}", runtime.load(&truncated).unwrap_err());
    assert!(err.contains("not a valid component"), "{err}");
}
