//! Hot swap: modules replaced, added and removed while serving; refused
//! modules never replace the one serving.

mod common;

use std::collections::BTreeMap;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use fnhost::grpc::service::Dispatcher;
use fnhost::metrics::{Metrics, RejectLabels};
use fnhost::modules::admission::Admission;
use fnhost::modules::cosign::CosignKeys;
use fnhost::modules::reload::Reloader;
use fnhost::wasm::limits::Limits;
use fnhost::wasm::runtime::Runtime;
use function_sdk_rust::proto::v1::Severity;

struct Host {
    dir: tempfile::TempDir,
    dispatcher: Arc<Dispatcher>,
    reloader: Reloader,
    metrics: Metrics,
}

/// An in-process host over `modules`, reloading without a settle delay.
fn host(modules: &[(&str, Vec<u8>)]) -> Host {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in modules {
        install(dir.path(), name, bytes);
    }
    host_in(dir, None)
}

fn host_in(dir: tempfile::TempDir, keys: Option<CosignKeys>) -> Host {
    host_settling(dir, keys, Duration::ZERO)
}

fn host_settling(dir: tempfile::TempDir, keys: Option<CosignKeys>, settle: Duration) -> Host {
    let runtime = Arc::new(Runtime::new(Limits::default(), Some(&cache_dir())).unwrap());
    let admission = Arc::new(Admission::new(runtime.clone(), keys));
    let registry = admission.load_dir(dir.path()).unwrap();
    let metrics = Metrics::unregistered();
    let dispatcher = Arc::new(Dispatcher::new(runtime, registry, metrics.clone()));
    let reloader = Reloader::new(
        admission,
        dispatcher.clone(),
        dir.path(),
        settle,
        metrics.clone(),
    );
    Host {
        dir,
        dispatcher,
        reloader,
        metrics,
    }
}

/// The composite labels of a claim for `cloud`.
fn on(cloud: &str) -> std::collections::BTreeMap<String, String> {
    [("cloud".to_string(), cloud.to_string())].into()
}

fn digest_for(host: &Host, cloud: &str) -> String {
    host.dispatcher
        .registry()
        .route("hostile", &on(cloud))
        .unwrap()
        .digest
        .clone()
}

#[tokio::test]
async fn a_per_cloud_swap_leaves_the_other_clouds_alone_and_a_new_cloud_routes() {
    let host = host(&[
        ("general.wasm", variant("1.0.0", &[], &[])),
        ("aws.wasm", variant("aws-1", &["aws"], &[])),
    ]);
    let gcp_before = digest_for(&host, "gcp");
    let azure_before = digest_for(&host, "azure");

    install(
        host.dir.path(),
        "aws.wasm",
        &variant("aws-2", &["aws"], &[]),
    );
    let report = host.reloader.reload();
    assert_eq!(report.admitted.len(), 1, "{report:?}");
    assert_eq!(
        host.dispatcher
            .registry()
            .route("hostile", &on("aws"))
            .unwrap()
            .info
            .version,
        "aws-2"
    );
    assert_eq!(digest_for(&host, "gcp"), gcp_before);
    assert_eq!(digest_for(&host, "azure"), azure_before);
    assert_eq!(
        served_version(&host.dispatcher.run(hostile_request("aws")).await),
        Ok("aws-2".into())
    );
    assert_eq!(
        served_version(&host.dispatcher.run(hostile_request("gcp")).await),
        Ok("1.0.0".into())
    );

    // A cloud the host has never heard of.
    install(
        host.dir.path(),
        "digitalocean.wasm",
        &variant("do-1", &["digitalocean"], &[]),
    );
    assert_eq!(host.reloader.reload().admitted.len(), 1);
    assert_eq!(
        served_version(&host.dispatcher.run(hostile_request("digitalocean")).await),
        Ok("do-1".into())
    );
}

