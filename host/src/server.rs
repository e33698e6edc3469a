//! Wiring: runtime, registry and dispatcher behind the SDK's server.

use std::sync::Arc;

use crate::admission::Admission;
use crate::cli::{HostArgs, ServeArgs};
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::reload::Reloader;
use crate::runtime::Runtime;
use crate::service::{Dispatcher, FunctionService};
use crate::trust::TrustedKeys;
use crate::upload::Uploads;
use crate::watch::WatchHandle;

/// Builds the runtime and loads every module of `--modules-dir`.
///
/// Runs on a thread of its own: a module's WASI calls during describe() and
/// the self-test (a panic message on stderr, say) block on tokio, which
/// must not happen on a thread that drives the async runtime.
pub fn load(host: &HostArgs) -> anyhow::Result<(Arc<Admission>, Registry)> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| load_here(host))
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("loading the modules panicked")))
    })
}

fn load_here(host: &HostArgs) -> anyhow::Result<(Arc<Admission>, Registry)> {
    let runtime = Arc::new(Runtime::new(host.limits(), host.cache_dir.as_deref())?);
    let trust = host
        .trusted_keys
        .as_deref()
        .map(TrustedKeys::load)
        .transpose()?;
    let admission = Arc::new(Admission::new(runtime, trust));
    let registry = admission.load_dir(&host.modules_dir)?;
    if registry.modules().is_empty() {
        anyhow::bail!(
            "--modules-dir {} holds no *.wasm module; build one with `make guest`",
            host.modules_dir.display()
        );
    }
    Ok((admission, registry))
}

/// Serves until SIGTERM or SIGINT.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let (admission, registry) = load(&args.host)?;
    tracing::info!(
        modules = %registry.describe(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "modules loaded"
    );
    let mut metrics_registry = prometheus_client::registry::Registry::default();
    let metrics = Metrics::register(&mut metrics_registry);
    let dispatcher = Arc::new(Dispatcher::new(
        admission.runtime().clone(),
        registry,
        metrics.clone(),
    ));
    let reloader = Arc::new(Reloader::new(
        admission.clone(),
        dispatcher.clone(),
        &args.host.modules_dir,
        args.host.module_settle,
        metrics,
    ));
    let watch = crate::watch::spawn(
        reloader.clone(),
        &args.host.modules_dir,
        !args.host.no_watch,
    )?;
    if let Some(address) = args.upload.upload_address {
        serve_uploads(&args, address, admission, reloader, dispatcher.clone())?;
    }
    reload_on_sighup(watch)?;
    function_sdk_rust::Server::new(FunctionService(dispatcher), &args.function)
        .metrics_registry(metrics_registry)
        .serve()
        .await?;
    Ok(())
}

/// Starts the upload API beside the function, never on its port.
fn serve_uploads(
    args: &ServeArgs,
    address: std::net::SocketAddr,
    admission: Arc<Admission>,
    reloader: Arc<Reloader>,
    dispatcher: Arc<Dispatcher>,
) -> anyhow::Result<()> {
    let function: Option<std::net::SocketAddr> = args.function.address.parse().ok();
    anyhow::ensure!(
        function.is_none_or(|f| f.port() != address.port()),
        "--upload-address {address} must not use the function's port"
    );
    let token_file = args.upload.upload_token_file.as_ref().ok_or_else(|| {
        anyhow::anyhow!("--upload-address needs --upload-token-file: the upload API is never served unauthenticated")
    })?;
    let token = std::fs::read_to_string(token_file)
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot read --upload-token-file {}: {e}",
                token_file.display()
            )
        })?
        .trim()
        .to_string();
    anyhow::ensure!(
        token.len() >= 16,
        "the upload token must be at least 16 characters"
    );
    let uploads = Arc::new(Uploads {
        dir: args.host.modules_dir.clone(),
        token,
        admission,
        reloader,
        dispatcher,
    });
    let max = args.upload.upload_max_mib << 20;
    tokio::spawn(async move {
        if let Err(e) = crate::upload::serve(address, uploads, max).await {
            tracing::error!(error = %e, "the upload API stopped");
        }
    });
    Ok(())
}

/// Rescans the modules on SIGHUP, for as long as the server runs.
fn reload_on_sighup(watch: WatchHandle) -> anyhow::Result<()> {
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP: rescanning modules");
            watch.trigger();
        }
    });
    Ok(())
}

/// Compiles every module into the cache (for images built ahead of time).
pub fn compile(host: &HostArgs) -> anyhow::Result<()> {
    anyhow::ensure!(host.cache_dir.is_some(), "compile needs --cache-dir");
    let (_, registry) = load(host)?;
    for module in registry.modules() {
        println!("compiled {} from {}", module.label(), module.source);
    }
    Ok(())
}
