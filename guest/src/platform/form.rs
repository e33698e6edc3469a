//! Which Crossplane API the composite speaks, and the namespaced twin of
//! every resource for the modern one.
//!
//! A legacy XR (cluster-scoped, usually behind a claim) composes the
//! providers' cluster-scoped kinds. A Crossplane 2 namespaced XR may
//! compose only namespaced resources in its own namespace: the providers'
//! `.m.` groups, which have one version each, already in the embedded
//! object shape of the cluster-scoped groups' newest version.

use serde_json::{Value, json};

use super::compose::Plan;
use super::pointer::Pointer;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// Cluster-scoped XR: today's cluster-scoped resources.
    Legacy,
    /// Namespaced XR: namespaced resources in this namespace.
    Namespaced(String),
}

impl Form {
    /// A composite with a namespace is a namespaced XR, whatever its group
    /// and kind; Crossplane never gives a cluster-scoped one a namespace.
    pub fn of(xr: &Value) -> Self {
        match xr.at("/metadata/namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() => Self::Namespaced(ns.to_string()),
            _ => Self::Legacy,
        }
    }

    pub fn namespace(&self) -> Option<&str> {
        match self {
            Self::Legacy => None,
            Self::Namespaced(ns) => Some(ns),
        }
    }
}

/// The namespaced twin of a cluster-scoped API version, or `None` for a
/// kind that has none (it is namespaced already, like a Secret).
pub fn namespaced_api_version(api_version: &str) -> Option<String> {
    let (group, _) = api_version.split_once('/')?;
    if group.contains(".m.") {
        return Some(api_version.to_string());
    }
    let twin = |suffix: &str, version: &str| {
        let prefix = group.strip_suffix(suffix)?;
        Some(format!("{prefix}.m{suffix}/{version}"))
    };
    match group {
        "helm.crossplane.io" => twin(".crossplane.io", "v1beta1"),
        "kubernetes.crossplane.io" => twin(".crossplane.io", "v1alpha1"),
        _ if group.ends_with(".upbound.io") => twin(".upbound.io", "v1beta1"),
        _ => None,
    }
}

/// Rewrites every resource of the plan to its namespaced twin in
/// `namespace`: the `.m.` API version, the namespace, connection secrets
/// written beside the resource (the `.m.` kinds take only a name), and
/// references to this platform's own ProviderConfigs by kind.
pub fn to_namespaced(plan: &mut Plan, namespace: &str) {
    for part in &mut plan.parts {
        let body = &mut part.body;
        if let Some(twin) = body
            .get("apiVersion")
            .and_then(Value::as_str)
            .and_then(namespaced_api_version)
        {
            body["apiVersion"] = json!(twin);
        }
        if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("namespace".into(), json!(namespace));
        }
        let Some(spec) = body.get_mut("spec").and_then(Value::as_object_mut) else {
            continue;
        };
        if let Some(Value::Object(secret)) = spec.get_mut("writeConnectionSecretToRef") {
            secret.remove("namespace");
        }
        // Only Releases and Objects carry a reference yet: to the
        // namespaced ProviderConfigs this platform composes beside them.
        if let Some(Value::Object(reference)) = spec.get_mut("providerConfigRef") {
            reference.insert("kind".into(), json!("ProviderConfig"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_group_has_its_twin() {
        for (legacy, twin) in [
            (
                "container.gcp.upbound.io/v1beta2",
                "container.gcp.m.upbound.io/v1beta1",
            ),
            ("azure.upbound.io/v1beta1", "azure.m.upbound.io/v1beta1"),
            ("helm.crossplane.io/v1beta1", "helm.m.crossplane.io/v1beta1"),
            (
                "kubernetes.crossplane.io/v1alpha2",
                "kubernetes.m.crossplane.io/v1alpha1",
            ),
        ] {
            assert_eq!(namespaced_api_version(legacy).as_deref(), Some(twin));
        }
        assert_eq!(namespaced_api_version("v1"), None);
        assert_eq!(
            namespaced_api_version("protection.crossplane.io/v1beta1"),
            None
        );
    }

    #[test]
    fn the_form_follows_the_namespace() {
        assert_eq!(Form::of(&json!({"metadata": {"name": "x"}})), Form::Legacy);
        assert_eq!(
            Form::of(&json!({"metadata": {"name": "x", "namespace": "team-a"}})),
            Form::Namespaced("team-a".into())
        );
    }
}
