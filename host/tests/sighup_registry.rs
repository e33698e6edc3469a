//! SIGHUP resolves every followed tag again at once, long before the next
//! poll. In a binary of its own: the signal goes to the whole test process.

mod common;

use std::time::Duration;

use common::*;

#[tokio::test]
async fn sighup_resolves_followed_tags_again() {
    let registry = registry::start();
    registry.push("test/hostile:live", &variant("1.0.0", &[], &[]));
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
    registry.push("test/hostile:live", &variant("2.0.0", &[], &[]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        served(&mut client).await,
        Ok("1.0.0".into()),
        "followed without a signal"
    );

    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for_version(&mut client, "2.0.0").await;
}
