//! Replicas as a fleet: two host processes following the same tag move to
//! its new digest at their next poll, so they serve the same module within
//! one poll interval of the tag moving.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_function-cluster-platform");
const POLL: &str = "3s";

/// One replica: a host process with its own cache, probes and metrics.
struct Replica {
    child: Child,
    probes: String,
    metrics: String,
    _dirs: [tempfile::TempDir; 2],
}

impl Replica {
    fn start(source: &str, registry: &str) -> Self {
        let (modules, cache) = (modules_dir(&[]), tempfile::tempdir().unwrap());
        let probes = format!("127.0.0.1:{}", free_port());
        let metrics = format!("127.0.0.1:{}", free_port());
        let child = Command::new(BIN)
            .args([
                "--insecure",
                "--address",
                &format!("127.0.0.1:{}", free_port()),
            ])
            .args(["--probe-address", &probes, "--metrics-address", &metrics])
            .args(["--module-source", source, "--insecure-registry", registry])
            .args(["--module-poll", POLL])
            .arg("--modules-dir")
            .arg(modules.path())
            .arg("--cache-dir")
            .arg(cache.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self {
            child,
            probes,
            metrics,
            _dirs: [modules, cache],
        }
    }

    /// The sha256 of the module serving, once the probes answer.
    async fn serving(&self) -> Option<String> {
        let stream = tokio::net::TcpStream::connect(&self.probes).await.ok()?;
        let (status, body) =
            http_over(stream, &self.probes, "GET", "/modules", None, &[], b"").await;
        let listed: Value = serde_json::from_str(&body).ok().filter(|_| status == 200)?;
        listed["modules"][0]["sha256"].as_str().map(str::to_string)
    }

    /// How many times this replica's follower has resolved `source`.
    async fn checks(&self, source: &str) -> u64 {
        let (_, body) = http(&self.metrics, "GET", "/metrics", None, b"").await;
        let prefix = format!("function_module_source_checks_total{{source=\"{source}\"}} ");
        body.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .map_or(0, |n| n.trim().parse().unwrap())
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (bounded, so a broken follower fails rather than hangs) until
/// every replica serves `sha256`.
async fn until_all_serve(replicas: &[Replica], sha256: &str) {
    for _ in 0..1200 {
        let mut all = true;
        for replica in replicas {
            all &= replica.serving().await.as_deref() == Some(sha256);
        }
        if all {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the replicas never all served {sha256}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_following_a_tag_serve_its_new_digest_after_one_poll() {
    let registry = registry::start();
    let tag = "test/fleet:live";
    let source = format!("oci://{}/{tag}", registry.host);
    let first = variant("1.0.0", &[], &[]);
    registry.push(tag, &first);
    let replicas = [
        Replica::start(&source, &registry.host),
        Replica::start(&source, &registry.host),
    ];
    until_all_serve(&replicas, &hex::encode(Sha256::digest(&first))).await;

    let mut before = Vec::new();
    for replica in &replicas {
        before.push(replica.checks(&source).await);
    }
    let second = variant("2.0.0", &[], &[]);
    registry.push(tag, &second);
    until_all_serve(&replicas, &hex::encode(Sha256::digest(&second))).await;
    for (replica, before) in replicas.iter().zip(before) {
        let polls = replica.checks(&source).await - before;
        // One poll may have been under way as the tag moved; the next one,
        // at most one interval later, found the new digest.
        assert!(
            polls <= 2,
            "a replica took {polls} polls of {POLL} to serve the new digest"
        );
    }
}
