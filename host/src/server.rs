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
use crate::watch::WatchHandle;

/// Builds the runtime and loads every module of `--modules-dir`.
pub fn load(host: &HostArgs) -> anyhow::Result<(Arc<Admission>, Registry)> {
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
        admission,
        dispatcher.clone(),
        &args.host.modules_dir,
        args.host.module_settle,
        metrics,
    ));
    let watch = crate::watch::spawn(reloader, &args.host.modules_dir, !args.host.no_watch)?;
    reload_on_sighup(watch)?;
    function_sdk_rust::Server::new(FunctionService(dispatcher), &args.function)
        .metrics_registry(metrics_registry)
        .serve()
        .await?;
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
        println!(
            "compiled {} from {}",
            module.label(),
            module.source.display()
        );
    }
    Ok(())
}
