//! SIGHUP resolves every followed tag again at once, long before the next
//! poll. In a binary of its own: the signal goes to the whole test process.

mod common;

use std::time::{Duration, Instant};

use common::registry::LocalRegistry;
use common::*;

fn push(registry: &LocalRegistry, bytes: &[u8]) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_function-cluster-platform"))
        .arg("push")
        .arg(format!("oci://{}/test/hostile:live", registry.host))
        .arg(file.path())
        .args(["--insecure-registry", &registry.host])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn sighup_resolves_followed_tags_again() {
    let registry = LocalRegistry::start();
    push(&registry, &variant("1.0.0", &[], &[]));
    let empty = modules_dir(&[]);
    let source = format!("oci://{}/test/hostile:live", registry.host);
    let address = serve(
        empty.path(),
        &[
            "--insecure",
            "--module-source",
            &source,
            "--insecure-registry",
            &registry.host,
            "--module-poll",
            "10m",
        ],
    )
    .await;
    let mut client = insecure_client(&address).await;
    push(&registry, &variant("2.0.0", &[], &[]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rsp = client
        .run_function(hostile_request("gcp"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        served_version(&rsp),
        Ok("1.0.0".into()),
        "followed without a signal"
    );

    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let sent = Instant::now();
    loop {
        let rsp = client
            .run_function(hostile_request("gcp"))
            .await
            .unwrap()
            .into_inner();
        if served_version(&rsp) == Ok("2.0.0".into()) {
            break;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(10),
            "SIGHUP did not resolve the tag"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
