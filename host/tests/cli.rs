//! The command line: `keygen` and `sign` make keys and signatures as cosign
//! does, which `openssl` verifies, and a bad start-up is a clear error, not
//! a panic.

mod common;

use std::process::Command;

use common::*;
use fnhost::modules::cosign::{CosignKeys, signature_path};

const BIN: &str = env!("CARGO_BIN_EXE_function-cluster-platform");

fn base64_decode(text: &str) -> Vec<u8> {
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text.trim()).unwrap()
}

/// `keygen` writes cosign's key pair (the private key encrypted under
/// COSIGN_PASSWORD); `sign` writes what `cosign sign-blob` writes. openssl
/// verifies the signature against the public key, and so does
/// `--cosign-key`.
#[test]
fn keygen_and_sign_produce_cosign_keys_and_signatures_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let keygen = || {
        Command::new(BIN)
            .args(["keygen", "--out-dir"])
            .arg(dir.path())
            .env("COSIGN_PASSWORD", "correct horse")
            .output()
            .unwrap()
    };
    let out = keygen();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let private = std::fs::read_to_string(dir.path().join("cosign.key")).unwrap();
    assert!(
        private.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"),
        "{private}"
    );
    let public = dir.path().join("cosign.pub");
    assert!(
        std::fs::read_to_string(&public)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let again = keygen();
    assert!(!again.status.success(), "keygen overwrote a key");
    assert!(String::from_utf8_lossy(&again.stderr).contains("does not overwrite"));

    let module = dir.path().join("cluster_all.wasm");
    std::fs::copy(wasm(CLUSTER_WASM), &module).unwrap();
    let sign = |password: &str| {
        Command::new(BIN)
            .args(["sign", "--key"])
            .arg(dir.path().join("cosign.key"))
            .arg(&module)
            .env("COSIGN_PASSWORD", password)
            .output()
            .unwrap()
    };
    let wrong = sign("wrong");
    assert!(!wrong.status.success(), "signed with the wrong password");
    let out = sign("correct horse");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bytes = std::fs::read(&module).unwrap();
    let signature = std::fs::read_to_string(signature_path(&module)).unwrap();
    assert!(openssl::verifies(
        &public,
        &base64_decode(&signature),
        &bytes
    ));
    let keys = CosignKeys::load(&[public]).unwrap().unwrap();
    keys.verify_blob(&bytes, Some(&signature)).unwrap();
}

/// `sign` also takes a PKCS#8 key made by openssl, as `cosign sign-blob`
/// does after `cosign import-key-pair`.
#[test]
fn sign_takes_an_openssl_key() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = openssl::key_pair(dir.path(), "team");
    let module = dir.path().join("m.wasm");
    std::fs::write(&module, b"\0asm module bytes").unwrap();
    let out = Command::new(BIN)
        .args(["sign", "--key"])
        .arg(&key)
        .arg(&module)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signature = std::fs::read_to_string(signature_path(&module)).unwrap();
    assert!(openssl::verifies(
        &public,
        &base64_decode(&signature),
        b"\0asm module bytes"
    ));
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

/// A module whose describe() panics reports the panic through the SDK
/// before it traps: start-up and render refuse it with the panic's message,
/// and the host itself does not panic.
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
        assert!(stderr.contains("describe() panicked"), "{stderr}");
        // The module's own message, reported by the SDK before the trap.
        assert!(stderr.contains("describe() refuses on purpose"), "{stderr}");
        // What Rust prints when the host itself panics.
        assert!(!stderr.contains("panicked at"), "{stderr}");
    }
}
