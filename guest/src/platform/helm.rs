//! Helm releases of the platform add-ons. Values are Jinja templates
//! rendered with minijinja against the merged environment, `cloud` and the
//! cluster's facts, exactly as the original Jinja2 templates render.

use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, Output, State, UndefinedBehavior};
use serde_json::{Value, json};

use super::claim::Platform;
use super::cloud::{Cloud, KubeAccess};
use super::compose::{Part, Plan, Role, managed};
use super::merge::merged;
use super::observed::Observed;
use super::yaml;

pub const API_VERSION: &str = "helm.crossplane.io/v1beta1";

/// One add-on chart and its defaults; the environment's `charts.<key>`
/// may disable it, pin its version or replace its values template.
pub struct Chart {
    pub key: &'static str,
    pub resource: &'static str,
    pub chart: &'static str,
    pub repository: &'static str,
    pub version: &'static str,
    pub namespace: &'static str,
    pub template: &'static str,
    /// Other releases that must outlive this one.
    pub after: &'static [&'static str],
    /// How long Helm waits for the release's workloads (and hooks) to be
    /// ready before the install counts as failed and is rolled back.
    pub wait_timeout: &'static str,
    /// Where the values take the annotations of the chart's load-balanced
    /// Service, which the cloud makes internal.
    pub service_annotations: Option<&'static [&'static str]>,
    /// Charts whose CRDs this one's values use (ServiceMonitors): when
    /// installed, they are released and ready first.
    pub needs: &'static [&'static str],
}

/// Failed installs and upgrades are rolled back and retried this many
/// times; without a limit provider-helm never retries a failed release.
pub const ROLLBACK_LIMIT: u32 = 5;

/// Metrics are scraped through ServiceMonitors whenever the monitoring
/// chart (and so the ServiceMonitor CRD) is installed: `service_monitors`.
pub const CERT_MANAGER_VALUES: &str = r#"installCRDs: true
prometheus:
  enabled: {{ monitoring.enabled | default(true) }}
  servicemonitor:
    enabled: {{ service_monitors }}
"#;

/// The seed's template; the Service's internal load-balancer annotations
/// come from the cloud ([`Cloud::internal_load_balancer`]), merged under.
pub const INGRESS_NGINX_VALUES: &str = r#"controller:
  replicaCount: {{ ingress_replicas | default(2) }}
  metrics:
    enabled: {{ monitoring.enabled | default(true) }}
    serviceMonitor:
      enabled: {{ service_monitors }}
"#;

/// Envoy Gateway's controller; the proxies it runs per Gateway, their
/// replicas and internal load balancer come from the EnvoyProxy the
/// platform composes ([`super::gateway`]).
pub const ENVOY_GATEWAY_VALUES: &str = r#"deployment:
  replicas: {{ 2 if ingress_replicas | default(2) > 1 else 1 }}
"#;

/// Prometheus keeps its retention on a volume (an emptyDir loses it with
/// the pod) and picks up every ServiceMonitor and PodMonitor, not only the
/// chart's own. Grafana's admin password is never a literal default:
/// kube-prometheus-stack's `prom-operator` is removed (`null` deletes a
/// chart default in Helm), so the grafana chart generates one into its
/// Secret, unless the environment names a Secret of its own
/// (`monitoring.grafana.adminSecret`).
pub const MONITORING_VALUES: &str = r#"prometheus:
  prometheusSpec:
    retention: {{ monitoring.retention | default("30d") }}
    serviceMonitorSelectorNilUsesHelmValues: false
    podMonitorSelectorNilUsesHelmValues: false
    ruleSelectorNilUsesHelmValues: false
    storageSpec:
      volumeClaimTemplate:
        spec:
          accessModes: ["ReadWriteOnce"]
          resources:
            requests:
              storage: {{ monitoring.storage | default("50Gi") }}
grafana:
  enabled: true
  {% if monitoring.grafana.adminSecret %}
  admin:
    existingSecret: {{ monitoring.grafana.adminSecret }}
    userKey: admin-user
    passwordKey: admin-password
  {% else %}
  adminPassword: null
  {% endif %}
alertmanager:
  enabled: true
"#;