#[tokio::test]
async fn refused_modules_never_replace_the_one_serving() {
    let host = host(&[("hostile.wasm", variant("1.0.0", &[], &[]))]);
    let serving = digest_for(&host, "gcp");
    let good = variant("2.0.0", &[], &[]);
    let mut corrupt = b"\0asm\x0d\x00\x01\x00".to_vec();
    corrupt.extend(std::iter::repeat_n(0xAB, 4096));
    let other_world = wat::parse_str("(component)").unwrap();

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a half-written copy",
            good[..good.len() / 2].to_vec(),
            "not a valid component",
        ),
        ("corrupt wasm", corrupt, "not a valid component"),
        (
            "not wasm at all",
            b"#!/bin/sh\necho hi\n".to_vec(),
            "not a WebAssembly binary",
        ),
        (
            "another WIT world",
            other_world,
            "does not export the platform:function/composition interface",
        ),
        (
            "a trapping describe()",
            variant("6.6.6", &[], &["trap-describe"]),
            "describe() trapped",
        ),
        (
            "a trapping self-test",
            variant("6.6.6", &[], &["trap-run"]),
            "self-test failed",
        ),
    ];
    for (what, bytes, reason) in cases {
        install(host.dir.path(), "hostile.wasm", &bytes);
        let report = host.reloader.reload();
        assert!(report.admitted.is_empty(), "{what} was admitted");
        let refused = &report
            .rejected
            .first()
            .unwrap_or_else(|| panic!("{what} was not refused"))
            .1;
        assert!(refused.contains(reason), "{what}: {refused}");
        assert_eq!(
            digest_for(&host, "gcp"),
            serving,
            "{what} replaced the module serving"
        );
        assert_eq!(
            served_version(&host.dispatcher.run(hostile_request("gcp")).await),
            Ok("1.0.0".into()),
            "{what}"
        );
    }

    // Read and release at once: the family's lock guards the counter.
    let refusals = host
        .metrics
        .rejected
        .get_or_create(&RejectLabels {
            source: "hostile.wasm".into(),
        })
        .get();
    assert_eq!(refusals, 6, "every refusal is counted");

    // A second file claiming the same route is refused alone.
    install(host.dir.path(), "hostile.wasm", &variant("1.0.0", &[], &[]));
    install(host.dir.path(), "twin.wasm", &variant("9.9.9", &[], &[]));
    let report = host.reloader.reload();
    assert!(
        report
            .rejected
            .iter()
            .any(|(p, r)| p.to_string().ends_with("twin.wasm") && r.contains("both serve")),
        "{report:?}"
    );
    assert_eq!(digest_for(&host, "gcp"), serving);
}

#[tokio::test]
async fn a_removed_module_stops_serving() {
    let host = host(&[
        ("hostile.wasm", variant("1.0.0", &[], &[])),
        (
            "cluster_all.wasm",
            std::fs::read(wasm(CLUSTER_WASM)).unwrap(),
        ),
    ]);
    std::fs::remove_file(host.dir.path().join("hostile.wasm")).unwrap();
    let report = host.reloader.reload();
    assert_eq!(report.removed.len(), 1, "{report:?}");
    let message = served_version(&host.dispatcher.run(hostile_request("gcp")).await).unwrap_err();
    assert!(
        message.contains("no loaded module serves input module \"hostile\""),
        "{message}"
    );
}

/// Many concurrent streams call the served host while the module file is
/// replaced several times, bad versions included. No call may fail, and
/// every answer must come from a version that was admitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swap_under_load_fails_no_call() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "hostile.wasm", &variant("1.0.0", &[], &[]));
    let address = serve(dir.path(), &["--insecure", "--module-settle", "50ms"]).await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut streams = Vec::new();
    for _ in 0..16 {
        let (address, stop) = (address.clone(), stop.clone());
        streams.push(tokio::spawn(async move {
            let mut client = insecure_client(&address).await;
            let mut seen: BTreeMap<String, usize> = BTreeMap::new();
            let mut failures = Vec::new();
            // Bounded: the test stops the streams, and each makes 20,000 calls at most.
            for _ in 0..20_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                match client.run_function(hostile_request("gcp")).await {
                    Ok(rsp) => match served_version(&rsp.into_inner()) {
                        Ok(version) => *seen.entry(version).or_default() += 1,
                        Err(e) => failures.push(e),
                    },
                    Err(status) => failures.push(status.to_string()),
                }
            }
            (seen, failures)
        }));
    }

    let mut probe = insecure_client(&address).await;
    let mut swap_times = Vec::new();
    let plan: Vec<(Vec<u8>, Option<&str>)> = vec![
        (variant("2.0.0", &[], &[]), Some("2.0.0")),
        (variant("6.6.6", &[], &["trap-run"]), None),
        (variant("3.0.0", &[], &[]), Some("3.0.0")),
        (b"\0asm garbage".to_vec(), None),
        (variant("4.0.0", &[], &[]), Some("4.0.0")),
    ];
    for (bytes, expected) in plan {
        let landed = Instant::now();
        install(dir.path(), "hostile.wasm", &bytes);
        match expected {
            Some(version) => loop {
                let rsp = probe
                    .run_function(hostile_request("gcp"))
                    .await
                    .unwrap()
                    .into_inner();
                if served_version(&rsp).as_deref() == Ok(version) {
                    swap_times.push(landed.elapsed());
                    break;
                }
                assert!(
                    landed.elapsed() < Duration::from_secs(20),
                    "{version} never served"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            },
            // Give the refused module time to be looked at (and refused).
            None => tokio::time::sleep(Duration::from_millis(600)).await,
        }
    }
    stop.store(true, Ordering::Relaxed);

    let mut total: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for stream in streams {
        let (seen, failed) = stream.await.unwrap();
        for (version, n) in seen {
            *total.entry(version).or_default() += n;
        }
        failures.extend(failed);
    }
    let calls: usize = total.values().sum::<usize>() + failures.len();
    println!(
        "swap under load: {calls} calls, {} failed, by version {total:?}, file-to-serving {swap_times:?}",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed calls, first: {}",
        failures.len(),
        failures[0]
    );
    assert!(!total.contains_key("6.6.6"), "the refused module served");
    let admitted = ["1.0.0", "2.0.0", "3.0.0", "4.0.0"];
    assert!(
        total.keys().all(|v| admitted.contains(&v.as_str())),
        "{total:?}"
    );
    assert!(total.contains_key("4.0.0"));
}

