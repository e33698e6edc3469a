//! `render`: renders a composite resource (or claim) through a
//! Composition's pipeline locally, with the same arguments and output as
//! `crossplane render`. Steps of this package run in-process through the
//! same module registry and sandbox as the server: no cluster, no Docker.

pub mod claim;
pub mod converge;
pub mod docs;
pub(crate) mod environment;
pub(crate) mod output;
pub mod pipeline;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use function_sdk_rust::proto::v1 as pb;
use function_sdk_rust::resource::struct_to_json;
use serde_json::Value;

use crate::cli::{HostArgs, parse_duration};
use crate::grpc::service::Dispatcher;
use crate::metrics::Metrics;
use docs::str_at;
use pipeline::{Runner, Step};

/// The name this package's Function carries in functions.yaml.
pub(crate) const PACKAGE_NAME: &str = "function-cluster-platform";
const RUNTIME_ANNOTATION: &str = "render.crossplane.io/runtime";
const TARGET_ANNOTATION: &str = "render.crossplane.io/runtime-development-target";

#[derive(clap::Args, Debug)]
pub struct RenderArgs {
    /// The composite resource (XR) or claim to render.
    pub(crate) composite_resource: PathBuf,
    /// The Composition whose pipeline renders it.
    pub(crate) composition: PathBuf,
    /// The Functions the pipeline uses (pkg.crossplane.io Function objects).
    pub(crate) functions: PathBuf,

    /// Resources the functions may require (file or folder of YAML), e.g.
    /// EnvironmentConfigs.
    #[arg(short = 'e', long, visible_alias = "extra-resources")]
    pub(crate) required_resources: Vec<PathBuf>,

    /// Observed composed resources (file or folder of YAML); each carries
    /// the crossplane.io/composition-resource-name annotation.
    #[arg(short = 'o', long)]
    pub(crate) observed_resources: Option<PathBuf>,

    /// Context keys from files: key=file.json, repeatable or ;-separated.
    #[arg(long)]
    pub(crate) context_files: Vec<String>,

    /// Context keys from values: key=<json>, repeatable or ;-separated.
    #[arg(long)]
    pub(crate) context_values: Vec<String>,

    /// Print the functions' results.
    #[arg(short = 'r', long)]
    pub(crate) include_function_results: bool,

    /// Print the XR's spec and metadata too.
    #[arg(short = 'x', long)]
    pub(crate) include_full_xr: bool,

    /// Print the pipeline's final context.
    #[arg(short = 'c', long)]
    pub(crate) include_context: bool,

    /// Secrets the steps' credentials name (file or folder of YAML).
    #[arg(long)]
    pub(crate) function_credentials: Option<PathBuf>,

    /// Time the whole render may take.
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub(crate) timeout: Duration,

    /// The XRD, to render a claim (default: definition.yaml beside the
    /// Composition, when present).
    #[arg(long)]
    pub(crate) xrd: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) host: HostArgs,
}

/// Everything a render reads before it calls the pipeline: the composite,
/// the runnable steps, the resources they may require and the context.
pub(crate) struct Prepared {
    pub(crate) xr: Value,
    steps: Vec<Step>,
    available: Vec<Value>,
    context: serde_json::Map<String, Value>,
    timeout: Duration,
}

impl Prepared {
    /// Reads the arguments' files and makes every step runnable.
    pub(crate) fn new(args: &RenderArgs) -> anyhow::Result<Self> {
        let composition = docs::read_one(&args.composition, "the Composition")?;
        let functions = docs::read(&args.functions)?;
        let xrd = match &args.xrd {
            Some(path) => Some(docs::read_one(path, "the XRD")?),
            None => {
                let beside = args.composition.with_file_name("definition.yaml");
                beside
                    .exists()
                    .then(|| docs::read_one(&beside, "the XRD"))
                    .transpose()?
            }
        };
        let xr = claim::composite_for(
            docs::read_one(&args.composite_resource, "the composite resource")?,
            xrd.as_ref(),
        )?;
        check_composition(&composition, &xr)?;
        let mut available = Vec::new();
        for path in &args.required_resources {
            available.extend(docs::read(path)?);
        }
        let secrets = match &args.function_credentials {
            Some(path) => docs::read(path)?,
            None => Vec::new(),
        };
        let mut context = initial_context(&args.context_files, &args.context_values)?;
        if let Some(env) = environment::legacy_environment(&composition, &xr, &available)? {
            let key = environment::CONTEXT_KEY.to_string();
            context.entry(key).or_insert(env);
        }
        let steps = steps(&composition, &functions, &secrets, &args.host)?;
        Ok(Self {
            xr,
            steps,
            available,
            context,
            timeout: args.timeout,
        })
    }

    /// Runs the pipeline once against `observed`, within the timeout.
    pub(crate) async fn run(&self, observed: pb::State) -> anyhow::Result<pipeline::Outcome> {
        tokio::time::timeout(
            self.timeout,
            pipeline::run(
                &self.steps,
                observed,
                pipeline::to_struct(&Value::Object(self.context.clone())),
                &self.available,
            ),
        )
        .await
        .map_err(|_| anyhow::anyhow!("rendering took longer than --timeout {:?}", self.timeout))?
    }
}

/// The print options of `args`.
pub(crate) fn options(args: &RenderArgs) -> output::Options {
    output::Options {
        include_full_xr: args.include_full_xr,
        include_results: args.include_function_results,
        include_context: args.include_context,
    }
}

