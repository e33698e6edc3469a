//! Wiring: runtime, registry and dispatcher behind the SDK's server.

use std::sync::Arc;

use crate::admission::Admission;
use crate::cli::{HostArgs, ServeArgs};
use crate::cosign::CosignKeys;
use crate::follow::Follower;
use crate::metrics::Metrics;
use crate::oci::{OciSource, Registries};
use crate::probes::Readiness;
use crate::registry::Registry;
use crate::reload::Reloader;
use crate::runtime::Runtime;
use crate::service::{Dispatcher, FunctionService};
use crate::trust::TrustedKeys;
use crate::upload::Uploads;
use crate::watch::WatchHandle;

/// What start-up loaded: the modules of the directory and of every
/// registry source that answered, and the digest each source serves.
pub struct Loaded {
    pub admission: Arc<Admission>,
    pub registry: Registry,
    pub registries: Arc<Registries>,
    pub keys: Option<CosignKeys>,
    pub sources: Vec<(OciSource, Option<String>)>,
    /// Why each source that did not load did not.
    pub failures: Vec<String>,
}

impl Loaded {
    /// For one-shot commands (compile, render): a source that did not load
    /// is an error, not something to retry.
    pub fn require_every_source(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.failures.is_empty(),
            "module sources not loaded: {}",
            self.failures.join("; ")
        );
        Ok(())
    }
}

/// Builds the runtime and loads every module of `--modules-dir` and of
/// every `--module-source`.
///
/// Runs on a thread of its own: a module's WASI calls during describe() and
/// the self-test (a panic message on stderr, say) block on tokio, which
/// must not happen on a thread that drives the async runtime.
pub fn load(host: &HostArgs) -> anyhow::Result<Loaded> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| load_here(host))
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("loading the modules panicked")))
    })
}

fn load_here(host: &HostArgs) -> anyhow::Result<Loaded> {
    let sources: Vec<OciSource> = host
        .registry
        .module_sources
        .iter()
        .map(|s| OciSource::parse(s))
        .collect::<anyhow::Result<_>>()?;
    let runtime = Arc::new(Runtime::new(host.limits(), host.cache_dir.as_deref())?);
    let trust = host
        .trusted_keys
        .as_deref()
        .map(TrustedKeys::load)
        .transpose()?;
    let admission = Arc::new(Admission::new(runtime, trust));
    let mut modules = admission.load_dir(&host.modules_dir)?.modules();
    let registries = Arc::new(Registries::new(
        &host.registry.access()?,
        host.cache_dir.as_deref(),
    ));
    let keys = CosignKeys::load(&host.registry.cosign_keys)?;
    let mut serving = Vec::new();
    let mut failures = Vec::new();
    if !sources.is_empty() {
        let pulls = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        for source in sources {
            // A registry that is down at start is retried by the follower.
            let pulled = pulls.block_on(async {
                let digest = registries.resolve(&source).await?;
                let module =
                    crate::follow::pull(&registries, &admission, keys.as_ref(), &source, &digest)
                        .await?;
                anyhow::Ok((digest, module))
            });
            match pulled {
                Ok((digest, module)) => {
                    tracing::info!(source = %source.text, %digest, module = %module.label(), "loaded module");
                    modules.push(Arc::new(module));
                    serving.push((source, Some(digest)));
                }
                Err(e) => {
                    let reason = format!("{}: {e:#}", source.text);
                    tracing::error!(source = %source.text, error = %format!("{e:#}"), "module source not loaded; a server retries in the background");
                    failures.push(reason);
                    serving.push((source, None));
                }
            }
        }
    }
    let registry = Registry::new(modules)?;
    if registry.modules().is_empty() && serving.is_empty() {
        anyhow::bail!(
            "--modules-dir {} holds no *.wasm module and no --module-source is set; build one with `make guest`",
            host.modules_dir.display()
        );
    }
    Ok(Loaded {
        admission,
        registry,
        registries,
        keys,
        sources: serving,
        failures,
    })
}

/// Serves until SIGTERM or SIGINT.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let Loaded {
        admission,
        registry,
        registries,
        keys,
        sources,
        ..
    } = load(&args.host)?;
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
        metrics.clone(),
    ));
    let readiness = Arc::new(Readiness::new(
        sources
            .iter()
            .filter(|(_, digest)| digest.is_none())
            .map(|(s, _)| s.text.clone()),
    ));
    if !args.probe_address.is_empty() {
        let address = args
            .probe_address
            .parse()
            .map_err(|e| anyhow::anyhow!("--probe-address {:?}: {e}", args.probe_address))?;
        crate::probes::spawn(address, readiness.clone(), dispatcher.clone());
    }
    let wake = Arc::new(tokio::sync::Notify::new());
    let follower = Arc::new(Follower {
        registries,
        keys,
        admission: admission.clone(),
        reloader: reloader.clone(),
        metrics,
        poll: args.host.registry.module_poll,
        wake: wake.clone(),
        readiness,
    });
    for (source, digest) in sources {
        follower.spawn(source, digest);
    }
    let watch = crate::watch::spawn(
        reloader.clone(),
        &args.host.modules_dir,
        !args.host.no_watch,
    )?;
    if let Some(address) = args.upload.upload_address {
        serve_uploads(&args, address, admission, reloader, dispatcher.clone())?;
    }
    reload_on_sighup(watch, wake)?;
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

/// Rescans the modules directory and resolves every registry source again
/// on SIGHUP, for as long as the server runs.
fn reload_on_sighup(watch: WatchHandle, sources: Arc<tokio::sync::Notify>) -> anyhow::Result<()> {
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP: rescanning modules");
            watch.trigger();
            sources.notify_waiters();
        }
    });
    Ok(())
}

/// Compiles every module into the cache (for images built ahead of time).
pub fn compile(host: &HostArgs) -> anyhow::Result<()> {
    anyhow::ensure!(host.cache_dir.is_some(), "compile needs --cache-dir");
    let loaded = load(host)?;
    loaded.require_every_source()?;
    let registry = loaded.registry;
    for module in registry.modules() {
        println!("compiled {} from {}", module.label(), module.source);
    }
    Ok(())
}
