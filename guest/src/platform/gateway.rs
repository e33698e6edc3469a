//! The Gateway API controller an environment may choose instead of the
//! retired ingress-nginx (`ingress.controller: envoy-gateway`). Once Envoy
//! Gateway runs (its CRDs exist), three objects are composed through
//! provider-kubernetes and kept from then on: the EnvoyProxy that gives
//! its proxies the cloud's internal load balancer, the platform's
//! GatewayClass, and a shared Gateway for the claim's domain.

use serde_json::{Value, json};

use super::claim::Platform;
use super::cloud::Cloud;
use super::compose::Plan;
use super::helm;
use super::observed::Observed;
use super::providerconfig;

const RELEASE: &str = "helm-envoy-gateway";
pub const PROXY: &str = "gateway-proxy";
pub const CLASS: &str = "gateway-class";
pub const GATEWAY: &str = "gateway";
const NAME: &str = "platform";
const CONTROLLER: &str = "gateway.envoyproxy.io/gatewayclass-controller";

pub fn add(p: &Platform, cloud: &dyn Cloud, observed: Observed<'_>, plan: &mut Plan) {
    if !helm::is_enabled(p, "envoy-gateway") {
        return;
    }
    let running = observed.is_ready(RELEASE);
    let namespace = helm::namespace(p, "envoy-gateway");
    let replicas = p
        .env_value("ingress_replicas")
        .and_then(Value::as_u64)
        .unwrap_or(2);
    let proxy = json!({
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "EnvoyProxy",
        "metadata": {"name": NAME, "namespace": namespace},
        "spec": {"provider": {"type": "Kubernetes", "kubernetes": {
            "envoyDeployment": {"replicas": replicas},
            "envoyService": {"annotations": cloud.internal_load_balancer()},
        }}},
    });
    let class = json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": NAME},
        "spec": {
            "controllerName": CONTROLLER,
            "parametersRef": {
                "group": "gateway.envoyproxy.io",
                "kind": "EnvoyProxy",
                "name": NAME,
                "namespace": namespace,
            },
        },
    });
    let mut listener = json!({
        "name": "http",
        "protocol": "HTTP",
        "port": 80,
        "allowedRoutes": {"namespaces": {"from": "All"}},
    });
    if let Some(domain) = &p.domain {
        listener["hostname"] = json!(format!("*.{domain}"));
    }
    let gateway = json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": NAME, "namespace": namespace},
        "spec": {"gatewayClassName": NAME, "listeners": [listener]},
    });
    for (name, manifest, uses) in [
        (PROXY, proxy, vec![RELEASE]),
        (CLASS, class, vec![RELEASE, PROXY]),
        (GATEWAY, gateway, vec![RELEASE, CLASS]),
    ] {
        if running || observed.exists(name) {
            plan.add(providerconfig::kubernetes_object(p, name, manifest, None).uses(&uses));
        }
    }
}
