//! SIGHUP rescans the modules directory, also when watching is off. In a
//! binary of its own: the signal goes to the whole test process.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[tokio::test]
async fn sighup_reloads_the_modules() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "hostile.wasm", &variant("1.0.0", &[], &[]));
    let address = serve(
        dir.path(),
        &["--insecure", "--no-watch", "--module-settle", "20ms"],
    )
    .await;
    let mut client = insecure_client(&address).await;

    install(dir.path(), "hostile.wasm", &variant("2.0.0", &[], &[]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        served(&mut client).await,
        Ok("1.0.0".into()),
        "reloaded without a signal"
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
            "SIGHUP did not reload"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
