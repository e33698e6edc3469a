//! The module upload API: authenticated, validated like a dropped file,
//! written to the modules directory, bounded in size.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

const TOKEN: &str = "platform-team-token-0123456789";

async fn upload_host() -> (tempfile::TempDir, tempfile::NamedTempFile, String, String) {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "hostile.wasm", &variant("1.0.0", &[], &[]));
    let token = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token.path(), format!("{TOKEN}\n")).unwrap();
    let upload = format!("127.0.0.1:{}", free_port());
    let address = serve(
        dir.path(),
        &[
            "--insecure",
            "--no-watch",
            "--upload-address",
            &upload,
            "--upload-token-file",
            token.path().to_str().unwrap(),
            "--upload-max-mib",
            "1",
        ],
    )
    .await;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(&upload).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (dir, token, address, upload)
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
    let rsp = client
        .run_function(hostile_request("gcp"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(served_version(&rsp), Ok("2.0.0".into()));

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
    let rsp = client
        .run_function(hostile_request("gcp"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(served_version(&rsp), Ok("1.0.0".into()));
}
