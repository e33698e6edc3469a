//! Command-line interface: `serve` (the default, as Crossplane runs the
//! image with no arguments) and `compile` (warms the compiled-module cache).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::wasm::limits::Limits;

#[derive(Parser, Debug)]
#[command(
    name = "function-cluster-platform",
    version,
    about = "Crossplane composition function that runs the cluster platform as WASI components",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve RunFunction over gRPC (the default).
    Serve(Box<ServeArgs>),
    /// Compile every module into --cache-dir and exit.
    Compile(CompileArgs),
    /// Render a composite resource or claim locally, like `crossplane render`.
    Render(Box<crate::render::RenderArgs>),
    /// Run the reconcile loop locally against simulated providers, round
    /// by round, until the composite is Ready; the arguments of `render`.
    Converge(Box<crate::render::converge::ConvergeArgs>),
    /// Create a key pair as `cosign generate-key-pair` does: <dir>/cosign.key
    /// (encrypted with COSIGN_PASSWORD) and <dir>/cosign.pub (for --cosign-key).
    Keygen {
        #[arg(long, default_value = ".")]
        out_dir: PathBuf,
    },
    /// Publish a module to a registry as a Wasm OCI artifact; prints the
    /// digest to pin.
    Push {
        /// oci://REGISTRY/REPOSITORY:TAG
        reference: String,
        module: PathBuf,
        /// Also sign it as `cosign sign` does, with this private key (PKCS#8
        /// PEM, or cosign's encrypted key with COSIGN_PASSWORD).
        #[arg(long)]
        key: Option<PathBuf>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Sign a module file as `cosign sign-blob` does: writes the base64
    /// signature to <module>.wasm.sig beside it.
    Sign {
        /// The private key: cosign's encrypted PEM (COSIGN_PASSWORD) or PKCS#8.
        #[arg(long)]
        key: PathBuf,
        module: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub function: function_sdk_rust::Args,
    #[command(flatten)]
    pub(crate) host: HostArgs,
    #[command(flatten)]
    pub(crate) upload: UploadArgs,

    /// Serve /livez, /readyz and /modules here, for the kubelet; empty
    /// turns them off.
    #[arg(long, env = "PROBE_ADDRESS", default_value = "0.0.0.0:8081")]
    pub(crate) probe_address: String,
}

/// The opt-in module upload API.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct UploadArgs {
    /// Serve the module upload API here (e.g. 0.0.0.0:9444); off when unset.
    /// It never shares the function's port.
    #[arg(long, env = "UPLOAD_ADDRESS")]
    pub(crate) upload_address: Option<std::net::SocketAddr>,

    /// File holding the bearer token the upload API requires.
    #[arg(long, env = "UPLOAD_TOKEN_FILE")]
    pub(crate) upload_token_file: Option<PathBuf>,

    /// Largest module the upload API accepts, in MiB.
    #[arg(long, default_value_t = 64)]
    pub(crate) upload_max_mib: usize,

    /// Serve the upload API over TLS with tls.crt and tls.key from here;
    /// with a ca.crt too, clients must present a certificate it signed.
    #[arg(long, env = "UPLOAD_TLS_CERTS_DIR")]
    pub(crate) upload_tls_certs_dir: Option<PathBuf>,

    /// Serve the upload API over plain HTTP instead: only on a loopback
    /// address (local development).
    #[arg(long, conflicts_with = "upload_tls_certs_dir")]
    pub(crate) upload_insecure: bool,

    /// How long a TLS handshake, or a request's body, may take to arrive.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub(crate) upload_read_timeout: Duration,

    /// How long a connection may wait for a request's headers before it is
    /// closed: after connecting, and between requests.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub(crate) upload_idle_timeout: Duration,
}

#[derive(clap::Args, Debug)]
pub struct CompileArgs {
    #[command(flatten)]
    pub host: HostArgs,
}

/// Where modules come from and what one call may use.
#[derive(clap::Args, Debug, Clone)]
pub struct HostArgs {
    /// Directory of composition modules (*.wasm).
    #[arg(long, env = "MODULES_DIR", default_value = "/modules")]
    pub(crate) modules_dir: PathBuf,