/// Renders and returns the YAML stream.
pub async fn render(args: &RenderArgs) -> anyhow::Result<String> {
    let prepared = Prepared::new(args)?;
    let observed = observed_state(&prepared.xr, args.observed_resources.as_deref())?;
    // Crossplane keeps the name of a resource it already observed.
    let observed_names = observed_names(&observed);
    let outcome = prepared.run(observed).await?;
    output::to_yaml(&output::documents(
        &prepared.xr,
        &outcome,
        &observed_names,
        &options(args),
    )?)
}

/// The names of observed resources, by composition resource name.
fn observed_names(observed: &pb::State) -> BTreeMap<String, String> {
    observed
        .resources
        .iter()
        .map(|(key, r)| {
            let body = r.resource.as_ref().map(struct_to_json).unwrap_or_default();
            (key.clone(), str_at(&body, "/metadata/name").to_string())
        })
        .filter(|(_, name)| !name.is_empty())
        .collect()
}

fn check_composition(composition: &Value, xr: &Value) -> anyhow::Result<()> {
    let mode = str_at(composition, "/spec/mode");
    anyhow::ensure!(
        mode.is_empty() || mode == "Pipeline",
        "the Composition's spec.mode is {mode:?}; render runs only mode: Pipeline"
    );
    let (api_version, kind) = (
        str_at(composition, "/spec/compositeTypeRef/apiVersion"),
        str_at(composition, "/spec/compositeTypeRef/kind"),
    );
    let (xr_api, xr_kind) = (str_at(xr, "/apiVersion"), str_at(xr, "/kind"));
    anyhow::ensure!(
        api_version == xr_api && kind == xr_kind,
        "the Composition composes {api_version} {kind}, not the given {xr_api} {xr_kind}"
    );
    Ok(())
}

fn observed_state(xr: &Value, path: Option<&Path>) -> anyhow::Result<pb::State> {
    let mut state = pb::State {
        composite: Some(pipeline::resource(xr)),
        ..Default::default()
    };
    let Some(path) = path else {
        return Ok(state);
    };
    for doc in docs::read(path)? {
        let name = str_at(
            &doc,
            "/metadata/annotations/crossplane.io~1composition-resource-name",
        );
        anyhow::ensure!(
            !name.is_empty(),
            "observed resource {} {} has no crossplane.io/composition-resource-name annotation; add it",
            str_at(&doc, "/kind"),
            str_at(&doc, "/metadata/name")
        );
        state
            .resources
            .insert(name.to_string(), pipeline::resource(&doc));
    }
    Ok(state)
}

fn initial_context(
    files: &[String],
    values: &[String],
) -> anyhow::Result<serde_json::Map<String, Value>> {
    let pairs = |list: &[String]| -> anyhow::Result<Vec<(String, String)>> {
        list.iter()
            .flat_map(|s| s.split(';'))
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .ok_or_else(|| anyhow::anyhow!("{s:?} is not key=value"))
            })
            .collect()
    };
    let mut context = serde_json::Map::new();
    for (key, file) in pairs(files)? {
        context.insert(key, docs::read_one(Path::new(&file), "the context file")?);
    }
    // Values win over files, as in crossplane render.
    for (key, value) in pairs(values)? {
        let parsed: Value = serde_yaml::from_str(&value)
            .map_err(|e| anyhow::anyhow!("--context-values {key}: not JSON or YAML: {e}"))?;
        context.insert(key, parsed);
    }
    Ok(context)
}

/// One runnable step per pipeline entry, or an error saying how to make a
/// step runnable.
fn steps(
    composition: &Value,
    functions: &[Value],
    secrets: &[Value],
    host: &HostArgs,
) -> anyhow::Result<Vec<Step>> {
    let pipeline = composition
        .pointer("/spec/pipeline")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow::anyhow!("the Composition has no spec.pipeline"))?;
    let mut dispatcher: Option<Arc<Dispatcher>> = None;
    let mut steps = Vec::new();
    for entry in pipeline {
        let name = str_at(entry, "/step").to_string();
        let function_name = str_at(entry, "/functionRef/name");
        let function = functions
            .iter()
            .find(|f| str_at(f, "/kind") == "Function" && str_at(f, "/metadata/name") == function_name)
            .ok_or_else(|| anyhow::anyhow!("step {name:?} uses function {function_name:?}, which the functions file does not list"))?;
        let runtime = str_at(
            function,
            "/metadata/annotations/render.crossplane.io~1runtime",
        );
        // This package always runs in-process, whatever its runtime
        // annotation says, so one functions.yaml serves both renders.
        let runner = if function_name == PACKAGE_NAME
            || str_at(function, "/spec/package").contains(PACKAGE_NAME)
        {
            let dispatcher = match &dispatcher {
                Some(d) => d.clone(),
                None => {
                    let loaded = crate::server::load(host)?;
                    loaded.require_every_source()?;
                    let (runtime, registry) = (loaded.admission.runtime().clone(), loaded.registry);
                    let d = Arc::new(Dispatcher::new(runtime, registry, Metrics::unregistered()));
                    dispatcher = Some(d.clone());
                    d
                }
            };
            Runner::InProcess(dispatcher)
        } else if runtime == "Development" {
            let target = function
                .pointer(&format!(
                    "/metadata/annotations/{}",
                    TARGET_ANNOTATION.replace('/', "~1")
                ))
                .and_then(Value::as_str)
                .unwrap_or("localhost:9443");
            Runner::Grpc(target.to_string())
        } else {
            anyhow::bail!(
                "step {name:?} uses function {function_name:?}, which render cannot run here: serve it yourself and annotate its Function with {RUNTIME_ANNOTATION}: Development (and {TARGET_ANNOTATION}: <host:port>, default localhost:9443)"
            );
        };
        steps.push(Step {
            credentials: pipeline::credentials(entry, secrets)?,
            name,
            runner,
            input: entry.get("input").cloned(),
        });
    }
    Ok(steps)
}
