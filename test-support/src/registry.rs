//! A real OCI registry on loopback: Debian's `docker-registry` (the CNCF
//! distribution registry), which `make test-setup` installs. It keeps its port
//! and storage across a stop and a start, as a registry that goes down and
//! comes back does.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

pub struct LocalRegistry {
    /// `127.0.0.1:<port>`, as module sources and `--insecure-registry` name it.
    pub host: String,
    tls: bool,
    storage: TempDir,
    config: PathBuf,
    child: Option<Child>,
    /// The host binary, whose `push` publishes modules.
    pusher: PathBuf,
}

/// What a registry that is not open to all asks for.
pub struct Secured {
    /// PEM certificate and key for `127.0.0.1`.
    pub certificate: (String, String),
    /// The one user's name and password (basic auth).
    pub user: (String, String),
}

impl LocalRegistry {
    /// Plain HTTP, anonymous; modules are pushed with `pusher push`.
    pub fn start(pusher: &Path) -> Self {
        Self::start_with(None, pusher)
    }

    /// HTTPS with the given certificate, and only the given user.
    pub fn start_with(secured: Option<&Secured>, pusher: &Path) -> Self {
        let storage = tempfile::tempdir().unwrap();
        let host = format!("127.0.0.1:{}", crate::free_port());
        let config = storage.path().join("config.yml");
        let mut text = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
            storage.path().join("data").display()
        );
        if let Some(secured) = secured {
            let dir = storage.path();
            std::fs::write(dir.join("tls.crt"), &secured.certificate.0).unwrap();
            std::fs::write(dir.join("tls.key"), &secured.certificate.1).unwrap();
            let hash = bcrypt::hash(&secured.user.1, 4).unwrap();
            std::fs::write(dir.join("htpasswd"), format!("{}:{hash}\n", secured.user.0)).unwrap();
            text.push_str(&format!(
                "  tls:\n    certificate: {0}/tls.crt\n    key: {0}/tls.key\nauth:\n  htpasswd:\n    realm: test\n    path: {0}/htpasswd\n",
                dir.display()
            ));
        }
        std::fs::write(&config, text).unwrap();
        let mut registry = Self {
            host,
            tls: secured.is_some(),
            storage,
            config,
            child: None,
            pusher: pusher.to_path_buf(),
        };
        registry.resume();
        registry
    }

    /// Starts the registry again on the same port and storage.
    pub fn resume(&mut self) {
        let binary = std::env::var("REGISTRY_BIN").unwrap_or_else(|_| "docker-registry".into());
        let child = Command::new(&binary)
            .arg("serve")
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {binary} ({e}): `make test-setup` installs Debian's docker-registry"
                )
            });
        self.child = Some(child);
        for _ in 0..500 {
            if self.answers() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the registry did not answer on {}", self.host);
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `GET /v2/` answers (with TLS: the port accepts connections).
    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(&self.host) else {
            return false;
        };
        if self.tls {
            return true;
        }
        let request = format!(
            "GET /v2/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.host
        );
        let mut answer = String::new();
        stream.write_all(request.as_bytes()).is_ok()
            && stream.read_to_string(&mut answer).is_ok()
            && answer.starts_with("HTTP/1.1 ")
    }

    /// Where the registry keeps the blob of `digest` (`sha256:<hex>`).
    pub fn blob(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.storage
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    pub fn storage(&self) -> &Path {
        self.storage.path()
    }

    /// Publishes the module file with the host's `push` under `reference`
    /// (`repository:tag`) and returns the pinned reference it prints.
    pub fn push_file(&self, reference: &str, module: &Path) -> String {
        let out = Command::new(&self.pusher)
            .arg("push")
            .arg(format!("oci://{}/{reference}", self.host))
            .arg(module)
            .args(["--insecure-registry", &self.host])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// [`Self::push_file`] for module bytes.
    pub fn push(&self, reference: &str, module: &[u8]) -> String {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), module).unwrap();
        self.push_file(reference, file.path())
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}