#[tokio::test]
/// With `--cosign-key`, a module file is admitted only with the signature
/// `cosign sign-blob` writes beside it (here made by openssl), by that key.
async fn with_cosign_keys_only_files_signed_by_one_are_admitted() {
    let keys_dir = tempfile::tempdir().unwrap();
    let (secret, public) = openssl::key_pair(keys_dir.path(), "team");
    let (other, _) = openssl::key_pair(keys_dir.path(), "other");
    let keys = CosignKeys::load(&[public]).unwrap();

    let v1 = variant("1.0.0", &[], &[]);
    let signed = |bytes: &[u8]| openssl::sign_blob(&secret, bytes);
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "hostile.wasm", &v1);
    install(dir.path(), "hostile.wasm.sig", signed(&v1).as_bytes());
    let host = host_in(dir, keys);
    let serving = digest_for(&host, "gcp");

    // Unsigned: the old signature does not cover the new bytes.
    let v2 = variant("2.0.0", &[], &[]);
    install(host.dir.path(), "hostile.wasm", &v2);
    let report = host.reloader.reload();
    assert!(
        report.rejected[0].1.contains("changed after signing"),
        "{report:?}"
    );
    assert_eq!(digest_for(&host, "gcp"), serving);

    // Tampered after signing.
    let mut tampered = v2.clone();
    install(host.dir.path(), "hostile.wasm.sig", signed(&v2).as_bytes());
    let at = tampered.len() - 1;
    tampered[at] ^= 1;
    install(host.dir.path(), "hostile.wasm", &tampered);
    assert!(!host.reloader.reload().rejected.is_empty());
    assert_eq!(digest_for(&host, "gcp"), serving);

    // No signature file at all.
    std::fs::remove_file(host.dir.path().join("hostile.wasm.sig")).unwrap();
    install(host.dir.path(), "hostile.wasm", &v2);
    let report = host.reloader.reload();
    assert!(report.rejected[0].1.contains("unsigned"), "{report:?}");

    // Signed by a key that is not given.
    install(
        host.dir.path(),
        "hostile.wasm.sig",
        openssl::sign_blob(&other, &v2).as_bytes(),
    );
    let report = host.reloader.reload();
    assert!(
        report.rejected[0].1.contains("not by a --cosign-key"),
        "{report:?}"
    );
    assert_eq!(digest_for(&host, "gcp"), serving);

    // Signed by the given key: admitted.
    install(host.dir.path(), "hostile.wasm.sig", signed(&v2).as_bytes());
    install(host.dir.path(), "hostile.wasm", &v2);
    assert_eq!(host.reloader.reload().admitted.len(), 1);
    assert_eq!(
        served_version(&host.dispatcher.run(hostile_request("gcp")).await),
        Ok("2.0.0".into())
    );
}

