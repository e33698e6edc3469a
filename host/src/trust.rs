//! Opt-in signature checks: with `--trusted-keys`, a module is admitted
//! only with a detached ed25519 signature over its sha256 digest by one of
//! the listed keys. Keys and signatures are hex text.

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

/// The detached signature file of a module: `<module>.wasm.sig`.
pub fn signature_path(module: &Path) -> PathBuf {
    let mut name = module.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

#[derive(Debug, Clone)]
pub struct TrustedKeys {
    keys: Vec<VerifyingKey>,
}

fn decode<const N: usize>(text: &str, what: &str) -> anyhow::Result<[u8; N]> {
    let bytes = hex::decode(text.trim()).map_err(|e| anyhow::anyhow!("{what} is not hex: {e}"))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| anyhow::anyhow!("{what} is {} bytes, expected {N}", b.len()))
}

impl TrustedKeys {
    /// Reads one hex public key per line; `#` starts a comment.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read --trusted-keys {}: {e}", path.display()))?;
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let what = format!("{} line {}", path.display(), n + 1);
            let bytes = decode::<32>(line, &what)?;
            keys.push(
                VerifyingKey::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{what}: {e}"))?,
            );
        }
        anyhow::ensure!(
            !keys.is_empty(),
            "--trusted-keys {} lists no key",
            path.display()
        );
        Ok(Self { keys })
    }

    /// Checks `signature` (hex) over the sha256 of `wasm`.
    pub fn verify(&self, wasm: &[u8], signature: Option<&str>) -> anyhow::Result<()> {
        let signature = signature.ok_or_else(|| {
            anyhow::anyhow!(
                "unsigned: trusted keys are set, so a module needs a detached signature (.wasm.sig)"
            )
        })?;
        let signature = Signature::from_bytes(&decode::<64>(signature, "the signature")?);
        let digest = Sha256::digest(wasm);
        if self
            .keys
            .iter()
            .any(|k| k.verify(&digest, &signature).is_ok())
        {
            Ok(())
        } else {
            anyhow::bail!(
                "the signature is not by a trusted key, or the module was changed after signing"
            )
        }
    }
}

/// A new signing key (hex seed) and its public key (hex).
pub fn generate_key() -> anyhow::Result<(String, String)> {
    let mut seed = [0u8; 32];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut seed)?;
    let key = SigningKey::from_bytes(&seed);
    Ok((
        hex::encode(seed),
        hex::encode(key.verifying_key().to_bytes()),
    ))
}

/// Signs the sha256 of `wasm` with the hex seed `key`.
pub fn sign(wasm: &[u8], key: &str) -> anyhow::Result<String> {
    let key = SigningKey::from_bytes(&decode::<32>(key, "the signing key")?);
    Ok(hex::encode(key.sign(&Sha256::digest(wasm)).to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(public: &str) -> TrustedKeys {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, format!("# platform team\n{public}\n")).unwrap();
        TrustedKeys::load(&path).unwrap()
    }

    #[test]
    fn a_signed_module_verifies_and_a_tampered_or_unsigned_one_does_not() {
        let (secret, public) = generate_key().unwrap();
        let keys = trusted(&public);
        let wasm = b"\0asm module bytes";
        let signature = sign(wasm, &secret).unwrap();
        keys.verify(wasm, Some(&signature)).unwrap();

        let err = keys
            .verify(b"\0asm tampered bytes", Some(&signature))
            .unwrap_err();
        assert!(err.to_string().contains("changed after signing"), "{err}");
        let err = keys.verify(wasm, None).unwrap_err();
        assert!(err.to_string().contains("unsigned"), "{err}");

        let (other_secret, _) = generate_key().unwrap();
        let err = keys
            .verify(wasm, Some(&sign(wasm, &other_secret).unwrap()))
            .unwrap_err();
        assert!(err.to_string().contains("not by a trusted key"), "{err}");
    }
}
