//! Renders the cluster platform for one composite resource.

use serde_json::{Value, json};

use crate::log::Log;
use crate::protocol::{Ready, Request, Resource, Response};

/// How long Crossplane may cache a response.
pub const TTL_SECONDS: u64 = 60;

const CLOUDS: &[&str] = &["gcp", "aws", "azure"];

/// Runs one pipeline step: always carries desired state forward, and turns
/// bad input into a fatal result that names the field and the fix.
pub fn run(req: &Request, log: &mut Log) -> Response {
    let mut rsp = Response::to(req, TTL_SECONDS);
    if let Err(message) = render(req, &mut rsp, log) {
        rsp.fatal(message);
    }
    rsp
}

fn render(req: &Request, rsp: &mut Response, log: &mut Log) -> Result<(), String> {
    let xr = req
        .observed
        .composite
        .as_ref()
        .map(|c| &c.body)
        .ok_or("the request has no observed composite resource")?;
    let label = |key: &str| {
        xr.pointer(&format!("/metadata/labels/{key}"))
            .and_then(Value::as_str)
    };
    let cloud = label("cloud")
        .ok_or("metadata.labels.cloud is missing: set it to one of gcp, aws, azure on the claim")?;
    if !CLOUDS.contains(&cloud) {
        return Err(format!(
            "metadata.labels.cloud is {cloud:?}: expected one of {}",
            CLOUDS.join(", ")
        ));
    }
    let plane = label("planeId")
        .filter(|p| !p.is_empty())
        .ok_or("metadata.labels.planeId is missing: set it to the project, account or resource group the cluster lives in")?;
    let location = xr
        .pointer("/spec/parameters/forProvider/location")
        .and_then(Value::as_str)
        .filter(|l| !l.is_empty())
        .ok_or(
            "spec.parameters.forProvider.location is missing: set the region, e.g. us-central1",
        )?;
    let name = label("clusterName")
        .or_else(|| xr.pointer("/metadata/name").and_then(Value::as_str))
        .unwrap_or("cluster");
    log.info("rendering cluster", &[("cloud", cloud), ("cluster", name)]);

    if cloud == "gcp" {
        let cluster = json!({
            "apiVersion": "container.gcp.upbound.io/v1beta2",
            "kind": "Cluster",
            "metadata": {"annotations": {"crossplane.io/external-name": name}},
            "spec": {"forProvider": {
                "project": plane,
                "location": location,
                "deletionProtection": false,
                "initialNodeCount": 1,
                "removeDefaultNodePool": true,
                "workloadIdentityConfig": {"workloadPool": format!("{plane}.svc.id.goog")},
            }},
        });
        let mut resource = Resource::new(cluster);
        resource.ready = Ready::Unspecified;
        rsp.desired.resources.insert("cluster".into(), resource);
    }
    Ok(())
}