#[tokio::test]
async fn a_file_still_being_written_is_not_read_until_it_settles() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "hostile.wasm", &variant("1.0.0", &[], &[]));
    // Old enough to load at start.
    std::thread::sleep(Duration::from_millis(300));
    let host = host_settling(dir, None, Duration::from_millis(250));

    install(host.dir.path(), "hostile.wasm", &variant("2.0.0", &[], &[]));
    let report = host.reloader.reload();
    assert_eq!(report.deferred.len(), 1, "{report:?}");
    assert!(
        report.admitted.is_empty() && report.rejected.is_empty(),
        "{report:?}"
    );
    assert_eq!(
        served_version(&host.dispatcher.run(hostile_request("gcp")).await),
        Ok("1.0.0".into())
    );

    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(host.reloader.reload().admitted.len(), 1);
    assert_eq!(
        served_version(&host.dispatcher.run(hostile_request("gcp")).await),
        Ok("2.0.0".into())
    );
}

#[tokio::test]
async fn a_file_dated_in_the_future_is_not_left_settling_forever() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "hostile.wasm", &variant("1.0.0", &[], &[]));
    let host = host_settling(dir, None, Duration::from_secs(60));

    let path = host.dir.path().join("hostile.wasm");
    install(host.dir.path(), "hostile.wasm", &variant("2.0.0", &[], &[]));
    let future = std::time::SystemTime::now() + Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(future)
        .unwrap();
    let report = host.reloader.reload();
    assert_eq!(report.admitted.len(), 1, "{report:?}");
    assert_eq!(
        served_version(&host.dispatcher.run(hostile_request("gcp")).await),
        Ok("2.0.0".into())
    );
}

/// The platform as one module per cloud: replacing GCP's while calls for
/// every cloud are in flight fails no call, GCP moves to the new digest,
/// and the AWS and Azure modules keep the digests they had.
#[tokio::test(flavor = "multi_thread")]
async fn swapping_one_clouds_module_under_load_leaves_the_others_serving() {
    let clouds = ["gcp", "aws", "azure"];
    let modules: Vec<(String, Vec<u8>)> = clouds
        .iter()
        .map(|c| (cloud_wasm(c), std::fs::read(wasm(&cloud_wasm(c))).unwrap()))
        .collect();
    let host = host(
        &modules
            .iter()
            .map(|(name, bytes)| (name.as_str(), bytes.clone()))
            .collect::<Vec<_>>(),
    );
    let cluster_digest = |host: &Host, cloud: &str| {
        host.dispatcher
            .registry()
            .route("cluster", &on(cloud))
            .unwrap()
            .digest
            .clone()
    };
    let before: Vec<String> = clouds.iter().map(|c| cluster_digest(&host, c)).collect();

    let stop = Arc::new(AtomicBool::new(false));
    let mut streams = Vec::new();
    for (i, cloud) in clouds.iter().cycle().take(6).enumerate() {
        let (dispatcher, stop) = (host.dispatcher.clone(), stop.clone());
        let request = example_request(cloud, &format!("{cloud}-{i}"));
        streams.push(tokio::spawn(async move {
            let (mut calls, mut failures) = (0usize, Vec::new());
            // Bounded: the test stops the streams.
            for _ in 0..2_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let rsp = dispatcher.run(request.clone()).await;
                calls += 1;
                let fatal = rsp
                    .results
                    .iter()
                    .find(|r| r.severity == Severity::Fatal as i32);
                let composed = rsp.desired.map_or(0, |d| d.resources.len());
                if let Some(f) = fatal {
                    failures.push(f.message.clone());
                } else if composed < 20 {
                    failures.push(format!("only {composed} resources"));
                }
            }
            (calls, failures)
        }));
    }

    let (name, bytes) = &modules[0];
    install(
        host.dir.path(),
        name,
        &test_support::with_custom_section(bytes, "gcp-2"),
    );
    let report = host.reloader.reload();
    assert_eq!(report.admitted.len(), 1, "{report:?}");
    // Calls keep flowing on the new module a little longer.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);

    let (mut calls, mut failures) = (0, Vec::new());
    for stream in streams {
        let (n, failed) = stream.await.unwrap();
        calls += n;
        failures.extend(failed);
    }
    assert!(calls >= 6, "only {calls} calls");
    assert!(
        failures.is_empty(),
        "{} of {calls} calls failed, first: {}",
        failures.len(),
        failures[0]
    );
    let after: Vec<String> = clouds.iter().map(|c| cluster_digest(&host, c)).collect();
    assert_ne!(after[0], before[0], "GCP's module was not replaced");
    assert_eq!(after[1..], before[1..], "another cloud's module changed");
}
