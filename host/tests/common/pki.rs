//! A throwaway certificate authority for TLS tests.

use std::path::Path;

/// A CA, and certificates it signs.
pub struct Pki {
    pub ca_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Pki {
    pub fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let ca_pem = params.self_signed(&key).unwrap().pem();
        Self {
            ca_pem,
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// (certificate, key) PEM for `name`, a DNS name or an IP address.
    pub fn issue(&self, name: &str) -> (String, String) {
        let params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A certificates directory as a Kubernetes TLS secret mounts it:
    /// tls.crt and tls.key for `name`, and ca.crt when `with_ca`.
    pub fn certs_dir(&self, dir: &Path, name: &str, with_ca: bool) {
        let (cert, key) = self.issue(name);
        std::fs::write(dir.join("tls.crt"), cert).unwrap();
        std::fs::write(dir.join("tls.key"), key).unwrap();
        if with_ca {
            std::fs::write(dir.join("ca.crt"), &self.ca_pem).unwrap();
        }
    }
}
