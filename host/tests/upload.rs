//! The module upload API: authenticated, validated like a dropped file,
//! written to the modules directory, bounded in size and time, served over
//! TLS (plain HTTP only when asked for, on loopback).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::pki::Pki;
use common::*;
use serde_json::Value;

const TOKEN: &str = "platform-team-token-0123456789";
const BIN: &str = env!("CARGO_BIN_EXE_function-cluster-platform");

/// A host with the upload API on plain HTTP on loopback.
async fn upload_host() -> (tempfile::TempDir, tempfile::NamedTempFile, String, String) {
    upload_host_with(&["--upload-insecure"]).await
}

/// A host serving hostile 1.0.0, with the upload API and `extra` flags.
async fn upload_host_with(
    extra: &[&str],
) -> (tempfile::TempDir, tempfile::NamedTempFile, String, String) {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "hostile.wasm", &variant("1.0.0", &[], &[]));
    let token = token_file();
    let upload = format!("127.0.0.1:{}", free_port());
    let mut args = vec![
        "--insecure",
        "--no-watch",
        "--upload-address",
        &upload,
        "--upload-token-file",
        token.path().to_str().unwrap(),
        "--upload-max-mib",
        "1",
    ];
    args.extend(extra);
    let address = serve(dir.path(), &args).await;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(&upload).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (dir, token, address, upload)
}

fn token_file() -> tempfile::NamedTempFile {
    let token = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token.path(), format!("{TOKEN}\n")).unwrap();
    token
}

/// A TLS client trusting `pki`'s CA, presenting `identity` if given.
fn tls_client(pki: &Pki, identity: Option<(String, String)>) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// One request over TLS to `upload`; status 0 when TLS or HTTP fails.
async fn https(
    connector: &tokio_rustls::TlsConnector,
    upload: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, String) {
    let tcp = tokio::net::TcpStream::connect(upload).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    match connector.connect(name, tcp).await {
        Ok(tls) => http_over(tls, upload, method, path, Some(TOKEN), &[], body).await,
        Err(_) => (0, String::new()),
    }
}

