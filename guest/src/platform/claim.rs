//! The claim, read and checked once. Every error names the field and what
//! is expected, because it reaches the user as a FATAL result.

use std::collections::BTreeMap;

use serde_json::Value;

use super::cidr::Cidr;
use super::cloud::Cloud;
use super::error::FieldError;
use super::form::Form;
use super::pointer::Pointer;

/// The labels and parameters needed before the environment is known.
#[derive(Debug, Clone)]
pub struct Identity {
    pub cloud: String,
    pub plane: String,
    pub plane_type: Option<String>,
    pub location: String,
    /// Base for external names: the `clusterName` label as given, or the
    /// claim's (or XR's) name with a hash of where it lives, so that claims
    /// of the same name in other namespaces or regions never share a
    /// project-, account- or resource-group-wide name.
    pub cluster: String,
    pub xr_name: String,
    /// Legacy (cluster-scoped) or namespaced composite.
    pub form: Form,
}

pub fn identity(xr: &Value, clouds: &[&dyn Cloud]) -> Result<Identity, FieldError> {
    let names: Vec<&str> = clouds.iter().map(|c| c.name()).collect();
    // A label that is there but not a string says so, rather than "missing".
    let label = |key: &str| -> Result<Option<&str>, FieldError> {
        match xr.at(&format!("/metadata/labels/{}", key.replace('/', "~1"))) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(v)) => Ok(Some(v.trim()).filter(|v| !v.is_empty())),
            Some(other) => Err(FieldError::is(
                format!("metadata.labels.{key}"),
                other,
                "expected a string (quote it in the claim)",
            )),
        }
    };
    let expected = names.join(", ");
    let cloud = label("cloud")?.ok_or_else(|| {
        FieldError::missing(
            "metadata.labels.cloud",
            format!("set it to one of {expected} on the claim"),
        )
    })?;
    let Some(renderer) = clouds.iter().find(|c| c.name() == cloud) else {
        return Err(FieldError::is(
            "metadata.labels.cloud",
            format!("{cloud:?}"),
            format!("expected one of {expected}"),
        ));
    };
    let plane = label("planeId")?.ok_or_else(|| {
        FieldError::missing(
            "metadata.labels.planeId",
            format!("set it to the {} the cluster lives in", renderer.plane()),
        )
    })?;
    let location = xr
        .at("/spec/parameters/forProvider/location")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| {
            FieldError::missing(
                "spec.parameters.forProvider.location",
                "set the region, e.g. us-central1, eu-west-1 or westeurope",
            )
        })?;
    let xr_name = xr
        .at("/metadata/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| FieldError::missing("metadata.name", "name the composite resource"))?;
    let cluster = match label("clusterName")? {
        Some(name) => dns_label(name, 40),
        None => {
            let claim = label("crossplane.io/claim-name")?;
            let (namespace, name) = match claim {
                Some(claim) => (label("crossplane.io/claim-namespace")?.unwrap_or(""), claim),
                None => (
                    xr.at("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                    xr_name,
                ),
            };
            unique_name(namespace, name, location)
        }
    };
    Ok(Identity {
        cloud: cloud.to_string(),
        plane: plane.to_string(),
        plane_type: label("planeType")?.map(str::to_string),
        location: location.to_string(),
        cluster,
        xr_name: xr_name.to_string(),
        form: Form::of(xr),
    })
}

/// `<name>-<hash>`, at most 40 characters: the hash (six hex digits of the
/// namespace, name and location) is stable across reconciles and differs
/// for a claim of the same name elsewhere.
fn unique_name(namespace: &str, name: &str, location: &str) -> String {
    let hash = stable_hash(&format!("{namespace}/{name}/{location}")) & 0xff_ffff;
    format!("{}-{hash:06x}", dns_label(name, 33))
}

/// `name` if it fits in `max` characters, otherwise a prefix of it and a
/// hash of the whole, so shortened names of different clusters still
/// differ.
pub fn shortened(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let hash = stable_hash(name) & 0xff_ffff;
    format!(
        "{}-{hash:06x}",
        dns_label(name, max.saturating_sub(7).max(1))
    )
}

/// FNV-1a: stable across builds and targets, unlike std's hasher.
pub fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A node pool as the claim (or the environment's default) describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub name: String,
    pub min: u32,
    pub max: u32,
    pub machine_type: String,
    pub disk_gb: Option<u64>,
    pub labels: BTreeMap<String, String>,
}

impl Pool {
    /// The pool's composition resource name.
    pub fn resource(&self) -> String {
        format!("nodepool-{}", self.name)
    }
}

/// Ranges for every cloud; each cloud uses the ones its API needs.
#[derive(Debug, Clone)]
pub struct Network {
    pub vpc: Cidr,
    pub subnet: Cidr,
    pub pods: Cidr,
    pub services: Cidr,
    pub master: Cidr,
    /// Zone suffixes (`a`, `b`, ...) appended to the region where a cloud
    /// needs explicit zones.
    pub zones: Vec<String>,
    /// How many bits longer than the VPC each carved subnet is.
    pub subnet_bits: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    Observe,
    Manage,
}

/// What deleting the claim does to what manage mode adopted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// Left in the cloud: the platform did not create it.
    Orphan,
    /// Deleted with the claim, only when the claim asks for it.
    Delete,
}

