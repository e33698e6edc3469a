//! A real OCI registry on loopback: Debian's `docker-registry` (the CNCF
//! distribution registry), which `make setup` installs. It keeps its port
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
    storage: TempDir,
    config: PathBuf,
    child: Option<Child>,
}

impl LocalRegistry {
    pub fn start() -> Self {
        let storage = tempfile::tempdir().unwrap();
        let host = format!("127.0.0.1:{}", super::free_port());
        let config = storage.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
                storage.path().join("data").display()
            ),
        )
        .unwrap();
        let mut registry = Self {
            host,
            storage,
            config,
            child: None,
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
                panic!("cannot run {binary} ({e}): `make setup` installs Debian's docker-registry")
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

    /// `GET /v2/` answers 200.
    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(&self.host) else {
            return false;
        };
        let request = format!(
            "GET /v2/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.host
        );
        let mut answer = String::new();
        stream.write_all(request.as_bytes()).is_ok()
            && stream.read_to_string(&mut answer).is_ok()
            && answer.starts_with("HTTP/1.1 200")
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
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}
