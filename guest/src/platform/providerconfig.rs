//! Helm and Kubernetes ProviderConfigs pointing at the new cluster's
//! kubeconfig. They have no Ready condition, so they are ready as soon as
//! they are rendered.

use serde_json::{Value, json};

use super::claim::Platform;
use super::cloud::KubeAccess;
use super::compose::{Part, Plan, Role, object, spec_body};

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
    // Built by moving the manifest in: `json!` would serialise it into a
    // copy.
    let mut body = spec_body(
        "kubernetes.crossplane.io/v1alpha2",
        "Object",
        "forProvider",
        json!({}),
    );
    body["spec"]["forProvider"]["manifest"] = manifest;
    body["spec"]["providerConfigRef"] = json!({"name": p.id.xr_name});
    if let Some(readiness) = readiness {
        body["spec"]["readiness"] = readiness;
    }
    object(name, body, Role::CreateOnly).uses(&[KUBERNETES])
}
