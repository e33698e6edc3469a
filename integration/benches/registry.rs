//! A followed tag moving: the time from the tag naming a new digest to that
//! digest serving, over a real registry on loopback (Debian's
//! `docker-registry`). The host is woken by SIGHUP right after each push,
//! so the figure is resolve + pull + verify + compile + self-test + swap;
//! without SIGHUP a replica also waits up to one `--module-poll`.
//!
//! - cold: a digest never seen (pulled, and compiled on arrival);
//! - warm: the tag moved back to a digest pulled before (the OCI blob cache
//!   and the compiled-module cache both hold it).
//!
//! `cargo bench -p platform-integration --bench registry` measures; without
//! `--bench` it runs one round to prove it still works.

use std::process::Command;
use std::time::{Duration, Instant};

use platform_integration::*;
use sha2::Digest;
use test_support::registry::LocalRegistry;

const TAG: &str = "platform/cluster:live";

/// Points the tag at `bytes`, wakes the host, and waits until it serves
/// them; returns the time from the push completing to serving.
async fn move_tag(
    registry: &LocalRegistry,
    host: &HostProcess,
    probes: &str,
    bytes: &[u8],
) -> Duration {
    let sha256 = hex::encode(sha2::Sha256::digest(bytes));
    registry.push(TAG, bytes);
    let moved = Instant::now();
    let woken = Command::new("kill")
        .args(["-HUP", &host.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(woken.success());
    while serving_sha256(probes, None).await != sha256 {
        assert!(
            moved.elapsed() < Duration::from_secs(120),
            "the new digest never served"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    moved.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rounds = if full { 5 } else { 1 };
    let registry = LocalRegistry::start(&host_binary());
    let cluster = std::fs::read(wasm("cluster_all.wasm")).expect("wasm");
    let home = with_custom_section(&cluster, "home");
    registry.push(TAG, &home);

    let modules = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    let probes = format!("127.0.0.1:{}", free_port());
    let source = format!("oci://{}/{TAG}", registry.host);
    let host = HostProcess::spawn(
        modules.path(),
        &[
            "--cache-dir",
            cache.path().to_str().unwrap(),
            "--module-source",
            &source,
            "--insecure-registry",
            &registry.host,
            // Only SIGHUP moves the host, so no poll lands inside a sample.
            "--module-poll",
            "10m",
            "--probe-address",
            &probes,
        ],
    );
    host.client().await;

    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let fresh = with_custom_section(&cluster, &format!("round-{round}"));
        cold.push(move_tag(&registry, &host, &probes, &fresh).await);
        warm.push(move_tag(&registry, &host, &probes, &home).await);
    }
    let (cold, warm) = (stats(cold), stats(warm));
    println!(
        "## Followed tag moved → new digest serving (cluster module, {:.1} MB, SIGHUP after the push, {rounds} rounds)\n",
        cluster.len() as f64 / 1e6
    );
    println!("| cache | p50 | p99 |\n|---|---|---|");
    for (name, s) in [
        ("cold (pulled, compiled)", &cold),
        ("warm (cached, precompiled)", &warm),
    ] {
        println!(
            "| {name} | {:.0} ms | {:.0} ms |",
            s.p50.as_secs_f64() * 1e3,
            s.p99.as_secs_f64() * 1e3
        );
    }
}
