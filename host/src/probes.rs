//! HTTP probes on a port of their own, since the kubelet cannot speak
//! Crossplane's mTLS gRPC: `/livez` answers while the process serves,
//! `/readyz` once every configured source has a module admitted, and
//! `/modules` lists what serves, from where and at which digest, so an
//! operator can check that every replica serves the same.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::grpc::service::Dispatcher;

/// The sources that have no module admitted yet.
#[derive(Default)]
pub(crate) struct Readiness {
    waiting: Mutex<BTreeSet<String>>,
}

impl Readiness {
    pub(crate) fn new(waiting: impl IntoIterator<Item = String>) -> Self {
        Self {
            waiting: Mutex::new(waiting.into_iter().collect()),
        }
    }

    pub(crate) fn admitted(&self, source: &str) {
        self.lock().remove(source);
    }

    pub(crate) fn waiting(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Probes {
    readiness: Arc<Readiness>,
    dispatcher: Arc<Dispatcher>,
}

pub(crate) fn router(readiness: Arc<Readiness>, dispatcher: Arc<Dispatcher>) -> Router {
    Router::new()
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/modules", get(list))
        .with_state(Arc::new(Probes {
            readiness,
            dispatcher,
        }))
}

async fn ready(State(probes): State<Arc<Probes>>) -> Response {
    let waiting = probes.readiness.waiting();
    if !waiting.is_empty() {
        let message = format!("waiting for module sources: {}", waiting.join(", "));
        return (StatusCode::SERVICE_UNAVAILABLE, message).into_response();
    }
    if probes.dispatcher.registry().modules().is_empty() {
        return (StatusCode::SERVICE_UNAVAILABLE, "no module is loaded").into_response();
    }
    "ok".into_response()
}

async fn list(State(probes): State<Arc<Probes>>) -> Response {
    Json(modules(&probes.dispatcher)).into_response()
}

/// What serves: each module with its source, digest and calls.
pub(crate) fn modules(dispatcher: &Dispatcher) -> Value {
    let modules: Vec<_> = dispatcher
        .registry()
        .modules()
        .iter()
        .map(|m| {
            json!({
                "file": m.source.file().and_then(|f| f.file_name()).map(|f| f.to_string_lossy().to_string()),
                "source": m.source.to_string(),
                "name": m.info.name,
                "version": m.info.version,
                "routes": m.info.routes.iter().map(|r| json!({"module": r.module, "labels": r.labels})).collect::<Vec<_>>(),
                "sha256": m.digest,
                "loadedAt": chrono::DateTime::<chrono::Utc>::from(m.loaded_at).to_rfc3339(),
                "calls": m.calls.load(Ordering::Relaxed),
            })
        })
        .collect();
    json!({"modules": modules})
}

/// Serves the probes until the process ends; a port that cannot be bound
/// is logged, like the metrics port.
pub(crate) fn spawn(
    address: std::net::SocketAddr,
    readiness: Arc<Readiness>,
    dispatcher: Arc<Dispatcher>,
) {
    tokio::spawn(async move {
        let listener = match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::error!(%address, error = %e, "cannot serve the probes");
                return;
            }
        };
        tracing::info!(%address, "serving /livez, /readyz and /modules");
        if let Err(e) = axum::serve(listener, router(readiness, dispatcher)).await {
            tracing::error!(error = %e, "the probes stopped");
        }
    });
}