pub const CHARTS: &[Chart] = &[
    Chart {
        key: "cert-manager",
        resource: "helm-cert-manager",
        wait_timeout: "10m",
        service_annotations: None,
        chart: "cert-manager",
        repository: "https://charts.jetstack.io",
        version: "v1.14.0",
        namespace: "cert-manager",
        template: CERT_MANAGER_VALUES,
        after: &["helm-monitoring"],
        needs: &["monitoring"],
    },
    Chart {
        key: "ingress-nginx",
        resource: "helm-ingress-nginx",
        wait_timeout: "10m",
        service_annotations: Some(&["controller", "service", "annotations"]),
        chart: "ingress-nginx",
        repository: "https://kubernetes.github.io/ingress-nginx",
        // Retired upstream on 2026-03-24: pinned to the last release this
        // project has seen, for teams that still need it.
        version: "4.14.3",
        namespace: "ingress-nginx",
        template: INGRESS_NGINX_VALUES,
        after: &["helm-cert-manager", "helm-monitoring"],
        needs: &["monitoring"],
    },
    Chart {
        key: "envoy-gateway",
        resource: "helm-envoy-gateway",
        wait_timeout: "10m",
        service_annotations: None,
        chart: "gateway-helm",
        repository: "oci://docker.io/envoyproxy",
        version: "v1.7.4",
        namespace: "envoy-gateway-system",
        template: ENVOY_GATEWAY_VALUES,
        after: &["helm-cert-manager"],
        needs: &[],
    },
    Chart {
        key: "monitoring",
        resource: "helm-monitoring",
        wait_timeout: "15m",
        service_annotations: None,
        chart: "kube-prometheus-stack",
        repository: "https://prometheus-community.github.io/helm-charts",
        version: "56.0.0",
        namespace: "monitoring",
        template: MONITORING_VALUES,
        after: &[],
        needs: &[],
    },
];

/// Renders a values template the way Jinja2 does: `default()` applies to
/// undefined values, attribute access on undefined stays undefined (so a
/// chain like `a.b.c | default(x)` falls back), and booleans and none print
/// as `True`, `False` and `None`.
pub fn render_template(name: &str, source: &str, context: &Value) -> Result<String, String> {
    Templates::new(context).render(name, source)
}

/// One template environment and context for all of a call's charts: the
/// context (the whole merged environment) is converted once, not per chart.
pub struct Templates {
    env: Environment<'static>,
    context: JValue,
}

impl Templates {
    pub fn new(context: &Value) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_formatter(python_formatter);
        Self {
            env,
            context: JValue::from_serialize(context),
        }
    }

    pub fn render(&self, name: &str, source: &str) -> Result<String, String> {
        self.env
            .render_named_str(name, source, self.context.clone())
            .map_err(|e| {
                let line = e.line().map(|l| format!(" line {l}")).unwrap_or_default();
                let detail = e
                    .detail()
                    .map(str::to_string)
                    .unwrap_or_else(|| e.kind().to_string());
                format!("{name}: values template error on{line}: {detail}")
            })
    }
}

fn python_formatter(
    out: &mut Output<'_>,
    state: &State<'_, '_>,
    value: &JValue,
) -> Result<(), minijinja::Error> {
    match value.kind() {
        ValueKind::Bool => out
            .write_str(if value.is_true() { "True" } else { "False" })
            .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())),
        ValueKind::None => out
            .write_str("None")
            .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())),
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// The template context: the environment, `cloud` and the cluster facts.
pub fn context(p: &Platform) -> Value {
    let mut ctx = if p.env.is_object() {
        p.env.clone()
    } else {
        json!({})
    };
    if let Some(map) = ctx.as_object_mut() {
        map.insert("cloud".into(), json!(p.id.cloud));
        map.insert(
            "service_monitors".into(),
            json!(is_enabled(p, "monitoring")),
        );
        map.insert(
            "cluster".into(),
            json!({
                "name": p.id.cluster,
                "location": p.id.location,
                "planeId": p.id.plane,
                "planeType": p.id.plane_type,
                "domain": p.domain,
                "private": p.private,
            }),
        );
    }
    ctx
}

