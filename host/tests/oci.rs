//! Modules from an OCI registry: a real registry on loopback (Debian's
//! `docker-registry`), `push`, a module pinned by digest, a followed tag
//! moving while calls are in flight, a blob that does not match its digest,
//! and a registry that goes down and comes back.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::registry::LocalRegistry;
use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_function-cluster-platform");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// `compile` with an empty modules directory, `cache` and one module
/// `source`, plus `extra` flags: the one-shot load of a registry module.
fn compile(cache: &Path, source: &str, extra: &[&str]) -> Output {
    let empty = modules_dir(&[]);
    let mut args = vec![
        "compile".to_string(),
        "--modules-dir".into(),
        empty.path().display().to_string(),
        "--cache-dir".into(),
        cache.display().to_string(),
        "--module-source".into(),
        source.to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Command::new(BIN).args(&args).output().unwrap()
}

fn digest_of(pinned: &str) -> &str {
    pinned.rsplit_once('@').unwrap().1
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pushed_module_is_a_wasm_artifact_served_by_digest() {
    let registry = registry::start();
    let module = wasm(CLUSTER_WASM);
    let pinned = registry.push_file("platform/cluster:v1", &module);
    assert!(
        pinned.starts_with(&format!("oci://{}/platform/cluster@sha256:", registry.host)),
        "{pinned}"
    );

    // The registry holds the CNCF Wasm artifact layout, read from its own
    // storage rather than through this project's client.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(registry.blob(digest_of(&pinned))).unwrap()).unwrap();
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["mediaType"], "application/wasm");
    let bytes = std::fs::read(&module).unwrap();
    assert_eq!(
        layers[0]["digest"],
        format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
    );

    // A host with an empty modules directory serves it.
    let empty = modules_dir(&[]);
    let address = serve(
        empty.path(),
        &[
            "--insecure",
            "--module-source",
            &pinned,
            "--insecure-registry",
            &registry.host,
        ],
    )
    .await;
    let mut client = insecure_client(&address).await;
    let rsp = client
        .run_function(cluster_request("oci"))
        .await
        .unwrap()
        .into_inner();
    assert!(
        rsp.results
            .iter()
            .all(|r| r.severity != function_sdk_rust::proto::v1::Severity::Fatal as i32),
        "{:?}",
        rsp.results
    );
    assert!(rsp.desired.unwrap().resources.len() > 20);
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_refused() {
    let registry = registry::start();
    let pinned = registry.push("test/hostile:v1", &variant("1.0.0", &[], &[]));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(registry.blob(digest_of(&pinned))).unwrap()).unwrap();
    let layer = registry.blob(manifest["layers"][0]["digest"].as_str().unwrap());
    let mut bytes = std::fs::read(&layer).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&layer, bytes).unwrap();

    let cache = tempfile::tempdir().unwrap();
    let out = compile(
        cache.path(),
        &pinned,
        &["--insecure-registry", &registry.host],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a tampered module was compiled");
    assert!(stderr.contains("module sources not loaded"), "{stderr}");
    assert!(stderr.to_lowercase().contains("digest"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_followed_tag_moves_under_load_and_survives_the_registry_going_away() {
    let mut registry = registry::start();
    let tag = format!("oci://{}/test/hostile:live", registry.host);
    registry.push("test/hostile:live", &variant("1.0.0", &[], &[]));
    let empty = modules_dir(&[]);
    let address = serve(
        empty.path(),
        &[
            "--insecure",
            "--module-source",
            &tag,
            "--insecure-registry",
            &registry.host,
            "--module-poll",
            "200ms",
        ],
    )
    .await;
    let mut client = insecure_client(&address).await;
    assert_eq!(served(&mut client).await, Ok("1.0.0".into()));

    // Calls keep flowing while the tag moves twice.
    let done = Arc::new(AtomicBool::new(false));
    let load = {
        let done = done.clone();
        let mut client = client.clone();
        tokio::spawn(async move {
            let mut answers = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let rsp = client.run_function(hostile_request("gcp")).await;
                answers.push(
                    rsp.map_err(|s| s.to_string())
                        .and_then(|r| served_version(&r.into_inner())),
                );
            }
            answers
        })
    };
    for next in ["2.0.0", "3.0.0"] {
        registry.push("test/hostile:live", &variant(next, &[], &[]));
        wait_for_version(&mut client, next).await;
    }
    done.store(true, Ordering::Relaxed);
    let answers = load.await.unwrap();
    assert!(answers.len() > 10, "only {} calls", answers.len());
    for answer in &answers {
        let version = answer
            .as_ref()
            .unwrap_or_else(|e| panic!("a call failed: {e}"));
        assert!(
            ["1.0.0", "2.0.0", "3.0.0"].contains(&version.as_str()),
            "{version}"
        );
    }

    // The registry goes away: the module keeps serving through failed polls.
    registry.stop();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(served(&mut client).await, Ok("3.0.0".into()));
    // Back, with a new digest under the tag: it is picked up.
    registry.resume();
    registry.push("test/hostile:live", &variant("4.0.0", &[], &[]));
    wait_for_version(&mut client, "4.0.0").await;
}

/// `/readyz` holds while a source has no module admitted (its registry is
/// down at start), `/livez` answers meanwhile, and `/modules` then shows
/// where the module came from and its digest.
#[tokio::test(flavor = "multi_thread")]
async fn readiness_waits_for_every_source_and_modules_shows_where_each_came_from() {
    let mut registry = registry::start();
    // A digest no earlier run has cached, so the source needs the registry.
    let unique = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let bytes = variant(&format!("ready-{unique}"), &[], &[]);
    let pinned = registry.push("test/readiness:v1", &bytes);
    registry.stop();
    let probes = format!("127.0.0.1:{}", free_port());
    let empty = modules_dir(&[]);
    serve(
        empty.path(),
        &[
            "--insecure",
            "--module-source",
            &pinned,
            "--insecure-registry",
            &registry.host,
            "--module-poll",
            "200ms",
            &format!("--probe-address={probes}"),
        ],
    )
    .await;
    let (status, body) = http(&probes, "GET", "/readyz", None, b"").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(&pinned), "{body}");
    assert_eq!(http(&probes, "GET", "/livez", None, b"").await.0, 200);

    registry.resume();
    let mut ready = false;
    for _ in 0..100 {
        if http(&probes, "GET", "/readyz", None, b"").await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "never ready once the registry was back");
    let (status, body) = http(&probes, "GET", "/modules", None, b"").await;
    assert_eq!(status, 200);
    let listed: Value = serde_json::from_str(&body).unwrap();
    let module = &listed["modules"][0];
    assert_eq!(module["source"], pinned.as_str());
    assert_eq!(module["sha256"], hex::encode(Sha256::digest(&bytes)));
}

/// What a digest names never changes: once pulled, a pinned module loads
/// from the cache with its registry down, as a restarting replica does.
#[test]
fn a_pinned_module_once_pulled_loads_without_its_registry() {
    let mut registry = registry::start();
    let pinned = registry.push("test/cached:v1", &variant("1.0.0", &[], &[]));
    let cache = tempfile::tempdir().unwrap();
    let compile = |registry: &LocalRegistry| {
        compile(
            cache.path(),
            &pinned,
            &["--insecure-registry", &registry.host],
        )
    };
    let first = compile(&registry);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    registry.stop();
    let again = compile(&registry);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("compiled hostile-guest@1.0.0"));
}

/// A registry behind HTTPS with a private CA and basic auth: pushed to and
/// pulled from with `--registry-ca` and the credentials of a Docker config
/// (an image pull secret's `.dockerconfigjson`); without either, refused.
#[test]
fn a_private_registry_is_reached_with_its_ca_and_a_docker_config() {
    let pki = common::pki::Pki::new();
    let ca_pem = pki.ca_pem.clone();
    let secured = common::registry::Secured {
        certificate: pki.issue("127.0.0.1"),
        user: ("robot".into(), "s3cret-pass".into()),
    };
    let registry = registry::start_with(&secured);

    let files = tempfile::tempdir().unwrap();
    let ca_file = files.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "robot:s3cret-pass",
    );
    let config = files.path().join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            registry.host
        ),
    )
    .unwrap();
    let (ca_file, config) = (ca_file.display().to_string(), config.display().to_string());
    let module = wasm(HOSTILE_WASM).display().to_string();

    let out = run(&[
        "push",
        &format!("oci://{}/private/hostile:v1", registry.host),
        &module,
        "--registry-ca",
        &ca_file,
        "--registry-config",
        &config,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pinned = String::from_utf8(out.stdout).unwrap().trim().to_string();

    // A fresh cache each time, so every load asks the registry.
    let compile = |extra: &[&str]| compile(tempfile::tempdir().unwrap().path(), &pinned, extra);
    let both = compile(&["--registry-ca", &ca_file, "--registry-config", &config]);
    assert!(
        both.status.success(),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );
    for (what, extra) in [
        (
            "without credentials",
            vec!["--registry-ca", ca_file.as_str()],
        ),
        ("without the CA", vec!["--registry-config", config.as_str()]),
    ] {
        let out = compile(&extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: loaded");
        assert!(
            stderr.contains("module sources not loaded"),
            "{what}: {stderr}"
        );
    }
}

/// Signs the manifest `digest` of `repository` as `cosign sign` does, with
/// nothing of this project's code: a simple-signing payload naming the
/// digest, its SHA-256 signed by `openssl` with `key`, stored as the layer
/// of the `sha256-<hex>.sig` tag with cosign's signature annotation.
async fn sign_like_cosign(registry: &LocalRegistry, repository: &str, digest: &str, key: &Path) {
    use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
    let payload = serde_json::to_vec(&serde_json::json!({
        "critical": {
            "identity": {"docker-reference": format!("{}/{repository}", registry.host)},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": null,
    }))
    .unwrap();
    let signature = openssl::sign_blob(key, &payload);
    let layer = ImageLayer::new(
        payload,
        "application/vnd.dev.cosign.simplesigning.v1+json".to_string(),
        Some([("dev.cosignproject.cosign/signature".to_string(), signature)].into()),
    );
    let config = Config::oci_v1(
        br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec(),
        None,
    );
    let tag = format!("sha256-{}.sig", digest.strip_prefix("sha256:").unwrap());
    let reference: oci_client::Reference = format!("{}/{repository}:{tag}", registry.host)
        .parse()
        .unwrap();
    let client = oci_client::Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    });
    client
        .push(
            &reference,
            &[layer],
            config,
            &oci_client::secrets::RegistryAuth::Anonymous,
            None,
        )
        .await
        .unwrap();
}

/// With `--cosign-key`, a followed tag moves only to a digest signed by
/// that key: an unsigned digest and one signed by another key are refused
/// while the signed module keeps serving, and the signature, once made,
/// lets the new digest in.
#[tokio::test(flavor = "multi_thread")]
async fn only_modules_signed_the_way_cosign_signs_by_a_given_key_are_admitted() {
    let registry = registry::start();
    let keys = tempfile::tempdir().unwrap();
    let (good, good_public) = openssl::key_pair(keys.path(), "good");
    let (other, _) = openssl::key_pair(keys.path(), "other");
    let repository = "test/signed";
    let first = registry.push(&format!("{repository}:live"), &variant("1.0.0", &[], &[]));
    sign_like_cosign(&registry, repository, digest_of(&first), &good).await;

    let empty = modules_dir(&[]);
    let source = format!("oci://{}/{repository}:live", registry.host);
    let address = serve(
        empty.path(),
        &[
            "--insecure",
            "--module-source",
            &source,
            "--insecure-registry",
            &registry.host,
            "--module-poll",
            "200ms",
            "--cosign-key",
            good_public.to_str().unwrap(),
        ],
    )
    .await;
    let mut client = insecure_client(&address).await;
    wait_for_version(&mut client, "1.0.0").await;

    let second = registry.push(&format!("{repository}:live"), &variant("2.0.0", &[], &[]));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        served(&mut client).await,
        Ok("1.0.0".into()),
        "an unsigned module was admitted"
    );

    sign_like_cosign(&registry, repository, digest_of(&second), &other).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        served(&mut client).await,
        Ok("1.0.0".into()),
        "a module signed by another key was admitted"
    );

    sign_like_cosign(&registry, repository, digest_of(&second), &good).await;
    wait_for_version(&mut client, "2.0.0").await;
}

