//! Modules in OCI registries, as CNCF Wasm OCI artifacts (a
//! `application/vnd.wasm.config.v0+json` config and one `application/wasm`
//! layer), through `oci-client`: resolving a tag to a digest, pulling a
//! module by digest into an on-disk cache, and pushing one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use oci_client::client::{
    Certificate, CertificateEncoding, ClientConfig, ClientProtocol, Config, ImageLayer,
};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use sigstore::registry::{Auth, OciReference};

use crate::files::write_atomically;
use crate::modules::cosign::{self, CosignKeys};
use crate::modules::dockerconfig::{self, Credentials};

pub(crate) const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
pub(crate) const LAYER_MEDIA_TYPE: &str = "application/wasm";
const SCHEME: &str = "oci://";

/// A configured module source: `oci://REGISTRY/REPOSITORY@sha256:DIGEST`
/// (pinned) or `oci://REGISTRY/REPOSITORY:TAG` (followed).
#[derive(Debug, Clone)]
pub struct OciSource {
    /// As configured, for logs and `/modules`.
    pub(crate) text: String,
    pub reference: Reference,
}

impl OciSource {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let rest = text.strip_prefix(SCHEME).with_context(|| {
            format!("module source {text:?}: expected oci://REGISTRY/REPOSITORY:TAG or oci://REGISTRY/REPOSITORY@sha256:DIGEST")
        })?;
        let reference: Reference = rest
            .parse()
            .map_err(|e| anyhow::anyhow!("module source {text:?}: {e}"))?;
        // A bare name would silently mean Docker Hub's `latest`.
        anyhow::ensure!(
            rest.contains('/')
                && (rest.contains('@')
                    || rest
                        .rsplit('/')
                        .next()
                        .is_some_and(|last| last.contains(':'))),
            "module source {text:?}: name the registry and a tag or digest, e.g. oci://ghcr.io/team/cluster:v1"
        );
        if let Some(digest) = reference.digest() {
            anyhow::ensure!(
                digest.strip_prefix("sha256:").is_some_and(is_sha256_hex),
                "module source {text:?}: the digest must be sha256:<64 hex digits>"
            );
        }
        Ok(Self {
            text: text.to_string(),
            reference,
        })
    }

    /// The digest it is pinned to; `None` for a tag that is followed.
    pub fn pinned(&self) -> Option<&str> {
        self.reference.digest()
    }
}

fn is_sha256_hex(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// How the host reaches registries.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Hosts (`host:port`) spoken to over plain HTTP.
    pub(crate) insecure: Vec<String>,
    /// Credentials by registry host; anonymous elsewhere.
    pub(crate) credentials: BTreeMap<String, Credentials>,
    /// DER certificates trusted beside the system roots.
    pub(crate) extra_roots: Vec<Vec<u8>>,
}

impl Access {
    /// Reads `--registry-config` (a Docker config) and `--registry-ca` (a
    /// PEM bundle).
    pub(crate) fn load(
        insecure: &[String],
        config: Option<&Path>,
        ca: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let credentials = config
            .map(dockerconfig::load)
            .transpose()?
            .unwrap_or_default();
        let mut extra_roots = Vec::new();
        if let Some(ca) = ca {
            let pem = std::fs::read(ca)
                .with_context(|| format!("cannot read --registry-ca {}", ca.display()))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.with_context(|| format!("--registry-ca {}", ca.display()))?;
                extra_roots.push(cert.to_vec());
            }
            anyhow::ensure!(
                !extra_roots.is_empty(),
                "--registry-ca {} holds no PEM certificate",
                ca.display()
            );
        }
        Ok(Self {
            insecure: insecure.to_vec(),
            credentials,
            extra_roots,
        })
    }
}

/// A registry client with the module cache beside it.
pub struct Registries {
    client: Client,
    access: Access,
    credentials: BTreeMap<String, Credentials>,
    /// Manifests and modules already pulled, by digest.
    cache: Option<PathBuf>,
}

impl Registries {
    pub fn new(access: &Access, cache: Option<&Path>) -> Self {
        Self {
            client: Client::new(client_config(access)),
            access: access.clone(),
            credentials: access.credentials.clone(),
            cache: cache.map(|c| c.join("oci")),
        }
    }

    /// Succeeds when the manifest `digest` of `source` carries a cosign
    /// signature by one of `keys`; checked before the module is pulled.
    pub(crate) async fn verify(
        &self,
        source: &OciSource,
        digest: &str,
        keys: &CosignKeys,
    ) -> anyhow::Result<()> {
        let reference = &source.reference;
        let image = OciReference::with_digest(
            reference.registry().to_string(),
            reference.repository().to_string(),
            digest.to_string(),
        );
        let auth = match self.auth(reference) {
            RegistryAuth::Basic(user, password) => Auth::Basic(user, password),
            _ => Auth::Anonymous,
        };
        keys.verify(&image, sigstore_config(&self.access), &auth)
            .await
            .with_context(|| format!("{} ({digest}) refused", source.text))
    }