#[derive(Debug, Clone)]
pub struct Import {
    pub mode: ImportMode,
    pub deletion: Deletion,
    /// Composition resource name -> external name.
    pub resources: BTreeMap<String, String>,
}

/// Everything the layers render from: the claim, with the environment
/// filling what the claim leaves out.
#[derive(Debug, Clone)]
pub struct Platform {
    pub id: Identity,
    pub domain: Option<String>,
    pub dns: bool,
    pub private: bool,
    pub pools: Vec<Pool>,
    pub network: Network,
    pub kubernetes_version: Option<String>,
    /// Namespace of connection secrets (kubeconfigs, keys): a namespaced
    /// XR's own, since its resources may write nowhere else.
    pub secret_namespace: String,
    pub import: Option<Import>,
    /// External names of resources that already exist: a resource keeps
    /// its name for life, whatever the naming scheme of this release.
    pub existing_names: BTreeMap<String, String>,
    /// The request came from Crossplane 1.x (see [`super::environment`]).
    pub crossplane_v1: bool,
    /// The ProviderConfig the cloud's managed resources use, when the
    /// environment names one (`providerConfigs.<cloud>`).
    pub provider_config: Option<ProviderConfigRef>,
    /// The merged environment, for templates and per-cloud knobs.
    pub env: Value,
    /// Per-resource overrides (environment first, then the claim).
    pub templates: Value,
}

