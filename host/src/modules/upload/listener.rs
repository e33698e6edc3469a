//! How the upload API is reached: TLS with the certificates of
//! `--upload-tls-certs-dir` (client certificates required when it holds a
//! CA), or plain HTTP only when asked for and only on loopback; every
//! connection bounded in time, so a slow or idle client holds nothing.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Files of a certificates directory, as Kubernetes TLS secrets name them.
pub(crate) const CERT_FILE: &str = "tls.crt";
pub(crate) const KEY_FILE: &str = "tls.key";
pub(crate) const CA_FILE: &str = "ca.crt";

/// Plain HTTP or TLS.
#[derive(Clone)]
pub(crate) enum Transport {
    Plain,
    Tls(TlsAcceptor),
}

/// How long a connection may take over each part of its life.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    /// The TLS handshake, and a request's body once its headers arrived.
    pub(crate) read: Duration,
    /// From connecting, or from the last response, to a request's headers.
    pub(crate) idle: Duration,
}

impl Transport {
    /// TLS from `dir`; with a `ca.crt` there, clients must present a
    /// certificate it signed.
    pub(crate) fn tls(dir: &Path) -> anyhow::Result<Self> {
        let file = |name: &str| dir.join(name);
        let certs = CertificateDer::pem_file_iter(file(CERT_FILE))
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                anyhow::anyhow!(
                    "--upload-tls-certs-dir: cannot read {}: {e}",
                    file(CERT_FILE).display()
                )
            })?;
        anyhow::ensure!(
            !certs.is_empty(),
            "--upload-tls-certs-dir: {} holds no certificate",
            file(CERT_FILE).display()
        );
        let key = PrivateKeyDer::from_pem_file(file(KEY_FILE)).map_err(|e| {
            anyhow::anyhow!(
                "--upload-tls-certs-dir: cannot read {}: {e}",
                file(KEY_FILE).display()
            )
        })?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let ca = file(CA_FILE);
        let builder = if ca.exists() {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(&ca)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", ca.display()))?
            {
                let cert = cert.map_err(|e| anyhow::anyhow!("{}: {e}", ca.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", ca.display()))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| anyhow::anyhow!("{}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder
            .with_single_cert(certs, key)
            .map_err(|e| anyhow::anyhow!("--upload-tls-certs-dir {}: {e}", dir.display()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self::Tls(TlsAcceptor::from(Arc::new(config))))
    }

    /// Plain HTTP, refused unless `address` is loopback: a bearer token
    /// and modules must not cross a network in the clear.
    pub(crate) fn plain(address: SocketAddr) -> anyhow::Result<Self> {
        anyhow::ensure!(
            address.ip().is_loopback(),
            "--upload-insecure serves plain HTTP on loopback only, not on {address}; give --upload-tls-certs-dir instead"
        );
        Ok(Self::Plain)
    }

    fn scheme(&self) -> &'static str {
        match self {
            Self::Plain => "http",
            Self::Tls(_) => "https",
        }
    }
}

/// Accepts connections on `listener` until the process ends.
pub(crate) async fn serve(
    listener: TcpListener,
    transport: Transport,
    timeouts: Timeouts,
    app: Router,
) {
    tracing::info!(
        address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        scheme = transport.scheme(),
        "serving the module upload API"
    );
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors, say: wait rather than spin.
                tracing::warn!(error = %e, "cannot accept an upload connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let transport = transport.clone();
        let app = app.clone();
        tokio::spawn(async move {
            match transport {
                Transport::Plain => connection(stream, timeouts, app).await,
                Transport::Tls(acceptor) => {
                    match tokio::time::timeout(timeouts.read, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => connection(tls, timeouts, app).await,
                        Ok(Err(e)) => {
                            tracing::info!(%peer, error = %e, "upload TLS handshake refused")
                        }
                        Err(_) => tracing::info!(%peer, "upload TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// Serves HTTP/1.1 on one connection. hyper's header timeout starts
/// whenever the connection waits for a request, so it is the idle timeout
/// too.
async fn connection<S>(stream: S, timeouts: Timeouts, app: Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.idle)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
        .await;
    if let Err(e) = served {
        tracing::debug!(error = %e, "upload connection ended");
    }
}