#[tokio::test]
async fn uploads_need_the_token_and_then_install_list_serve_and_delete() {
    let (dir, _token, address, upload) = upload_host().await;

    assert_eq!(http(&upload, "GET", "/modules", None, b"").await.0, 401);
    assert_eq!(
        http(
            &upload,
            "GET",
            "/modules",
            Some("wrong-token-0123456789"),
            b""
        )
        .await
        .0,
        401
    );
    assert_eq!(
        http(
            &upload,
            "PUT",
            "/modules/hostile",
            None,
            &variant("2.0.0", &[], &[])
        )
        .await
        .0,
        401
    );

    let (status, body) = http(
        &upload,
        "PUT",
        "/modules/hostile",
        Some(TOKEN),
        &variant("2.0.0", &[], &[]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // Written to the modules directory, so a restart keeps it.
    let on_disk = std::fs::read(dir.path().join("hostile.wasm")).unwrap();
    assert_eq!(on_disk, variant("2.0.0", &[], &[]));

    let mut client = insecure_client(&address).await;
    assert_eq!(served(&mut client).await, Ok("2.0.0".into()));

    let (status, body) = http(&upload, "GET", "/modules", Some(TOKEN), b"").await;
    assert_eq!(status, 200);
    let listed: Value = serde_json::from_str(&body).unwrap();
    let module = &listed["modules"][0];
    assert_eq!(module["version"], "2.0.0");
    assert_eq!(module["file"], "hostile.wasm");
    assert_eq!(module["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(module["calls"], 1);
    assert!(module["loadedAt"].as_str().unwrap().contains('T'));

    let (status, _) = http(&upload, "DELETE", "/modules/hostile", Some(TOKEN), b"").await;
    assert_eq!(status, 204);
    assert!(!dir.path().join("hostile.wasm").exists());
    let (_, body) = http(&upload, "GET", "/modules", Some(TOKEN), b"").await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["modules"],
        serde_json::json!([])
    );
    assert_eq!(
        http(&upload, "DELETE", "/modules/hostile", Some(TOKEN), b"")
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn bad_uploads_are_refused_and_the_module_serving_stays() {
    let (dir, _token, address, upload) = upload_host().await;

    let (status, body) = http(
        &upload,
        "PUT",
        "/modules/hostile",
        Some(TOKEN),
        b"\0asm not really",
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("not a valid component"), "{body}");

    let oversized = vec![0u8; 2 << 20];
    assert_eq!(
        http(&upload, "PUT", "/modules/big", Some(TOKEN), &oversized)
            .await
            .0,
        413
    );

    let (status, body) = http(
        &upload,
        "PUT",
        "/modules/twin",
        Some(TOKEN),
        &variant("9.9.9", &[], &[]),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("both serve"), "{body}");
    assert!(!dir.path().join("twin.wasm").exists());

    assert_eq!(
        http(&upload, "PUT", "/modules/..%2Fescape", Some(TOKEN), b"x")
            .await
            .0,
        400
    );

    let mut client = insecure_client(&address).await;
    assert_eq!(served(&mut client).await, Ok("1.0.0".into()));
}

/// Without certificates the upload API is not served at all unless plain
/// HTTP is asked for, and plain HTTP only on a loopback address: the start
/// fails with the fix.
#[test]
fn plain_http_needs_the_flag_and_a_loopback_address() {
    let modules = tempfile::tempdir().unwrap();
    install(modules.path(), "hostile.wasm", &variant("1.0.0", &[], &[]));
    let token = token_file();
    let start = |address: &str, extra: &[&str]| {
        let mut child = std::process::Command::new(BIN)
            .args(["--insecure", "--metrics-address=", "--probe-address="])
            .args(["--address", &format!("127.0.0.1:{}", free_port())])
            .arg("--modules-dir")
            .arg(modules.path())
            .args(["--upload-address", address, "--upload-token-file"])
            .arg(token.path())
            .args(extra)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        for _ in 0..600 {
            if child.try_wait().unwrap().is_some() {
                let out = child.wait_with_output().unwrap();
                assert!(!out.status.success());
                return String::from_utf8_lossy(&out.stderr).to_string();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        child.kill().unwrap();
        panic!("the host served uploads on {address} with {extra:?}");
    };
    let loopback = format!("127.0.0.1:{}", free_port());
    let stderr = start(&loopback, &[]);
    assert!(
        stderr.contains("--upload-address needs --upload-tls-certs-dir"),
        "{stderr}"
    );
    let everywhere = format!("0.0.0.0:{}", free_port());
    let stderr = start(&everywhere, &["--upload-insecure"]);
    assert!(stderr.contains("loopback only"), "{stderr}");
}

/// With `--upload-tls-certs-dir` the API speaks TLS only: a client that
/// trusts the CA uploads, plain HTTP gets no answer. With a `ca.crt` in the
/// directory a client must also present a certificate that CA signed.
#[tokio::test]
async fn over_tls_uploads_are_served_and_a_ca_requires_client_certificates() {
    let pki = Pki::new();
    let server_only = tempfile::tempdir().unwrap();
    pki.certs_dir(server_only.path(), "127.0.0.1", false);
    let (dir, _token, address, upload) = upload_host_with(&[
        "--upload-tls-certs-dir",
        server_only.path().to_str().unwrap(),
    ])
    .await;
    let anonymous = tls_client(&pki, None);
    let (status, body) = https(
        &anonymous,
        &upload,
        "PUT",
        "/modules/hostile",
        &variant("2.0.0", &[], &[]),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        std::fs::read(dir.path().join("hostile.wasm")).unwrap(),
        variant("2.0.0", &[], &[])
    );
    let mut client = insecure_client(&address).await;
    assert_eq!(served(&mut client).await, Ok("2.0.0".into()));
    assert_eq!(
        http(&upload, "GET", "/modules", Some(TOKEN), b"").await.0,
        0
    );

    let mutual = tempfile::tempdir().unwrap();
    pki.certs_dir(mutual.path(), "127.0.0.1", true);
    let (_dir, _token, _address, upload) =
        upload_host_with(&["--upload-tls-certs-dir", mutual.path().to_str().unwrap()]).await;
    assert_eq!(
        https(&anonymous, &upload, "GET", "/modules", b"").await.0,
        0
    );
    let stranger = Pki::new();
    let outsider = tls_client(&pki, Some(stranger.issue("someone")));
    assert_eq!(https(&outsider, &upload, "GET", "/modules", b"").await.0, 0);
    let team = tls_client(&pki, Some(pki.issue("platform-team")));
    let (status, body) = https(&team, &upload, "GET", "/modules", b"").await;
    assert_eq!(status, 200, "{body}");
}

/// A connection that sends no request is closed after the idle timeout,
/// and one that stops sending mid-body gets 408 after the read timeout.
#[tokio::test]
async fn idle_and_stalled_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_dir, _token, _address, upload) = upload_host_with(&[
        "--upload-insecure",
        "--upload-idle-timeout",
        "1s",
        "--upload-read-timeout",
        "1s",
    ])
    .await;
    // Bounds the test, should the server never close.
    let bound = Duration::from_secs(60);

    let mut idle = tokio::net::TcpStream::connect(&upload).await.unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(bound, idle.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "an idle connection stayed open");

    let mut stalled = tokio::net::TcpStream::connect(&upload).await.unwrap();
    let head = format!(
        "PUT /modules/hostile HTTP/1.1\r\nHost: {upload}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 100000\r\n\r\n"
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(b"\0asm").await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(bound, stalled.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "a stalled upload was waited for");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("--upload-read-timeout"), "{answer}");
}

/// With `--cosign-key`, an upload is admitted only with its `cosign
/// sign-blob` signature in the `x-module-signature` header, and the
/// signature is stored beside the module so a restart admits it again.
#[tokio::test]
async fn with_cosign_keys_an_upload_needs_its_signature() {
    let keys = tempfile::tempdir().unwrap();
    let (secret, public) = openssl::key_pair(keys.path(), "team");
    let first = variant("1.0.0", &[], &[]);
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "hostile.wasm", &first);
    install(
        dir.path(),
        "hostile.wasm.sig",
        openssl::sign_blob(&secret, &first).as_bytes(),
    );
    let token = token_file();
    let upload = format!("127.0.0.1:{}", free_port());
    serve(
        dir.path(),
        &[
            "--insecure",
            "--no-watch",
            "--upload-insecure",
            "--upload-address",
            &upload,
            "--upload-token-file",
            token.path().to_str().unwrap(),
            "--cosign-key",
            public.to_str().unwrap(),
        ],
    )
    .await;
    let second = variant("2.0.0", &[], &[]);
    let put = |signature: Option<String>| {
        let upload = upload.clone();
        let second = second.clone();
        async move {
            let stream = tokio::net::TcpStream::connect(&upload).await.unwrap();
            let headers: Vec<(&str, &str)> = signature
                .as_deref()
                .map(|s| vec![("x-module-signature", s)])
                .unwrap_or_default();
            http_over(
                stream,
                &upload,
                "PUT",
                "/modules/hostile",
                Some(TOKEN),
                &headers,
                &second,
            )
            .await
        }
    };
    let (status, body) = put(None).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("unsigned"), "{body}");
    let (status, body) = put(Some(openssl::sign_blob(&secret, &first))).await;
    assert_eq!(status, 422, "{body}");
    let signature = openssl::sign_blob(&secret, &second);
    let (status, body) = put(Some(signature.clone())).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("hostile.wasm.sig")).unwrap(),
        signature
    );
}