/// The namespace a chart is released into: the environment's
/// `charts.<name>.namespace`, or the chart's default.
pub fn namespace(p: &Platform, key: &str) -> String {
    match CHARTS.iter().find(|c| c.key == key) {
        Some(chart) => chart_namespace(p, chart),
        None => p
            .env_str(&format!("charts.{key}.namespace"))
            .unwrap_or(key)
            .to_string(),
    }
}

/// The namespace of a chart of the cloud's own ([`Cloud::charts`]).
pub fn chart_namespace(p: &Platform, chart: &Chart) -> String {
    p.env_str(&format!("charts.{}.namespace", chart.key))
        .unwrap_or(chart.namespace)
        .to_string()
}

/// The platform's charts and the cloud's own.
fn all_charts(cloud: &dyn Cloud) -> impl Iterator<Item = &'static Chart> {
    CHARTS.iter().chain(cloud.charts().iter())
}

/// Whether the platform chart `key` is installed.
pub fn is_enabled(p: &Platform, key: &str) -> bool {
    CHARTS.iter().any(|c| c.key == key && enabled(p, c))
}

/// The ingress controllers an environment chooses from
/// (`ingress.controller`), by chart key.
pub const INGRESS_CONTROLLERS: &[&str] = &["ingress-nginx", "envoy-gateway"];

/// The environment's ingress controller: ingress-nginx unless it says
/// otherwise.
pub fn ingress_controller(p: &Platform) -> Result<&str, String> {
    match p.env_value("ingress.controller") {
        None | Some(Value::Null) => Ok("ingress-nginx"),
        Some(Value::String(c)) if INGRESS_CONTROLLERS.contains(&c.as_str()) => Ok(c),
        Some(other) => Err(format!(
            "environment ingress.controller is {other}: expected one of {}",
            INGRESS_CONTROLLERS.join(", ")
        )),
    }
}

fn enabled(p: &Platform, chart: &Chart) -> bool {
    if INGRESS_CONTROLLERS.contains(&chart.key)
        && ingress_controller(p).unwrap_or("ingress-nginx") != chart.key
    {
        return false;
    }
    let disabled = p
        .env_value(&format!("charts.{}.disabled", chart.key))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // The seed gates monitoring on `monitoring.enabled` too.
    let monitoring = chart.key != "monitoring"
        || p.env_value("monitoring.enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true);
    !disabled && monitoring
}

/// Releases need a cluster to install into and nodes to run on: they are
/// rendered once the cluster, the resource writing its kubeconfig, at
/// least one of the claim's node pools (the clusters start with none, or
/// with a tainted system pool, that the charts' pods and hook Jobs can
/// use) and the resources the cloud's values for the chart read are
/// ready, and kept once they exist, so a cluster that turns unready later
/// loses nothing.
fn may_release(
    p: &Platform,
    cloud: &dyn Cloud,
    observed: Observed<'_>,
    access: &KubeAccess,
    chart: &Chart,
) -> bool {
    let mut inputs = ["cluster", access.source.as_str()]
        .into_iter()
        .chain(cloud.chart_inputs(p, chart.key));
    let schedulable = p
        .pools
        .iter()
        .any(|pool| observed.is_ready(&pool.resource()));
    let needed = CHARTS
        .iter()
        .filter(|c| chart.needs.contains(&c.key) && enabled(p, c))
        .all(|c| observed.is_ready(c.resource));
    (schedulable && needed && inputs.all(|name| observed.is_ready(name)))
        || observed.exists(chart.resource)
}

/// The enabled charts still waiting for the cluster.
pub fn waiting(
    p: &Platform,
    cloud: &dyn Cloud,
    observed: Observed<'_>,
    access: &KubeAccess,
) -> Vec<&'static str> {
    all_charts(cloud)
        .filter(|c| enabled(p, c) && !may_release(p, cloud, observed, access, c))
        .map(|c| c.key)
        .collect()
}