    /// The credentials for `reference`'s registry, or anonymous access.
    fn auth(&self, reference: &Reference) -> RegistryAuth {
        match self.credentials.get(reference.resolve_registry()) {
            Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
            None => RegistryAuth::Anonymous,
        }
    }

    /// The manifest digest a source names now: its pin, or what its tag
    /// points at.
    pub(crate) async fn resolve(&self, source: &OciSource) -> anyhow::Result<String> {
        if let Some(digest) = source.pinned() {
            return Ok(digest.to_string());
        }
        self.client
            .fetch_manifest_digest(&source.reference, &self.auth(&source.reference))
            .await
            .with_context(|| format!("cannot resolve {}", source.text))
    }

    /// The module bytes of the manifest `digest` of `source`'s repository,
    /// from the cache or the registry. The manifest and the layer are each
    /// checked against their digests, and the manifest must be a Wasm
    /// artifact with exactly one `application/wasm` layer.
    pub(crate) async fn fetch(&self, source: &OciSource, digest: &str) -> anyhow::Result<Vec<u8>> {
        let at = source.reference.clone_with_digest(digest.to_string());
        // A digest names its content for good: what was pulled once needs
        // no registry again (a restart while the registry is down).
        let raw = match self.cached(digest, "json") {
            Some(raw) => raw,
            None => {
                let (raw, _) = self
                    .client
                    .pull_manifest_raw(&at, &self.auth(&at), &[OCI_IMAGE_MEDIA_TYPE])
                    .await
                    .with_context(|| format!("cannot pull the manifest of {}", source.text))?;
                raw.to_vec()
            }
        };
        let actual = sha256(&raw);
        anyhow::ensure!(
            actual == digest,
            "{}: the registry's manifest has digest {actual}, not {digest}",
            source.text
        );
        let manifest: OciImageManifest = serde_json::from_slice(&raw).with_context(|| {
            format!("{}: the manifest is not an OCI image manifest", source.text)
        })?;
        anyhow::ensure!(
            manifest.config.media_type == CONFIG_MEDIA_TYPE,
            "{}: config media type {:?}, expected {CONFIG_MEDIA_TYPE} (a Wasm OCI artifact)",
            source.text,
            manifest.config.media_type
        );
        let [layer] = manifest.layers.as_slice() else {
            anyhow::bail!(
                "{}: {} layers, expected exactly one {LAYER_MEDIA_TYPE} layer",
                source.text,
                manifest.layers.len()
            );
        };
        anyhow::ensure!(
            layer.media_type == LAYER_MEDIA_TYPE,
            "{}: layer media type {:?}, expected {LAYER_MEDIA_TYPE}",
            source.text,
            layer.media_type
        );
        self.store(digest, "json", &raw);
        if let Some(bytes) = self.cached(&layer.digest, "wasm") {
            return Ok(bytes);
        }
        let mut bytes = Vec::new();
        self.client
            .pull_blob(&at, layer, &mut bytes)
            .await
            .with_context(|| format!("cannot pull the module of {}", source.text))?;
        // oci-client checks the digest while streaming; the cache relies on it.
        let actual = sha256(&bytes);
        anyhow::ensure!(
            actual == layer.digest,
            "{}: the module blob has digest {actual}, not {}",
            source.text,
            layer.digest
        );
        self.store(&layer.digest, "wasm", &bytes);
        Ok(bytes)
    }

    /// Records that `source` had the manifest `digest` admitted, so a
    /// restart with its registry down serves it again from the cache.
    /// Best effort, like the cache.
    pub(crate) fn remember(&self, source: &OciSource, digest: &str) {
        let Some(path) = self.memory_path(source) else {
            return;
        };
        let record = serde_json::json!({"source": source.text, "digest": digest});
        if let Err(e) = write_atomically(&path, record.to_string().as_bytes()) {
            tracing::warn!(path = %path.display(), error = %e, "cannot record the digest admitted");
        }
    }

