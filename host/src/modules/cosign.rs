//! cosign signatures, verified with `sigstore` before a module is compiled.
//!
//! - A registry module's signatures are where `cosign sign` puts them: the
//!   `sha256-<digest>.sig` tag beside it, each a simple-signing payload
//!   that must name the module's manifest digest.
//! - A module file's signature is what `cosign sign-blob --key` writes: the
//!   base64 ECDSA signature of the file's bytes, in `<module>.wasm.sig`.
//!
//! Either way it must be by one of the `--cosign-key` public keys.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sigstore::cosign::verification_constraint::{PublicKeyVerifier, VerificationConstraint};
use sigstore::cosign::{ClientBuilder, CosignCapabilities, verify_constraints};
use sigstore::crypto::CosignVerificationKey;
use sigstore::registry::{Auth, ClientConfig, OciReference};

/// Where cosign stores a signature: the layer of `sha256-<hex>.sig`.
pub(crate) const SIMPLE_SIGNING_MEDIA_TYPE: &str =
    "application/vnd.dev.cosign.simplesigning.v1+json";
pub(crate) const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// The tag cosign keeps the signatures of the manifest `digest` under.
pub(crate) fn signature_tag(digest: &str) -> String {
    format!("sha256-{}.sig", digest.trim_start_matches("sha256:"))
}

/// The simple-signing payload `cosign sign` signs for the manifest
/// `digest` of `repository` (`registry/repository`).
pub(crate) fn payload(repository: &str, digest: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": null,
    }))
    .expect("a JSON value serialises")
}

/// Signs `payload` with a private key as cosign keeps them: PKCS#8 PEM
/// (`openssl`, `cosign import-key-pair`), or cosign's own encrypted PEM
/// with the password in `COSIGN_PASSWORD`. Returns the base64 signature.
pub fn sign(key_pem: &[u8], payload: &[u8]) -> anyhow::Result<String> {
    use base64::Engine;
    use sigstore::crypto::SigningScheme;
    use sigstore::crypto::signing_key::SigStoreKeyPair;
    let text = String::from_utf8_lossy(key_pem);
    let pair = if text.contains("ENCRYPTED") {
        let password = std::env::var("COSIGN_PASSWORD").unwrap_or_default();
        SigStoreKeyPair::from_encrypted_pem(key_pem, password.as_bytes())
    } else {
        SigStoreKeyPair::from_pem(key_pem)
    }
    .map_err(|e| anyhow::anyhow!("not a cosign private key: {e}"))?;
    let signer = pair
        .to_sigstore_signer(&SigningScheme::ECDSA_P256_SHA256_ASN1)
        .map_err(|e| anyhow::anyhow!("the key cannot sign as cosign does (ECDSA P-256): {e}"))?;
    let signature = signer
        .sign(payload)
        .map_err(|e| anyhow::anyhow!("cannot sign: {e}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(signature))
}

/// The detached signature file of a module: `<module>.wasm.sig`.
pub fn signature_path(module: &Path) -> PathBuf {
    let mut name = module.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// A new key pair as `cosign generate-key-pair` writes it: the private key
/// in cosign's encrypted PEM under `password`, and the public key as PKIX
/// PEM.
pub fn generate_key_pair(password: &[u8]) -> anyhow::Result<(String, String)> {
    use sigstore::crypto::SigningScheme;
    let pair = SigningScheme::ECDSA_P256_SHA256_ASN1
        .create_signer()
        .and_then(|signer| signer.to_sigstore_keypair())
        .map_err(|e| anyhow::anyhow!("cannot create a key pair: {e}"))?;
    let private = pair
        .private_key_to_encrypted_pem(password)
        .map_err(|e| anyhow::anyhow!("cannot encrypt the private key: {e}"))?;
    let public = pair
        .public_key_to_pem()
        .map_err(|e| anyhow::anyhow!("cannot encode the public key: {e}"))?;
    Ok((private.to_string(), public))
}

/// The public keys (PEM) a module must be signed by, one of them.
#[derive(Clone)]
pub struct CosignKeys {
    keys: Vec<(PathBuf, Vec<u8>)>,
}

impl CosignKeys {
    /// `None` when no key is given: modules need no signature.
    pub fn load(paths: &[PathBuf]) -> anyhow::Result<Option<Self>> {
        if paths.is_empty() {
            return Ok(None);
        }
        let mut keys = Vec::new();
        for path in paths {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read --cosign-key {}", path.display()))?;
            CosignVerificationKey::try_from_pem(&pem).map_err(|e| {
                anyhow::anyhow!(
                    "--cosign-key {}: not a cosign public key (PEM): {e}",
                    path.display()
                )
            })?;
            keys.push((path.clone(), pem));
        }
        Ok(Some(Self { keys }))
    }

    /// Succeeds when a signature of `image` (a reference by digest) is by
    /// one of the keys; `config` and `auth` reach its registry.
    pub(crate) async fn verify(
        &self,
        image: &OciReference,
        config: ClientConfig,
        auth: &Auth,
    ) -> anyhow::Result<()> {
        let mut client = ClientBuilder::default()
            .with_oci_client_config(config)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the cosign client: {e}"))?;
        let layers = client
            .trusted_signature_layers(auth, image)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the cosign signatures of {image}: {e}"))?;
        anyhow::ensure!(
            !layers.is_empty(),
            "{image} has no cosign signature (none under its sha256-<digest>.sig tag)"
        );
        for (path, pem) in &self.keys {
            let verifier: Box<dyn VerificationConstraint> = Box::new(
                PublicKeyVerifier::try_from(pem)
                    .map_err(|e| anyhow::anyhow!("--cosign-key {}: {e}", path.display()))?,
            );
            let constraints = [verifier];
            if verify_constraints(&layers, constraints.iter()).is_ok() {
                tracing::info!(%image, key = %path.display(), "cosign signature verified");
                return Ok(());
            }
        }
        anyhow::bail!(
            "{image}: none of its {} cosign signatures is by a --cosign-key ({})",
            layers.len(),
            self.files().join(", ")
        )
    }

    /// Succeeds when `signature` (base64, as `cosign sign-blob` writes it)
    /// over `blob` is by one of the keys.
    pub fn verify_blob(&self, blob: &[u8], signature: Option<&str>) -> anyhow::Result<()> {
        use sigstore::crypto::Signature;
        let signature = signature.map(str::trim).ok_or_else(|| {
            anyhow::anyhow!(
                "unsigned: with --cosign-key a module file needs its cosign signature beside it (<module>.wasm.sig, from `cosign sign-blob --key`)"
            )
        })?;
        for (path, pem) in &self.keys {
            let key = CosignVerificationKey::try_from_pem(pem)
                .map_err(|e| anyhow::anyhow!("--cosign-key {}: {e}", path.display()))?;
            if key
                .verify_signature(Signature::Base64Encoded(signature.as_bytes()), blob)
                .is_ok()
            {
                return Ok(());
            }
        }
        anyhow::bail!(
            "the signature is not by a --cosign-key ({}), or the module was changed after signing",
            self.files().join(", ")
        )
    }

    fn files(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|(p, _)| Path::new(p).display().to_string())
            .collect()
    }
}
