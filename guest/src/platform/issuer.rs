//! The ClusterIssuer that puts cert-manager's DNS-01 identity to use. It is
//! composed through provider-kubernetes once cert-manager runs (so its
//! CRDs exist), with the cloud's solver for the claim's public zone, and
//! kept from then on.

use serde_json::{Value, json};

use super::claim::Platform;
use super::cloud::Cloud;
use super::compose::Plan;
use super::helm;
use super::observed::Observed;
use super::pointer::Pointer;
use super::providerconfig;

pub const RESOURCE: &str = "cluster-issuer";
const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

pub fn add(p: &Platform, cloud: &dyn Cloud, observed: Observed<'_>, plan: &mut Plan) {
    let Some(domain) = p.domain.as_deref().filter(|_| p.dns) else {
        return;
    };
    if !helm::is_enabled(p, "cert-manager") {
        return;
    }
    let exists = observed.exists(RESOURCE);
    if !observed.is_ready("helm-cert-manager") && !exists {
        return;
    }
    let manifest = match cloud.dns01_solver(p, observed) {
        Some(solver) => manifest(p, domain, solver),
        // What the solver reads is momentarily unknown: keep what exists.
        None => match observed
            .body(RESOURCE)
            .and_then(|b| b.at("/spec/forProvider/manifest"))
        {
            Some(manifest) => manifest.clone(),
            None => return,
        },
    };
    // Ready when cert-manager has registered the ACME account.
    let readiness = json!({"policy": "DeriveFromObject"});
    plan.add(
        providerconfig::kubernetes_object(p, RESOURCE, manifest, Some(readiness))
            .uses(&["helm-cert-manager"]),
    );
}

fn manifest(p: &Platform, domain: &str, solver: Value) -> Value {
    let name = p.env_str("certManager.issuer").unwrap_or("letsencrypt");
    let mut acme = json!({
        "server": p.env_str("certManager.acmeServer").unwrap_or(LETS_ENCRYPT),
        "privateKeySecretRef": {"name": format!("{name}-account-key")},
        "solvers": [{"selector": {"dnsZones": [domain]}, "dns01": solver}],
    });
    if let Some(email) = p.env_str("certManager.acmeEmail") {
        acme["email"] = json!(email);
    }
    json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": name},
        "spec": {"acme": acme},
    })
}
