//! The module upload API for platform teams (opt-in, on a port of its own):
//! `GET /modules`, `PUT /modules/<name>` with the wasm as body, `DELETE
//! /modules/<name>`. Bearer-token authenticated; an upload passes the same
//! admission as a file dropped in the directory and is written there
//! atomically, so a restart keeps it. How it is reached (TLS, timeouts)
//! is `listener`'s job.

pub(crate) mod listener;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, put};
use serde_json::json;

use crate::files::write_atomically;
use crate::grpc::service::Dispatcher;
use crate::modules::admission::Admission;
use crate::modules::cosign::signature_path;
use crate::modules::reload::{InstallError, Reloader};
use crate::modules::source::Source;

/// Header carrying an upload's cosign signature: the base64 text
/// `cosign sign-blob` writes.
pub(crate) const SIGNATURE_HEADER: &str = "x-module-signature";

pub(crate) struct Uploads {
    pub(crate) dir: PathBuf,
    pub(crate) token: String,
    pub(crate) admission: Arc<Admission>,
    pub(crate) reloader: Arc<Reloader>,
    pub(crate) dispatcher: Arc<Dispatcher>,
    /// How long a request's body may take to arrive.
    pub(crate) read_timeout: std::time::Duration,
}

pub(crate) fn router(uploads: Arc<Uploads>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/modules", get(list))
        .route("/modules/{name}", put(upload).delete(remove))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .route_layer(middleware::from_fn_with_state(
            uploads.clone(),
            authenticate,
        ))
        .with_state(uploads)
}

/// Serves the API on `tcp` until the process ends.
pub(crate) async fn serve(
    tcp: tokio::net::TcpListener,
    transport: listener::Transport,
    idle_timeout: std::time::Duration,
    uploads: Arc<Uploads>,
    max_body_bytes: usize,
) {
    let timeouts = listener::Timeouts {
        read: uploads.read_timeout,
        idle: idle_timeout,
    };
    listener::serve(tcp, transport, timeouts, router(uploads, max_body_bytes)).await;
}

/// A refusal: its status and a message saying why.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError(status, message.into())
}

/// Constant-time comparison, so the token cannot be guessed byte by byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn authenticate(
    State(uploads): State<Arc<Uploads>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if presented.is_empty() || !same(presented.as_bytes(), uploads.token.as_bytes()) {
        let mut rsp =
            error(StatusCode::UNAUTHORIZED, "a valid bearer token is required").into_response();
        rsp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            "Bearer".parse().expect("static header"),
        );
        return rsp;
    }
    next.run(request).await
}

/// `name` or `name.wasm`, as a file name in the modules directory.
fn file_name(name: &str) -> Result<String, ApiError> {
    let stem = name.strip_suffix(".wasm").unwrap_or(name);
    let valid = !stem.is_empty()
        && stem.len() <= 128
        && stem
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !valid {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!(
                "{name:?} is not a module name: use letters, digits, '.', '_' and '-', starting with a letter or digit"
            ),
        ));
    }
    Ok(format!("{stem}.wasm"))
}

async fn list(State(uploads): State<Arc<Uploads>>) -> Response {
    Json(crate::probes::modules(&uploads.dispatcher)).into_response()
}

async fn upload(
    State(uploads): State<Arc<Uploads>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let file = match file_name(&name) {
        Ok(file) => file,
        Err(e) => return e.into_response(),
    };
    let signature = request
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // A client that stops sending mid-body is cut off, not waited for.
    let body =
        match tokio::time::timeout(uploads.read_timeout, Bytes::from_request(request, &())).await {
            Ok(Ok(body)) => body,
            Ok(Err(rejection)) => return rejection.into_response(),
            Err(_) => {
                return error(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the module did not arrive within {:?} (--upload-read-timeout)",
                        uploads.read_timeout
                    ),
                )
                .into_response();
            }
        };
    let installed = tokio::task::spawn_blocking(move || {
        let path = uploads.dir.join(&file);
        let module = uploads
            .admission
            .admit(&body, &Source::File(path.clone()), signature.as_deref())
            .map_err(|e| {
                error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("module refused: {e:#}"),
                )
            })?;
        let write = || {
            if let Some(signature) = &signature {
                write_atomically(&signature_path(&path), signature.as_bytes())?;
            }
            write_atomically(&path, &body)
        };
        uploads
            .reloader
            .install(module, write)
            .map_err(|e| match e {
                InstallError::Conflict(m) => error(StatusCode::CONFLICT, m),
                InstallError::Io(m) => error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("cannot write the module: {m}"),
                ),
            })
    })
    .await;
    match installed {
        Ok(Ok(label)) => (StatusCode::CREATED, Json(json!({"installed": label}))).into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn remove(State(uploads): State<Arc<Uploads>>, Path(name): Path<String>) -> Response {
    let file = match file_name(&name) {
        Ok(file) => file,
        Err(e) => return e.into_response(),
    };
    let path = uploads.dir.join(&file);
    let removed = tokio::task::spawn_blocking(move || uploads.reloader.uninstall(&path)).await;
    match removed {
        Ok(Ok(true)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Ok(false)) => error(
            StatusCode::NOT_FOUND,
            format!("no module is loaded from {file}"),
        )
        .into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
