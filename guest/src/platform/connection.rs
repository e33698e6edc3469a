//! The connection Secret of a namespaced XR. Crossplane 2 publishes no
//! connection details for a modern composite, so the platform composes
//! `<xr>-connection` in the XR's namespace itself, as Upbound's
//! configurations do, once the cluster's kubeconfig is known.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::claim::Platform;
use super::cloud::{Cloud, KubeAccess};
use super::compose::{Plan, Role, object};
use super::observed::Observed;

pub const RESOURCE: &str = "connection-secret";
/// The type Crossplane gives the connection Secrets it writes.
const SECRET_TYPE: &str = "connection.crossplane.io/v1alpha1";

/// Adds the Secret for a namespaced XR: `kubeconfig`, and the cluster's
/// `endpoint` and `clusterCA` as the cloud reports them.
pub fn add(
    p: &Platform,
    cloud: &dyn Cloud,
    observed: Observed<'_>,
    access: &KubeAccess,
    plan: &mut Plan,
) {
    let Some(namespace) = p.id.form.namespace() else {
        return;
    };
    let Some(kubeconfig) = observed.connection_text(&access.source, access.key) else {
        return;
    };
    let status = cloud.status(p, observed);
    let mut data = Map::new();
    data.insert("kubeconfig".into(), json!(STANDARD.encode(kubeconfig)));
    for (key, field) in [("endpoint", "clusterEndpoint"), ("clusterCA", "clusterCA")] {
        if let Some(value) = status.get(field).and_then(Value::as_str) {
            data.insert(key.into(), json!(STANDARD.encode(value)));
        }
    }
    let body = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": format!("{}-connection", p.id.xr_name), "namespace": namespace},
        "type": SECRET_TYPE,
        "data": data,
    });
    plan.add(object(RESOURCE, body, Role::ReadyByConstruction));
}
