//! Renders the cluster platform for one composite resource.
//!
//! Three layers: the per-cloud layer ([`cloud::Cloud`], one folder per
//! cloud) adds the cloud's resources to a [`compose::Plan`]; the agnostic
//! layer adds ProviderConfigs and Helm releases, then [`compose::finish`]
//! gives every resource its labels, external name, Usages, readiness and
//! import policy, and merges the caller's template overrides last.

pub mod cidr;
pub mod claim;
pub mod cloud;
pub mod compose;
pub mod connection;
pub mod environment;
pub mod error;
pub mod form;
pub mod gateway;
pub mod helm;
pub mod issuer;
pub mod merge;
pub mod observed;
pub mod pointer;
pub mod providerconfig;
pub mod status;
pub mod yaml;

// Each cloud builds only with its feature: a per-cloud module holds the
// shared core and its own cloud.
#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "azure")]
pub mod azure;
#[cfg(feature = "gcp")]
pub mod gcp;

use serde_json::Value;

use crate::log::Log;
use crate::protocol::{Request, Response};
use claim::{ImportMode, Platform};
use compose::{Plan, Role};
use environment::Environment;
use error::{FieldError, RenderError};
use observed::Observed;

/// How long Crossplane may cache a response.
pub const TTL_SECONDS: u64 = 60;

/// Runs one pipeline step: always carries desired state forward, and turns
/// bad input into a fatal result that names the field and the fix.
pub fn run(req: &Request, log: &mut Log) -> Response {
    let mut rsp = Response::to(req, TTL_SECONDS);
    if let Err(error) = render(req, &mut rsp, log) {
        let message = error.to_string();
        log.warn("cannot render the platform", &[("reason", &message)]);
        rsp.fatal(message);
    }
    rsp
}

/// [`run`]'s work, with its error typed: `rsp` holds the requirements and
/// the desired state so far.
pub fn render(req: &Request, rsp: &mut Response, log: &mut Log) -> Result<(), RenderError> {
    let xr = req
        .observed
        .composite
        .as_ref()
        .map(|c| &c.body)
        .ok_or("the request has no observed composite resource")?;
    let id = claim::identity(xr, cloud::CLOUDS)?;
    let cloud = cloud::find(&id.cloud).ok_or("the cloud has no renderer")?;
    let (env, crossplane_v1) = match environment::resolve(req, &id.cloud, id.plane_type.as_deref())
    {
        Environment::Waiting(requirements) => {
            log.info("asking for the EnvironmentConfigs", &[("cloud", &id.cloud)]);
            rsp.requirements = requirements;
            return Ok(());
        }
        Environment::Ready {
            data,
            requirements,
            crossplane_v1,
        } => {
            rsp.requirements = requirements;
            (data, crossplane_v1)
        }
    };
    let observed = Observed::new(&req.observed.resources);
    let mut p = Platform::parse(xr, id, env)?;
    p.crossplane_v1 = crossplane_v1;
    p.existing_names = observed.external_names();
    for pool in &p.pools {
        cloud.check_pool_name(&pool.name).map_err(|rule| {
            FieldError::new(
                "spec.parameters.pools",
                format!(
                    "has the pool name {:?}, which {} does not take",
                    pool.name, p.id.cloud
                ),
                rule,
            )
        })?;
    }
    log.info(
        "rendering the cluster platform",
        &[("cloud", &p.id.cloud), ("cluster", &p.id.cluster)],
    );
    let mut plan = build(&p, cloud, observed)?;
    check_import(&plan, &p)?;

    let (policies, waiting) = compose::import_policies(&plan, &p, observed);
    let observe_only = p
        .import
        .as_ref()
        .is_some_and(|i| i.mode == ImportMode::Observe);
    if let Some(import) = p.import.as_ref().filter(|_| observe_only) {
        // Observe mode creates nothing: only the listed resources remain.
        plan.parts
            .retain(|part| import.resources.contains_key(&part.name));
    }
    let finished = compose::finish(plan, &p, observed, &policies, !observe_only);
    rsp.desired.resources.extend(finished.resources);
    if !finished.dangling.is_empty() {
        // Never silently: a deletion order the platform meant is missing.
        rsp.warning(format!(
            "no Usage for {}: the used resource is not composed",
            finished.dangling.join(", ")
        ));
    }

    let legacy_usages = p.env_value("usages.legacy").and_then(Value::as_bool);
    if p.id.form != form::Form::Legacy && legacy_usages == Some(true) {
        rsp.warning(
            "usages.legacy is ignored for a namespaced composite: its resources are protected by protection.crossplane.io Usages in its namespace",
        );
    }
    if !waiting.is_empty() {
        rsp.normal(
            "ImportWaitingForObservation",
            format!(
                "import: {} stay on Observe until Crossplane has observed them, then switch to full management",
                waiting.join(", ")
            ),
        );
    }
    let access = cloud.kube_access(&p);
    let charts = helm::waiting(&p, cloud, observed, &access);
    if !charts.is_empty() && !observe_only {
        rsp.normal(
            "WaitingForCluster",
            format!(
                "charts {} are released once the cluster, one of its node pools and what their first install needs are ready",
                charts.join(", ")
            ),
        );
    }
    status::update(
        rsp,
        xr,
        &p,
        cloud,
        observed,
        (!observe_only).then_some(&access),
    );
    Ok(())
}

/// Every resource of the platform, before the agnostic finish.
pub fn build(
    p: &Platform,
    cloud: &dyn cloud::Cloud,
    observed: Observed<'_>,
) -> Result<Plan, String> {
    let mut plan = Plan::default();
    cloud.network(p, &mut plan)?;
    cloud.cluster(p, &mut plan);
    cloud.node_pools(p, &mut plan);
    if p.dns {
        cloud.dns(p, &mut plan);
    }
    cloud.identity(p, observed, &mut plan);
    let access = cloud.kube_access(p);
    providerconfig::add(&mut plan, &p.id.xr_name, &p.secret_namespace, &access);
    let uses = [providerconfig::HELM.to_string(), "cluster".to_string()];
    helm::releases(p, cloud, observed, &access, &mut plan, &uses)?;
    issuer::add(p, cloud, observed, &mut plan);
    gateway::add(p, cloud, observed, &mut plan);
    connection::add(p, cloud, observed, &access, &mut plan);
    if let Some(namespace) = p.id.form.namespace() {
        form::to_namespaced(&mut plan, namespace);
    }
    Ok(plan)
}

/// Import names must be managed resources of this platform.
fn check_import(plan: &Plan, p: &Platform) -> Result<(), FieldError> {
    let Some(import) = &p.import else {
        return Ok(());
    };
    let importable: Vec<&str> = plan
        .parts
        .iter()
        .filter(|part| part.role == Role::Managed)
        .map(|part| part.name.as_str())
        .collect();
    for name in import.resources.keys() {
        match plan.get(name) {
            Some(part) if part.role == Role::Managed => {}
            Some(part) => {
                let kind = part
                    .body
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("resource");
                return Err(FieldError::new(
                    format!("spec.parameters.import.resources.{name}"),
                    format!("names a {kind}, which the platform creates and cannot import"),
                    format!("expected one of {}", importable.join(", ")),
                ));
            }
            None => {
                return Err(FieldError::new(
                    format!("spec.parameters.import.resources.{name}"),
                    "names no resource this platform renders",
                    format!("expected one of {}", importable.join(", ")),
                ));
            }
        }
    }
    Ok(())
}