/// Adds one Release per enabled chart the cluster is ready for.
pub fn releases(
    p: &Platform,
    cloud: &dyn Cloud,
    observed: Observed<'_>,
    access: &KubeAccess,
    plan: &mut Plan,
    uses: &[String],
) -> Result<(), String> {
    let provider_config = &p.id.xr_name;
    ingress_controller(p)?;
    let templates = Templates::new(&context(p));
    for chart in all_charts(cloud).filter(|c| enabled(p, c)) {
        let settings = p.env_value(&format!("charts.{}", chart.key));
        let setting = |key: &str| settings.and_then(|s| s.get(key)).and_then(Value::as_str);
        let template = setting("values").unwrap_or(chart.template);
        let text = templates
            .render(chart.key, template)
            .map_err(|e| format!("chart {e}"))?;
        let rendered = yaml::parse(&text).map_err(|e| {
            format!(
                "chart {}: rendered values are not valid YAML, {e}",
                chart.key
            )
        })?;
        if !rendered.is_object() {
            return Err(format!(
                "chart {}: rendered values are not a map of values",
                chart.key
            ));
        }
        // The cloud's settings first, so the template can still override.
        let mut base = cloud
            .chart_values(p, observed, chart.key)
            .unwrap_or_else(|| json!({}));
        if let Some(path) = chart.service_annotations {
            let annotations = path.iter().rev().fold(
                cloud.internal_load_balancer(),
                |inner, key| json!({*key: inner}),
            );
            base = merged(annotations, &base);
        }
        let values = merged(base, &rendered);
        let version = match settings.and_then(|s| s.get("version")) {
            Some(Value::String(v)) => v.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => chart.version.to_string(),
        };
        let release: Part = managed(chart.resource, API_VERSION, "Release", {
            let mut for_provider = json!({
                "chart": {
                    "name": chart.chart,
                    "repository": setting("repository").unwrap_or(chart.repository),
                    "version": version,
                },
                "namespace": chart_namespace(p, chart),
                "wait": true,
                "waitTimeout": chart.wait_timeout,
            });
            // Moved in: `json!` would serialise the values into a copy.
            for_provider["values"] = values;
            for_provider
        })
        .named(chart.chart)
        .role(Role::CreateOnly)
        .uses_all(uses.iter().cloned())
        .uses(chart.after);
        // Values are rendered (and their errors reported) on every call;
        // the Release itself waits for the cluster.
        if !may_release(p, cloud, observed, access, chart) {
            continue;
        }
        let mut release = release;
        if let Some(spec) = release.body.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert("providerConfigRef".into(), json!({"name": provider_config}));
            spec.insert("rollbackLimit".into(), json!(ROLLBACK_LIMIT));
        }
        plan.add(release);
    }
    // A release outlives only the releases already out: one still waiting
    // (or disabled) has nothing to protect yet.
    let released: Vec<String> = plan
        .parts
        .iter()
        .filter(|part| all_charts(cloud).any(|c| c.resource == part.name))
        .map(|part| part.name.clone())
        .collect();
    for part in plan
        .parts
        .iter_mut()
        .filter(|part| released.contains(&part.name))
    {
        part.uses.retain(|used| {
            !all_charts(cloud).any(|c| c.resource == used.as_str()) || released.contains(used)
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_applies_to_undefined_chains() {
        let out = render_template("t", "{{ a.b.c | default(\"x\") }}", &json!({})).unwrap();
        assert_eq!(out, "x");
        let out =
            render_template("t", "{{ a.b | default(\"x\") }}", &json!({"a": {"b": "y"}})).unwrap();
        assert_eq!(out, "y");
    }

    #[test]
    fn booleans_and_none_print_as_python() {
        let out = render_template(
            "t",
            "{{ t }} {{ f }} {{ n }} {{ u | default(true) }}",
            &json!({"t": true, "f": false, "n": null}),
        )
        .unwrap();
        assert_eq!(out, "True False None True");
    }

    #[test]
    fn errors_name_the_template_and_line() {
        let e = render_template(
            "ingress-nginx",
            "a: 1\nb: {{ x | nosuchfilter }}\n",
            &json!({}),
        )
        .unwrap_err();
        assert!(
            e.starts_with("ingress-nginx: values template error on line 2"),
            "{e}"
        );
        let e = render_template("cert-manager", "a: 1\n\n{% if %}\n", &json!({})).unwrap_err();
        assert!(e.contains("line 3"), "{e}");
    }
}
