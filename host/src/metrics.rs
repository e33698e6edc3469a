//! Per-module Prometheus metrics, served beside the gRPC server's.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct CallLabels {
    pub(crate) module: String,
    pub(crate) version: String,
    /// `ok`, `fatal` (the module answered with a fatal result), or the
    /// failure kind (`timeout`, `out_of_memory`, `trap`, ...).
    pub(crate) outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ModuleLabels {
    pub(crate) module: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabels {
    /// A file by its name, a registry source by its reference.
    pub source: String,
}

#[derive(Clone)]
pub struct Metrics {
    pub(crate) calls: Family<CallLabels, Counter>,
    pub(crate) latency: Family<ModuleLabels, Histogram>,
    /// Routing tables published by reloads.
    pub(crate) swaps: Counter,
    /// Modules refused at admission, by source.
    pub rejected: Family<RejectLabels, Counter>,
    /// Registry sources that could not be resolved or pulled.
    pub(crate) source_failures: Family<SourceLabels, Counter>,
    /// Registry sources resolved: every poll that reached the registry.
    pub(crate) source_checks: Family<SourceLabels, Counter>,
    /// 1 for each module serving, labelled with its digest and source, so
    /// replicas can be compared.
    pub(crate) serving: Family<ServingLabels, Gauge>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ServingLabels {
    pub(crate) module: String,
    pub(crate) version: String,
    pub(crate) sha256: String,
    pub(crate) source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct SourceLabels {
    pub(crate) source: String,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            calls: Family::default(),
            latency: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
            }),
            swaps: Counter::default(),
            rejected: Family::default(),
            source_failures: Family::default(),
            source_checks: Family::default(),
            serving: Family::default(),
        };
        registry.register(
            "function_module_serving",
            "Modules serving, by module, version, sha256 and source",
            metrics.serving.clone(),
        );
        registry.register(
            "function_module_source_failures",
            "Failed resolutions and pulls of registry module sources, by source",
            metrics.source_failures.clone(),
        );
        registry.register(
            "function_module_source_checks",
            "Resolutions of registry module sources that reached the registry, by source",
            metrics.source_checks.clone(),
        );
        registry.register(
            "function_module_swaps",
            "Routing tables published by module reloads",
            metrics.swaps.clone(),
        );
        registry.register(
            "function_module_rejected_loads",
            "Modules refused at reload, by source: a file's name or a registry reference",
            metrics.rejected.clone(),
        );
        registry.register(
            "function_module_calls",
            "Module calls by module, version and outcome",
            metrics.calls.clone(),
        );
        registry.register(
            "function_module_call_duration_seconds",
            "Time of a module call: conversions, instantiation and run",
            metrics.latency.clone(),
        );
        metrics
    }

    /// Metrics that are recorded but served nowhere (render, tests).
    pub fn unregistered() -> Self {
        Self::register(&mut Registry::default())
    }
}
