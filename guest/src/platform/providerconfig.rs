//! Helm and Kubernetes ProviderConfigs pointing at the new cluster's
//! kubeconfig. They have no Ready condition, so they are ready as soon as
//! they are rendered.

use serde_json::{Map, Value, json};

use super::claim::Platform;
use super::cloud::KubeAccess;
use super::compose::{Part, Plan, Role, body, object};

pub const HELM: &str = "helm-providerconfig";
pub const KUBERNETES: &str = "kubernetes-providerconfig";

/// Adds both ProviderConfigs, named after the XR so Releases can refer to
/// them by name.
pub fn add(plan: &mut Plan, name: &str, namespace: &str, access: &KubeAccess) {
    let mut spec = json!({
        "credentials": {
            "source": "Secret",
            "secretRef": {"name": access.secret, "namespace": namespace, "key": access.key},
        },
    });
    if let (Some(identity), Some(map)) = (&access.identity, spec.as_object_mut()) {
        map.insert("identity".into(), identity.clone());
    }
    for (resource, api_version) in [
        (HELM, "helm.crossplane.io/v1beta1"),
        (KUBERNETES, "kubernetes.crossplane.io/v1alpha1"),
    ] {
        let body = json!({
            "apiVersion": api_version,
            "kind": "ProviderConfig",
            "metadata": {"name": name},
            "spec": spec,
        });
        plan.add(
            object(resource, body, Role::ReadyByConstruction).uses_all(access.uses.iter().cloned()),
        );
    }
}

/// A manifest applied in the new cluster through the Kubernetes
/// ProviderConfig (a provider-kubernetes `Object`). By default it is
/// ready once created; `readiness` (an Object `spec.readiness`) says
/// otherwise.
pub fn kubernetes_object(
    p: &Platform,
    name: &str,
    manifest: Value,
    readiness: Option<Value>,
) -> Part {
    let for_provider = Map::from_iter([("manifest".to_string(), manifest)]);
    let mut spec = Map::new();
    spec.insert("forProvider".into(), Value::Object(for_provider));
    spec.insert("providerConfigRef".into(), json!({"name": p.id.xr_name}));
    if let Some(readiness) = readiness {
        spec.insert("readiness".into(), readiness);
    }
    let body = body(
        "kubernetes.crossplane.io/v1alpha2",
        "Object",
        Map::new(),
        spec,
    );
    object(name, body, Role::CreateOnly).uses(&[KUBERNETES])
}
