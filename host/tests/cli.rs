//! The command line: `keygen` and `sign` make what `--trusted-keys` checks,
//! and a bad start-up is a clear error, not a panic.

mod common;

use std::process::Command;

use common::*;
use fnhost::trust::{TrustedKeys, signature_path};

const BIN: &str = env!("CARGO_BIN_EXE_function-cluster-platform");

#[test]
fn keygen_and_sign_produce_a_signature_the_trusted_keys_accept() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(BIN)
        .args(["keygen", "--out-dir"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let module = dir.path().join("cluster_platform.wasm");
    std::fs::copy(wasm(CLUSTER_WASM), &module).unwrap();
    let status = Command::new(BIN)
        .args(["sign", "--key"])
        .arg(dir.path().join("signing.key"))
        .arg(&module)
        .status()
        .unwrap();
    assert!(status.success());

    let keys = TrustedKeys::load(&dir.path().join("signing.pub")).unwrap();
    let signature = std::fs::read_to_string(signature_path(&module)).unwrap();
    keys.verify(&std::fs::read(&module).unwrap(), Some(&signature))
        .unwrap();
}

#[test]
fn serving_without_credentials_or_modules_fails_with_the_fix() {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--insecure", "--metrics-address=", "--modules-dir"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("holds no *.wasm module"), "{stderr}");

    let modules = modules_dir(&[CLUSTER_WASM]);
    let out = Command::new(BIN)
        .args([
            "--metrics-address=",
            "--address",
            "127.0.0.1:0",
            "--modules-dir",
        ])
        .arg(modules.path())
        .env_remove("TLS_SERVER_CERTS_DIR")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--tls-certs-dir or use --insecure"),
        "{stderr}"
    );
}

/// A module whose describe() panics writes the panic to stderr through
/// WASI before it traps: start-up and render refuse it with a message, and
/// the host itself does not panic.
#[test]
fn a_module_panicking_in_describe_is_refused_without_a_host_panic() {
    let modules = tempfile::tempdir().unwrap();
    install(
        modules.path(),
        "panics.wasm",
        &variant("0.1.0", &[], &["panic-describe"]),
    );
    let examples = examples();
    let runs = [
        Command::new(BIN)
            .args([
                "--insecure",
                "--metrics-address=",
                "--address",
                "127.0.0.1:0",
            ])
            .arg("--modules-dir")
            .arg(modules.path())
            .output()
            .unwrap(),
        Command::new(BIN)
            .arg("render")
            .arg(examples.join("gcp/claim.yaml"))
            .arg(examples.join("../apis/legacy/composition.yaml"))
            .arg(examples.join("functions.yaml"))
            .arg("--modules-dir")
            .arg(modules.path())
            .output()
            .unwrap(),
    ];
    for out in runs {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains("panics.wasm"), "{stderr}");
        assert!(stderr.contains("describe()"), "{stderr}");
        assert!(!stderr.contains("panicked at"), "{stderr}");
    }
}