impl Platform {
    pub fn parse(xr: &Value, id: Identity, env: Value) -> Result<Self, FieldError> {
        let params = xr.at("/spec/parameters").cloned().unwrap_or(Value::Null);
        let domain = opt_str(&params, "domain", "spec.parameters.domain")?
            .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .map(|d| dns_name(&d, "spec.parameters.domain").map(|()| d))
            .transpose()?;
        let create_dns =
            opt_bool(&params, "createDnsZones", "spec.parameters.createDnsZones")?.unwrap_or(true);
        let private = match opt_bool(&params, "privateCluster", "spec.parameters.privateCluster")? {
            Some(p) => p,
            None => opt_bool(&env, "privateCluster", "environment privateCluster")?.unwrap_or(true),
        };
        let mut network_source = env.get("network").cloned().unwrap_or(Value::Null);
        if let Some(over) = params.get("network") {
            super::merge::deep_merge(&mut network_source, over);
        }
        let network = network(&network_source)?;
        let pools = pools(&params, &env)?;
        let import = import(&params)?;
        let kubernetes_version = match params.get("kubernetesVersion") {
            Some(v) => Some(text_of(v, "spec.parameters.kubernetesVersion")?),
            None => env
                .get("kubernetesVersion")
                .map(|v| text_of(v, "environment kubernetesVersion"))
                .transpose()?,
        };
        let secret_namespace = id
            .form
            .namespace()
            .or_else(|| {
                xr.at("/metadata/labels/crossplane.io~1claim-namespace")
                    .and_then(Value::as_str)
            })
            .or_else(|| env.get("secretNamespace").and_then(Value::as_str))
            .unwrap_or("crossplane-system")
            .to_string();
        let provider_config = provider_config(&env, &id.cloud)?;
        let mut templates = env.get("templates").cloned().unwrap_or(Value::Null);
        if let Some(over) = params.get("templates") {
            if !over.is_object() {
                return Err(FieldError::is(
                    "spec.parameters.templates",
                    over,
                    "expected a map of resource name to a partial resource",
                ));
            }
            if let Some((name, template)) = over
                .as_object()
                .into_iter()
                .flatten()
                .find(|(_, v)| !v.is_object())
            {
                return Err(FieldError::is(
                    format!("spec.parameters.templates.{name}"),
                    template,
                    "expected a partial resource (a map), e.g. {spec: {forProvider: {...}}}",
                ));
            }
            if templates.is_null() {
                templates = over.clone();
            } else {
                super::merge::deep_merge(&mut templates, over);
            }
        }
        Ok(Self {
            id,
            dns: create_dns && domain.is_some(),
            domain,
            private,
            pools,
            network,
            kubernetes_version,
            secret_namespace,
            import,
            existing_names: BTreeMap::new(),
            crossplane_v1: false,
            provider_config,
            env,
            templates,
        })
    }

    /// An environment value by dotted path.
    pub fn env_value(&self, path: &str) -> Option<&Value> {
        path.split('.').try_fold(&self.env, |v, k| v.get(k))
    }

    pub fn env_str(&self, path: &str) -> Option<&str> {
        self.env_value(path).and_then(Value::as_str)
    }

    /// The external name a resource gets: the imported one when the claim
    /// lists it, the one it already has once it exists, otherwise the
    /// platform's own.
    pub fn external_name(&self, resource: &str, default: String) -> String {
        self.import
            .as_ref()
            .and_then(|i| i.resources.get(resource))
            .or_else(|| self.existing_names.get(resource))
            .cloned()
            .unwrap_or(default)
    }

    /// Short name of a resource of this cluster, e.g. `prod-vpc`.
    pub fn named(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.id.cluster)
    }

    pub fn zones(&self) -> Vec<String> {
        self.network
            .zones
            .iter()
            .map(|z| format!("{}{z}", self.id.location))
            .collect()
    }
}

/// Which ProviderConfig of the cloud's provider the managed resources
/// reference. A namespaced managed resource names its kind: a
/// `ClusterProviderConfig` (the providers' default) or a `ProviderConfig`
/// in the XR's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfigRef {
    pub kind: Option<String>,
    pub name: String,
}

