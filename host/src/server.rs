//! Wiring: runtime, registry and dispatcher behind the gRPC server.

use std::sync::Arc;

use crate::cli::{HostArgs, ServeArgs};
use crate::grpc::service::Dispatcher;
use crate::metrics::Metrics;
use crate::modules::admission::Admission;
use crate::modules::cosign::CosignKeys;
use crate::modules::follow::{Follower, Start};
use crate::modules::oci::{OciSource, Registries};
use crate::modules::registry::Registry;
use crate::modules::reload::Reloader;
use crate::modules::upload::Uploads;
use crate::modules::upload::listener::Transport;
use crate::modules::watch::WatchHandle;
use crate::probes::Readiness;
use crate::wasm::runtime::Runtime;

/// What start-up loaded: the modules of the directory and of every
/// registry source that answered, and the digest each source serves.
pub(crate) struct Loaded {
    pub(crate) admission: Arc<Admission>,
    pub(crate) registry: Registry,
    pub(crate) registries: Arc<Registries>,
    pub(crate) sources: Vec<Start>,
    /// Why each source that did not load did not.
    pub(crate) failures: Vec<String>,
}

impl Loaded {
    /// For one-shot commands (compile, render): a source that did not load
    /// is an error, not something to retry.
    pub(crate) fn require_every_source(&self) -> anyhow::Result<()> {
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
pub(crate) fn load(host: &HostArgs) -> anyhow::Result<Loaded> {
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
    let keys = CosignKeys::load(&host.cosign_keys)?;
    let admission = Arc::new(Admission::new(runtime, keys));
    let mut modules = admission.load_dir(&host.modules_dir)?.modules();
    let registries = Arc::new(Registries::new(
        &host.registry.access()?,
        host.cache_dir.as_deref(),
    ));
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
                    crate::modules::follow::pull(&registries, &admission, &source, &digest).await?;
                anyhow::Ok((digest, module))
            });
            match pulled {
                Ok((digest, module)) => {
                    tracing::info!(source = %source.text, %digest, module = %module.label(), "loaded module");
                    modules.push(Arc::new(module));
                    serving.push(Start {
                        source,
                        serving: Some(digest),
                        verified: true,
                    });
                }
                Err(e) => {
                    let error = format!("{e:#}");
                    let remembered = pulls.block_on(crate::modules::follow::pull_remembered(
                        &registries,
                        &admission,
                        &source,
                    ));
                    match remembered {
                        Ok((digest, module)) => {
                            tracing::warn!(source = %source.text, %digest, module = %module.label(), %error, "module source not reached: serving the digest it had admitted last, from the cache; a server checks it again once the registry answers");
                            modules.push(Arc::new(module));
                            serving.push(Start {
                                source,
                                serving: Some(digest),
                                verified: admission.keys().is_none(),
                            });
                        }
                        Err(_) => {
                            tracing::error!(source = %source.text, %error, "module source not loaded; a server retries in the background");
                            failures.push(format!("{}: {error}", source.text));
                            serving.push(Start {
                                source,
                                serving: None,
                                verified: true,
                            });
                        }
                    }
                }
            }
        }
    }
    let registry = Registry::new(modules)?;
    for start in &serving {
        if let Some(digest) = &start.serving {
            registries.remember(&start.source, digest);
        }
    }
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
            .filter(|start| start.serving.is_none())
            .map(|start| start.source.text.clone()),
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
        admission: admission.clone(),
        reloader: reloader.clone(),
        metrics,
        poll: args.host.registry.module_poll,
        wake: wake.clone(),
        readiness,
    });
    for start in sources {
        follower.spawn(start);
    }
    let watch = crate::modules::watch::spawn(
        reloader.clone(),
        &args.host.modules_dir,
        !args.host.no_watch,
    )?;
    if let Some(address) = args.upload.upload_address {
        serve_uploads(&args, address, admission, reloader, dispatcher.clone())?;
    }
    reload_on_sighup(watch, wake)?;
    crate::grpc::server::serve(dispatcher, &args.function, metrics_registry).await
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
    let transport = match (
        &args.upload.upload_tls_certs_dir,
        args.upload.upload_insecure,
    ) {
        (Some(dir), _) => Transport::tls(dir)?,
        (None, true) => Transport::plain(address)?,
        (None, false) => anyhow::bail!(
            "--upload-address needs --upload-tls-certs-dir (tls.crt, tls.key, and ca.crt to require client certificates), or --upload-insecure on a loopback address"
        ),
    };
    let uploads = Arc::new(Uploads {
        dir: args.host.modules_dir.clone(),
        token,
        admission,
        reloader,
        dispatcher,
        read_timeout: args.upload.upload_read_timeout,
    });
    let max = args.upload.upload_max_mib << 20;
    let idle = args.upload.upload_idle_timeout;
    // Bound here, so a port in use stops the start rather than a task.
    let tcp = std::net::TcpListener::bind(address)
        .and_then(|tcp| {
            tcp.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(tcp)
        })
        .map_err(|e| anyhow::anyhow!("cannot listen for uploads on {address}: {e}"))?;
    tokio::spawn(crate::modules::upload::serve(
        tcp, transport, idle, uploads, max,
    ));
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
