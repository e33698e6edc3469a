use clap::Parser;
use fnhost::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Command::Render(args)) => {
            // Render prints YAML on stdout; only warnings go to stderr.
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_max_level(tracing::Level::WARN)
                .init();
            run_render(&args)
        }
        Some(Command::Converge(args)) => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_max_level(tracing::Level::WARN)
                .init();
            run_converge(&args)
        }
        Some(Command::Keygen { out_dir }) => keygen(&out_dir),
        Some(Command::Sign { key, module }) => sign(&key, &module),
        Some(Command::Push {
            reference,
            module,
            key,
            registry,
        }) => push(&reference, &module, key.as_deref(), &registry),
        Some(Command::Compile(args)) => {
            init_logging(false);
            fnhost::server::compile(&args.host)
        }
        Some(Command::Serve(args)) => {
            init_logging(args.function.debug);
            run_server(*args)
        }
        None => {
            init_logging(cli.serve.function.debug);
            run_server(cli.serve)
        }
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(debug: bool) {
    function_sdk_rust::logging::Builder::new(debug)
        .quiet(["wasmtime", "cranelift_codegen", "wasmtime_cranelift"])
        .init();
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn run_server(args: fnhost::cli::ServeArgs) -> anyhow::Result<()> {
    runtime()?.block_on(fnhost::server::serve(args))
}

fn run_render(args: &fnhost::render::RenderArgs) -> anyhow::Result<()> {
    let yaml = runtime()?.block_on(fnhost::render::render(args))?;
    print!("{yaml}");
    Ok(())
}

/// The rounds go to stderr, the final stream to stdout, as `render` prints.
fn run_converge(args: &fnhost::render::converge::ConvergeArgs) -> anyhow::Result<()> {
    match runtime()?.block_on(fnhost::render::converge::converge(args)) {
        Ok(done) => {
            eprint!("{}", done.rounds);
            print!("{}", done.stream);
            Ok(())
        }
        Err(stopped) => {
            eprint!("{}", stopped.rounds);
            Err(stopped.reason)
        }
    }
}

/// Writes cosign.key and cosign.pub; the password comes from
/// COSIGN_PASSWORD, as for cosign.
fn keygen(dir: &std::path::Path) -> anyhow::Result<()> {
    let password = std::env::var("COSIGN_PASSWORD").unwrap_or_default();
    let (private, public) = fnhost::modules::cosign::generate_key_pair(password.as_bytes())?;
    let private_path = dir.join("cosign.key");
    let public_path = dir.join("cosign.pub");
    for path in [&private_path, &public_path] {
        anyhow::ensure!(
            !path.exists(),
            "{} exists; keygen does not overwrite keys",
            path.display()
        );
    }
    std::fs::write(&private_path, private)?;
    std::fs::set_permissions(
        &private_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )?;
    std::fs::write(&public_path, public)?;
    println!(
        "wrote {} and {}{}",
        private_path.display(),
        public_path.display(),
        if password.is_empty() {
            " (COSIGN_PASSWORD is empty: the private key has an empty password)"
        } else {
            ""
        }
    );
    Ok(())
}

fn sign(key: &std::path::Path, module: &std::path::Path) -> anyhow::Result<()> {
    let key = std::fs::read(key)
        .map_err(|e| anyhow::anyhow!("cannot read --key {}: {e}", key.display()))?;
    let bytes = std::fs::read(module)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", module.display()))?;
    let signature = fnhost::modules::cosign::sign(&key, &bytes)?;
    let path = fnhost::modules::cosign::signature_path(module);
    std::fs::write(&path, signature)?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Publishes a module and prints the reference to pin, by digest.
fn push(
    reference: &str,
    module: &std::path::Path,
    key: Option<&std::path::Path>,
    registry: &fnhost::cli::RegistryArgs,
) -> anyhow::Result<()> {
    let source = fnhost::modules::oci::OciSource::parse(reference)?;
    anyhow::ensure!(
        source.pinned().is_none(),
        "push to a tag (oci://REGISTRY/REPOSITORY:TAG); the digest is the registry's answer"
    );
    let bytes = std::fs::read(module)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", module.display()))?;
    let registries = fnhost::modules::oci::Registries::new(&registry.access()?, None);
    let key = key
        .map(|k| {
            std::fs::read(k).map_err(|e| anyhow::anyhow!("cannot read --key {}: {e}", k.display()))
        })
        .transpose()?;
    let digest = runtime()?.block_on(async {
        let digest = registries.push(&source.reference, bytes).await?;
        if let Some(key) = &key {
            registries
                .push_signature(&source.reference, &digest, key)
                .await?;
        }
        anyhow::Ok(digest)
    })?;
    let repository = format!(
        "oci://{}/{}",
        source.reference.registry(),
        source.reference.repository()
    );
    println!("{repository}@{digest}");
    Ok(())
}