impl ProviderConfigRef {
    pub const KINDS: [&'static str; 2] = ["ClusterProviderConfig", "ProviderConfig"];

    /// `spec.providerConfigRef`: legacy kinds take a name only, namespaced
    /// ones a kind too (`ClusterProviderConfig` `default` unless set).
    pub fn reference(this: Option<&Self>, namespaced: bool) -> Option<Value> {
        if !namespaced {
            return this.map(|r| serde_json::json!({"name": r.name}));
        }
        let kind = this
            .and_then(|r| r.kind.as_deref())
            .unwrap_or(Self::KINDS[0]);
        let name = this.map_or("default", |r| r.name.as_str());
        Some(serde_json::json!({"kind": kind, "name": name}))
    }
}

/// `providerConfigs.<cloud>` of the environment: a name, or `{kind, name}`.
fn provider_config(env: &Value, cloud: &str) -> Result<Option<ProviderConfigRef>, FieldError> {
    let field = format!("environment providerConfigs.{cloud}");
    let Some(value) = env.get("providerConfigs").and_then(|v| v.get(cloud)) else {
        return Ok(None);
    };
    let (kind, name) = match value {
        Value::Null => return Ok(None),
        Value::String(name) => (None, name.as_str()),
        Value::Object(_) => (
            opt_str(value, "kind", &format!("{field}.kind"))?,
            opt_str(value, "name", &format!("{field}.name"))?.ok_or_else(|| {
                FieldError::missing(format!("{field}.name"), "name the ProviderConfig")
            })?,
        ),
        other => {
            return Err(FieldError::is(
                field,
                other,
                "expected a ProviderConfig name, or {kind, name}",
            ));
        }
    };
    if let Some(kind) = kind.filter(|k| !ProviderConfigRef::KINDS.contains(k)) {
        return Err(FieldError::is(
            format!("{field}.kind"),
            format!("{kind:?}"),
            format!("expected {}", ProviderConfigRef::KINDS.join(" or ")),
        ));
    }
    if name.trim().is_empty() {
        return Err(FieldError::new(
            field,
            "is empty",
            "name the ProviderConfig",
        ));
    }
    Ok(Some(ProviderConfigRef {
        kind: kind.map(str::to_string),
        name: name.to_string(),
    }))
}

fn opt_str<'a>(v: &'a Value, key: &str, field: &str) -> Result<Option<&'a str>, FieldError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(FieldError::is(field, other, "expected a string")),
    }
}

fn opt_bool(v: &Value, key: &str, field: &str) -> Result<Option<bool>, FieldError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(FieldError::is(field, other, "expected true or false")),
    }
}

fn text_of(v: &Value, field: &str) -> Result<String, FieldError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(FieldError::is(
            field,
            other,
            "expected a version string like \"1.31\"",
        )),
    }
}

