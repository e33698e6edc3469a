//! Keys and signatures made the way cosign makes them, with `openssl` and
//! nothing of this project's code: an ECDSA P-256 key (PKCS#8, as `cosign
//! import-key-pair` takes it) and SHA-256 ECDSA signatures.

use std::path::{Path, PathBuf};
use std::process::Command;

fn openssl(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `<dir>/<name>.key` (private) and `<dir>/<name>.pub` (PKIX PEM).
pub fn key_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    openssl(&[
        "genpkey".as_ref(),
        "-algorithm".as_ref(),
        "EC".as_ref(),
        "-pkeyopt".as_ref(),
        "ec_paramgen_curve:P-256".as_ref(),
        "-out".as_ref(),
        key.as_os_str(),
    ]);
    openssl(&[
        "ec".as_ref(),
        "-in".as_ref(),
        key.as_os_str(),
        "-pubout".as_ref(),
        "-out".as_ref(),
        public.as_os_str(),
    ]);
    (key, public)
}

/// The DER signature of `data`'s SHA-256 by `key`.
pub fn sign(key: &Path, data: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("data");
    let output = dir.path().join("data.sig");
    std::fs::write(&input, data).unwrap();
    openssl(&[
        "dgst".as_ref(),
        "-sha256".as_ref(),
        "-sign".as_ref(),
        key.as_os_str(),
        "-out".as_ref(),
        output.as_os_str(),
        input.as_os_str(),
    ]);
    std::fs::read(output).unwrap()
}

/// What `cosign sign-blob --key` writes for `data`: the base64 signature.
pub fn sign_blob(key: &Path, data: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sign(key, data))
}

/// Whether `openssl` verifies the DER `signature` over `data` with the
/// PEM public key `public`.
pub fn verifies(public: &Path, signature: &[u8], data: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("data");
    let sig = dir.path().join("data.sig");
    std::fs::write(&input, data).unwrap();
    std::fs::write(&sig, signature).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(public)
        .arg("-signature")
        .arg(&sig)
        .arg(&input)
        .output()
        .expect("openssl runs");
    String::from_utf8_lossy(&out.stdout).trim() == "Verified OK"
}