    /// Directory for compiled modules, so a restart does not recompile.
    #[arg(long, env = "CACHE_DIR")]
    pub(crate) cache_dir: Option<PathBuf>,

    /// Wall-clock limit of one module call, e.g. 2s or 500ms.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub(crate) module_timeout: Duration,

    /// Linear-memory limit of one module instance, in MiB.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub(crate) module_memory_mib: u32,

    /// Module calls that run at once; further calls wait their turn.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) max_concurrent_calls: u32,

    /// Log lines one module call may emit before the rest are dropped and counted.
    #[arg(long, default_value_t = 200)]
    pub(crate) module_log_lines: usize,

    /// A cosign public key (PEM): every module is admitted only with a
    /// cosign signature by one of these keys; a file's is `<module>.wasm.sig`
    /// (`cosign sign-blob`), a registry module's its `sha256-<digest>.sig`
    /// tag (`cosign sign`). Repeatable; COSIGN_KEYS takes a comma-separated
    /// list.
    #[arg(long = "cosign-key", env = "COSIGN_KEYS", value_delimiter = ',')]
    pub(crate) cosign_keys: Vec<PathBuf>,

    /// Do not watch --modules-dir; reload on SIGHUP only (e.g. on file
    /// systems without change notification).
    #[arg(long)]
    pub(crate) no_watch: bool,

    /// How long a module file must stay unchanged before a reload reads it.
    #[arg(long, default_value = "250ms", value_parser = parse_duration)]
    pub(crate) module_settle: Duration,

    #[command(flatten)]
    pub(crate) registry: RegistryArgs,
}

/// Modules from OCI registries, beside the modules directory.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RegistryArgs {
    /// A module in a registry: oci://REGISTRY/REPOSITORY@sha256:DIGEST
    /// (pinned) or oci://REGISTRY/REPOSITORY:TAG (followed). Repeatable;
    /// MODULE_SOURCES takes a comma-separated list.
    #[arg(long = "module-source", env = "MODULE_SOURCES", value_delimiter = ',')]
    pub(crate) module_sources: Vec<String>,

    /// How often a followed tag is resolved again.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub(crate) module_poll: Duration,

    /// A registry host (host:port) spoken to over plain HTTP. Repeatable.
    #[arg(
        long = "insecure-registry",
        env = "INSECURE_REGISTRIES",
        value_delimiter = ','
    )]
    pub(crate) insecure_registries: Vec<String>,

    /// Registry credentials: a Docker config (the .dockerconfigjson of an
    /// image pull secret).
    #[arg(long, env = "REGISTRY_CONFIG")]
    pub(crate) registry_config: Option<PathBuf>,

    /// PEM certificates trusted for registries, beside the system roots.
    #[arg(long, env = "REGISTRY_CA")]
    pub(crate) registry_ca: Option<PathBuf>,
}

impl RegistryArgs {
    pub fn access(&self) -> anyhow::Result<crate::modules::oci::Access> {
        crate::modules::oci::Access::load(
            &self.insecure_registries,
            self.registry_config.as_deref(),
            self.registry_ca.as_deref(),
        )
    }
}

impl HostArgs {
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            timeout: self.module_timeout,
            memory_bytes: (self.module_memory_mib as usize) << 20,
            max_log_lines: self.module_log_lines,
            max_concurrent_calls: self.max_concurrent_calls,
            ..Limits::default()
        }
    }
}

/// Parses `250ms`, `2s` or `1m`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration; use e.g. 500ms, 2s or 1m"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => return Err(format!("{text:?} has an unknown unit; use ms, s or m")),
    };
    if duration.is_zero() {
        return Err("a duration must be more than zero".into());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_reject_nonsense() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("2").unwrap_err().contains("unit"));
        assert!(
            parse_duration("fast")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn a_bare_insecure_flag_serves() {
        let cli = Cli::try_parse_from(["function-cluster-platform", "--insecure"]).unwrap();
        assert!(cli.command.is_none());
        assert!(cli.serve.function.insecure);
        assert_eq!(cli.serve.function.address, "0.0.0.0:9443");
    }
}