fn cidr(net: &Value, key: &str, default: &str) -> Result<Cidr, FieldError> {
    let text = match net.get(key) {
        None | Some(Value::Null) => default.to_string(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(other) => other.to_string(),
    };
    Cidr::parse(&text).map_err(|why| {
        FieldError::is(
            format!("network.{key}"),
            format!("{text:?}"),
            format!("expected an IPv4 CIDR such as {default}; it {why}"),
        )
    })
}

fn network(net: &Value) -> Result<Network, FieldError> {
    let vpc = cidr(net, "vpcCidr", "10.0.0.0/16")?;
    let subnet = cidr(net, "subnetCidr", "10.0.0.0/20")?;
    let pods = cidr(net, "podsCidr", "10.4.0.0/14")?;
    let services = cidr(net, "servicesCidr", "10.8.0.0/20")?;
    let master = cidr(net, "masterCidr", "172.16.0.0/28")?;
    for (a, an, b, bn) in [
        (&subnet, "subnetCidr", &pods, "podsCidr"),
        (&subnet, "subnetCidr", &services, "servicesCidr"),
        (&pods, "podsCidr", &services, "servicesCidr"),
        (&vpc, "vpcCidr", &pods, "podsCidr"),
        (&vpc, "vpcCidr", &services, "servicesCidr"),
    ] {
        if a.overlaps(b) {
            return Err(FieldError::new(
                format!("network.{an}"),
                format!("{a} overlaps network.{bn} {b}"),
                "expected disjoint ranges",
            ));
        }
    }
    if !vpc.contains(&subnet) {
        return Err(FieldError::new(
            "network.subnetCidr",
            format!("{subnet} is outside network.vpcCidr {vpc}"),
            "expected a range inside the VPC",
        ));
    }
    if master.prefix() != 28 {
        return Err(FieldError::is(
            "network.masterCidr",
            master,
            "expected a /28 range",
        ));
    }
    let zones = match net.get("zones") {
        None | Some(Value::Null) => vec!["a".to_string(), "b".to_string(), "c".to_string()],
        Some(Value::Array(zones)) if !zones.is_empty() && zones.len() <= 6 => zones
            .iter()
            .map(|z| match z {
                Value::String(s)
                    if !s.is_empty()
                        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
                {
                    Ok(s.clone())
                }
                other => Err(FieldError::new(
                    "network.zones",
                    format!("has {other}"),
                    "expected zone suffixes such as \"a\"",
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(FieldError::is(
                "network.zones",
                other,
                "expected a list of 1 to 6 zone suffixes such as [a, b, c]",
            ));
        }
    };
    let subnet_bits = match net.get("subnetBits") {
        None | Some(Value::Null) => 4,
        Some(v) => v
            .as_u64()
            .filter(|b| (1..=8).contains(b))
            .map(|b| b as u8)
            .ok_or_else(|| FieldError::is("network.subnetBits", v, "expected 1 to 8"))?,
    };
    // Public and private subnets per zone must fit in the VPC.
    if zones.len() * 2 > (1usize << subnet_bits) || vpc.prefix() + subnet_bits > 28 {
        return Err(FieldError::new(
            "network.vpcCidr",
            format!(
                "{vpc} with network.subnetBits {subnet_bits} cannot hold two subnets for each of {} zones",
                zones.len()
            ),
            "expected a larger VPC, more subnetBits or fewer zones",
        ));
    }
    Ok(Network {
        vpc,
        subnet,
        pods,
        services,
        master,
        zones,
        subnet_bits,
    })
}

fn count(v: &Value, field: &str) -> Result<u32, FieldError> {
    v.as_u64()
        .filter(|n| *n <= 1000)
        .map(|n| n as u32)
        .ok_or_else(|| FieldError::is(field, v, "expected a whole number from 0 to 1000"))
}

fn pools(params: &Value, env: &Value) -> Result<Vec<Pool>, FieldError> {
    let default_machine = env.get("defaultMachineType").and_then(Value::as_str);
    let (source, prefix) = match params.get("pools") {
        Some(Value::Object(p)) if !p.is_empty() => (p.clone(), "spec.parameters.pools"),
        Some(Value::Object(_)) | None | Some(Value::Null) => {
            // The seed's fallback: one small autoscaled pool.
            let pool = env.get("defaultPool").cloned().unwrap_or_else(
                || serde_json::json!({"autoscaling": {"minNodeCount": 1, "maxNodeCount": 3}}),
            );
            let mut map = serde_json::Map::new();
            map.insert("default".to_string(), pool);
            (map, "environment defaultPool")
        }
        Some(other) => {
            return Err(FieldError::is(
                "spec.parameters.pools",
                other,
                "expected a map of pool name to pool",
            ));
        }
    };
    let mut out = Vec::new();
    for (name, pool) in &source {
        let field = if prefix.starts_with("spec") {
            format!("{prefix}.{name}")
        } else {
            prefix.to_string()
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(FieldError::new(
                prefix,
                format!("has the pool name {name:?}"),
                "expected letters, digits and dashes",
            ));
        }
        let scaling = pool
            .get("autoscaling")
            .filter(|a| a.is_object())
            .ok_or_else(|| {
                FieldError::missing(
                    format!("{field}.autoscaling"),
                    "set minNodeCount and maxNodeCount",
                )
            })?;
        let bound = |key: &str| {
            let field = format!("{field}.autoscaling.{key}");
            let value = scaling
                .get(key)
                .ok_or_else(|| FieldError::missing(&field, "expected a whole number"))?;
            count(value, &field)
        };
        let (min, max) = (bound("minNodeCount")?, bound("maxNodeCount")?);
        if min > max {
            return Err(FieldError::new(
                format!("{field}.autoscaling.minNodeCount"),
                format!("is {min}, greater than maxNodeCount {max}"),
                "expected min <= max",
            ));
        }
        if max == 0 {
            return Err(FieldError::is(
                format!("{field}.autoscaling.maxNodeCount"),
                0,
                "expected at least 1",
            ));
        }
        let machine_type = match pool.at("/nodeConfig/machineType") {
            Some(Value::String(m)) if !m.is_empty() => m.clone(),
            None | Some(Value::Null) => default_machine
                .ok_or_else(|| {
                    FieldError::missing(
                        format!("{field}.nodeConfig.machineType"),
                        "set it, or defaultMachineType in the environment",
                    )
                })?
                .to_string(),
            Some(other) => {
                return Err(FieldError::is(
                    format!("{field}.nodeConfig.machineType"),
                    other,
                    "expected a machine type string",
                ));
            }
        };
        let disk_gb = match pool.at("/nodeConfig/diskSizeGb") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().filter(|d| *d >= 10).ok_or_else(|| {
                FieldError::is(
                    format!("{field}.nodeConfig.diskSizeGb"),
                    v,
                    "expected a size in GB of at least 10",
                )
            })?),
        };
        let labels = match pool.at("/nodeConfig/labels") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    other => Err(FieldError::is(
                        format!("{field}.nodeConfig.labels.{k}"),
                        other,
                        "expected a string",
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(FieldError::is(
                    format!("{field}.nodeConfig.labels"),
                    other,
                    "expected a map of strings",
                ));
            }
        };
        out.push(Pool {
            name: name.clone(),
            min,
            max,
            machine_type,
            disk_gb,
            labels,
        });
    }
    Ok(out)
}

fn import(params: &Value) -> Result<Option<Import>, FieldError> {
    let Some(spec) = params.get("import").filter(|i| !i.is_null()) else {
        return Ok(None);
    };
    if !opt_bool(spec, "enabled", "spec.parameters.import.enabled")?.unwrap_or(false) {
        return Ok(None);
    }
    let mode = match spec.get("mode") {
        None | Some(Value::Null) => ImportMode::Observe,
        Some(Value::String(m)) if m == "observe" => ImportMode::Observe,
        Some(Value::String(m)) if m == "manage" => ImportMode::Manage,
        Some(other) => {
            return Err(FieldError::is(
                "spec.parameters.import.mode",
                other,
                "expected observe or manage",
            ));
        }
    };
    let deletion = match spec.get("deletionPolicy") {
        None | Some(Value::Null) => Deletion::Orphan,
        Some(Value::String(d)) if d == "Orphan" => Deletion::Orphan,
        Some(Value::String(d)) if d == "Delete" => Deletion::Delete,
        Some(other) => {
            return Err(FieldError::is(
                "spec.parameters.import.deletionPolicy",
                other,
                "expected Orphan (adopted resources stay in the cloud when the claim is deleted) or Delete",
            ));
        }
    };
    let resources = match spec.get("resources") {
        Some(Value::Object(map)) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) if !s.is_empty() => Ok((k.clone(), s.clone())),
                other => Err(FieldError::is(
                    format!("spec.parameters.import.resources.{k}"),
                    other,
                    "expected the resource's external name",
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(FieldError::new(
                "spec.parameters.import.resources",
                "is missing or empty",
                "expected a map of resource name to external name",
            ));
        }
    };
    Ok(Some(Import {
        mode,
        deletion,
        resources,
    }))
}

/// A DNS name as RFC 1123 and every cloud's DNS service take it: labels of
/// 1 to 63 lowercase letters, digits and dashes, not starting or ending
/// with a dash, at least two of them, 253 characters in all.
pub fn dns_name(name: &str, field: &str) -> Result<(), FieldError> {
    let rule = "expected a DNS name such as prod.example.com (RFC 1123: labels of 1 to 63 letters, digits and dashes, not starting or ending with a dash; 253 characters in all)";
    if name.len() > 253 {
        return Err(FieldError::new(
            field,
            format!("is {} characters long", name.len()),
            rule,
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(FieldError::is(field, format!("{name:?}"), rule));
    }
    for label in labels {
        let valid = (1..=63).contains(&label.len())
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !valid {
            return Err(FieldError::is(
                field,
                format!("{name:?}"),
                format!("its label {label:?} is not valid; {rule}"),
            ));
        }
    }
    Ok(())
}

/// Lowercase letters, digits and dashes, at most `max` long, no dash at
/// either end: valid as a cloud name part and as a label value.
pub fn dns_label(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    out.truncate(max);
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "x".to_string() } else { out }
}