/// `push --key` signs as `cosign sign` does: `openssl` verifies the
/// signature it stored against the key's public half, and a host with that
/// public key as `--cosign-key` admits the module.
#[test]
fn push_signs_the_way_cosign_does_and_openssl_verifies_it() {
    let registry = registry::start();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = openssl::key_pair(keys.path(), "signer");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), variant("1.0.0", &[], &[])).unwrap();
    let out = run(&[
        "push",
        &format!("oci://{}/test/pushed:v1", registry.host),
        file.path().to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--insecure-registry",
        &registry.host,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pinned = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let digest = digest_of(&pinned);

    // Read the signature back from the registry's own storage.
    let link = registry.storage().join(format!(
        "data/docker/registry/v2/repositories/test/pushed/_manifests/tags/sha256-{}.sig/current/link",
        digest.strip_prefix("sha256:").unwrap()
    ));
    let signature_manifest = std::fs::read_to_string(&link).unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(registry.blob(signature_manifest.trim())).unwrap())
            .unwrap();
    let layer = &manifest["layers"][0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    let payload = std::fs::read(registry.blob(layer["digest"].as_str().unwrap())).unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        claims["critical"]["image"]["docker-manifest-digest"],
        digest
    );
    assert_eq!(
        claims["critical"]["type"],
        "cosign container image signature"
    );
    let signature = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        layer["annotations"]["dev.cosignproject.cosign/signature"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(
        openssl::verifies(&public, &signature, &payload),
        "openssl does not verify the signature push stored"
    );

    let cache = tempfile::tempdir().unwrap();
    let compiled = compile(
        cache.path(),
        &pinned,
        &[
            "--insecure-registry",
            &registry.host,
            "--cosign-key",
            public.to_str().unwrap(),
        ],
    );
    assert!(
        compiled.status.success(),
        "{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
}

/// The value of the counter `name` for `source` on a metrics endpoint.
async fn counter(metrics: &str, name: &str, source: &str) -> u64 {
    let (_, body) = http(metrics, "GET", "/metrics", None, b"").await;
    let prefix = format!("{name}{{source=\"{source}\"}} ");
    body.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// A replica restarting while its registry is down serves the digest its
/// followed tag had admitted last, from the cache, and is ready: even with
/// `--cosign-key`, since the signature was verified when it was admitted.
/// Once the registry answers, the signature is checked again (here it was
/// removed, so every check fails and is counted), and the tag is followed
/// to its next signed digest.
#[tokio::test(flavor = "multi_thread")]
async fn a_restart_with_the_registry_down_serves_the_digest_admitted_last() {
    let mut registry = registry::start();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = openssl::key_pair(keys.path(), "team");
    let repository = "test/remembered";
    let first = registry.push(&format!("{repository}:live"), &variant("1.0.0", &[], &[]));
    sign_like_cosign(&registry, repository, digest_of(&first), &key).await;
    let source = format!("oci://{}/{repository}:live", registry.host);
    let host = registry.host.clone();
    let empty = modules_dir(&[]);
    let flags = [
        "--insecure",
        "--module-source",
        &source,
        "--insecure-registry",
        &host,
        "--module-poll",
        "200ms",
        "--cosign-key",
        public.to_str().unwrap(),
    ];
    let before = serve(empty.path(), &flags).await;
    wait_for_version(&mut insecure_client(&before).await, "1.0.0").await;

    registry.stop();
    let signature_tag = registry.storage().join(format!(
        "data/docker/registry/v2/repositories/{repository}/_manifests/tags/sha256-{}.sig",
        digest_of(&first).strip_prefix("sha256:").unwrap()
    ));
    std::fs::remove_dir_all(&signature_tag).unwrap();
    let probes = format!("127.0.0.1:{}", free_port());
    let metrics = format!("127.0.0.1:{}", free_port());
    let mut restarted = flags.to_vec();
    let probe_flag = format!("--probe-address={probes}");
    restarted.extend([probe_flag.as_str(), "--metrics-address", &metrics]);
    let after = serve(empty.path(), &restarted).await;
    let (status, body) = http(&probes, "GET", "/readyz", None, b"").await;
    assert_eq!(status, 200, "{body}");
    let mut client = insecure_client(&after).await;
    assert_eq!(served(&mut client).await, Ok("1.0.0".into()));

    registry.resume();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let failures = "function_module_source_failures_total";
    let once_back = counter(&metrics, failures, &source).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = counter(&metrics, failures, &source).await;
    assert!(
        later > once_back,
        "the signature was not checked again once the registry answered ({once_back} then {later} failures)"
    );

    let second = registry.push(&format!("{repository}:live"), &variant("2.0.0", &[], &[]));
    sign_like_cosign(&registry, repository, digest_of(&second), &key).await;
    wait_for_version(&mut client, "2.0.0").await;
}