    /// The manifest digest `source` last had admitted, if recorded.
    pub(crate) fn remembered(&self, source: &OciSource) -> Option<String> {
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.memory_path(source)?).ok()?).ok()?;
        let digest = record["digest"].as_str()?;
        let valid = record["source"] == source.text.as_str()
            && digest.strip_prefix("sha256:").is_some_and(is_sha256_hex);
        valid.then(|| digest.to_string())
    }

    /// `<cache>/oci/admitted/<sha256 of the source text>.json`.
    fn memory_path(&self, source: &OciSource) -> Option<PathBuf> {
        let name = sha256(source.text.as_bytes());
        let hex = name.trim_start_matches("sha256:");
        Some(
            self.cache
                .as_ref()?
                .join("admitted")
                .join(format!("{hex}.json")),
        )
    }

    /// `<cache>/oci/sha256-<hex>.<extension>`.
    fn cache_path(&self, digest: &str, extension: &str) -> Option<PathBuf> {
        let hex = digest
            .strip_prefix("sha256:")
            .filter(|h| is_sha256_hex(h))?;
        Some(
            self.cache
                .as_ref()?
                .join(format!("sha256-{hex}.{extension}")),
        )
    }

    /// A cached blob, only when it still has its digest.
    fn cached(&self, digest: &str, extension: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.cache_path(digest, extension)?).ok()?;
        (sha256(&bytes) == digest).then_some(bytes)
    }

    /// Best effort: a cache that cannot be written costs a pull next time.
    fn store(&self, digest: &str, extension: &str, bytes: &[u8]) {
        let Some(path) = self.cache_path(digest, extension) else {
            return;
        };
        if path.exists() {
            return;
        }
        if let Err(e) = write_atomically(&path, bytes) {
            tracing::warn!(path = %path.display(), error = %e, "cannot cache what was pulled");
        }
    }

    /// Stores a cosign signature of the manifest `digest` of `reference`'s
    /// repository where cosign does, as `cosign sign` would.
    pub async fn push_signature(
        &self,
        reference: &Reference,
        digest: &str,
        key_pem: &[u8],
    ) -> anyhow::Result<()> {
        let repository = format!("{}/{}", reference.registry(), reference.repository());
        let payload = cosign::payload(&repository, digest);
        let signature = cosign::sign(key_pem, &payload)?;
        let layer = ImageLayer::new(
            payload,
            cosign::SIMPLE_SIGNING_MEDIA_TYPE.to_string(),
            Some([(cosign::SIGNATURE_ANNOTATION.to_string(), signature)].into()),
        );
        let config = Config::oci_v1(
            br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#
                .to_vec(),
            None,
        );
        let at = Reference::with_tag(
            reference.registry().to_string(),
            reference.repository().to_string(),
            cosign::signature_tag(digest),
        );
        self.client
            .push(&at, &[layer], config, &self.auth(&at), None)
            .await
            .with_context(|| format!("cannot push the signature to {at}"))?;
        Ok(())
    }

    /// Publishes `module` under `reference` as a Wasm OCI artifact and
    /// returns the manifest digest to pin.
    pub async fn push(&self, reference: &Reference, module: Vec<u8>) -> anyhow::Result<String> {
        anyhow::ensure!(
            module.starts_with(b"\0asm"),
            "not a WebAssembly binary (no \\0asm header)"
        );
        let layer = ImageLayer::new(module, LAYER_MEDIA_TYPE.to_string(), None);
        let config = serde_json::json!({
            "architecture": "wasm",
            "os": "wasip2",
            "layerDigests": [layer.sha256_digest()],
        });
        let config = Config::new(
            serde_json::to_vec(&config)?,
            CONFIG_MEDIA_TYPE.to_string(),
            None,
        );
        let mut manifest = OciImageManifest::build(std::slice::from_ref(&layer), &config, None);
        manifest.media_type = Some(OCI_IMAGE_MEDIA_TYPE.to_string());
        self.client
            .push(
                reference,
                &[layer],
                config,
                &self.auth(reference),
                Some(manifest),
            )
            .await
            .with_context(|| format!("cannot push to {reference}"))?;
        self.client
            .fetch_manifest_digest(reference, &self.auth(reference))
            .await
            .with_context(|| format!("cannot read back the digest of {reference}"))
    }
}

/// The client settings for `access`: plain HTTP only for its insecure
/// hosts, its certificates beside the system roots.
fn client_config(access: &Access) -> ClientConfig {
    let protocol = if access.insecure.is_empty() {
        ClientProtocol::Https
    } else {
        ClientProtocol::HttpsExcept(access.insecure.clone())
    };
    ClientConfig {
        protocol,
        extra_root_certificates: access
            .extra_roots
            .iter()
            .map(|der| Certificate {
                encoding: CertificateEncoding::Der,
                data: der.clone(),
            })
            .collect(),
        ..ClientConfig::default()
    }
}

/// The same settings for the cosign client, which has its own types.
fn sigstore_config(access: &Access) -> sigstore::registry::ClientConfig {
    use sigstore::registry as s;
    let protocol = if access.insecure.is_empty() {
        s::ClientProtocol::Https
    } else {
        s::ClientProtocol::HttpsExcept(access.insecure.clone())
    };
    s::ClientConfig {
        protocol,
        extra_root_certificates: access
            .extra_roots
            .iter()
            .map(|der| s::Certificate {
                encoding: s::CertificateEncoding::Der,
                data: der.clone(),
            })
            .collect(),
        ..s::ClientConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_name_a_registry_and_a_tag_or_digest() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned =
            OciSource::parse(&format!("oci://127.0.0.1:5000/platform/cluster@{digest}")).unwrap();
        assert_eq!(pinned.pinned(), Some(digest.as_str()));
        assert_eq!(pinned.reference.registry(), "127.0.0.1:5000");
        let followed = OciSource::parse("oci://ghcr.io/team/cluster:v1").unwrap();
        assert_eq!(followed.pinned(), None);
        assert_eq!(followed.reference.tag(), Some("v1"));
        for bad in [
            "ghcr.io/team/cluster:v1",
            "oci://cluster",
            "oci://ghcr.io/team/cluster",
            "oci://ghcr.io/team/cluster@sha256:abc",
        ] {
            assert!(OciSource::parse(bad).is_err(), "{bad}");
        }
    }
}
