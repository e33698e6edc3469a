//! XR status from observed resources: only fields the clouds have
//! reported, so a status never claims what is not known yet.

use serde_json::{Map, Value, json};

use super::claim::Platform;
use super::cloud::{Cloud, KubeAccess};
use super::observed::Observed;
use crate::protocol::{Resource, Response};

pub fn update(
    rsp: &mut Response,
    xr: &Value,
    p: &Platform,
    cloud: &dyn Cloud,
    observed: Observed<'_>,
    access: Option<&KubeAccess>,
) {
    let mut status = cloud.status(p, observed);
    if let Some(access) = access.filter(|a| observed.is_ready(&a.source)) {
        status.insert(
            "kubeconfigSecretRef".into(),
            json!({"name": access.secret, "namespace": p.secret_namespace, "key": access.key}),
        );
    }
    if status.is_empty() {
        return;
    }
    let composite = rsp.desired.composite.get_or_insert_with(|| {
        Resource::new(json!({
            "apiVersion": xr.get("apiVersion").cloned().unwrap_or(Value::Null),
            "kind": xr.get("kind").cloned().unwrap_or(Value::Null),
        }))
    });
    if !composite.body.is_object() {
        composite.body = json!({});
    }
    if let Some(body) = composite.body.as_object_mut() {
        let current = body
            .entry("status")
            .or_insert_with(|| Value::Object(Map::new()));
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        super::merge::deep_merge(current, &Value::Object(status));
    }
}

/// Inserts `key: value` when the value is known.
pub fn put(status: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        status.insert(key.to_string(), json!(v));
    }
}

/// Name servers of the public zone, when the DNS resource reports them.
pub fn put_zone(status: &mut Map<String, Value>, p: &Platform, name_servers: Option<&Value>) {
    let Some(domain) = p.domain.as_ref().filter(|_| p.dns) else {
        return;
    };
    let mut dns = Map::new();
    if let Some(ns) = name_servers
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    {
        dns.insert("zone".into(), json!(domain));
        dns.insert("nameServers".into(), Value::Array(ns.clone()));
    }
    if !dns.is_empty() {
        status.insert("dns".into(), Value::Object(dns));
    }
}
