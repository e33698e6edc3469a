//! `/metrics` at `--metrics-address`, as function-sdk-go and
//! function-sdk-rust serve it: OpenMetrics 1.0 from prometheus-client's
//! encoder, or the classic Prometheus text format for a scraper whose
//! Accept header asks for it and does not accept OpenMetrics.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::registry::Registry;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const CLASSIC: &str = "text/plain; version=0.0.4";

/// Serves `registry` until the process ends. `:8080`, the SDKs' default,
/// is every interface; a port that cannot be bound is logged, never the
/// function's failure, as in the SDKs.
pub(crate) fn spawn(address: &str, registry: Registry) {
    let address = match address.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => address.to_string(),
    };
    let router = Router::new()
        .route("/metrics", get(metrics))
        .with_state(Arc::new(registry));
    tokio::spawn(async move {
        let listener = match tokio::net::TcpListener::bind(&address).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::error!(%address, error = %e, "cannot serve metrics");
                return;
            }
        };
        tracing::info!(%address, "serving metrics");
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the metrics endpoint stopped");
        }
    });
}

async fn metrics(State(registry): State<Arc<Registry>>, headers: HeaderMap) -> impl IntoResponse {
    let mut openmetrics = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut openmetrics, &registry);
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if wants_classic(accept) {
        ([(header::CONTENT_TYPE, CLASSIC)], classic(&openmetrics))
    } else {
        ([(header::CONTENT_TYPE, OPENMETRICS)], openmetrics)
    }
}

/// Only an explicit text/plain preference without OpenMetrics gets the
/// classic format; no Accept header and catch-alls get OpenMetrics.
fn wants_classic(accept: &str) -> bool {
    !accept.contains("application/openmetrics-text") && accept.contains("text/plain")
}

/// The classic format differs from OpenMetrics only in naming a counter
/// family with its `_total` suffix in HELP and TYPE, and in having no
/// `# EOF`; the samples are the same.
fn classic(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::new();
    for line in openmetrics.lines().filter(|&l| l != "# EOF") {
        let counter_line = ["# TYPE ", "# HELP "].iter().find_map(|prefix| {
            let (name, rest) = line.strip_prefix(prefix)?.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {rest}"))
        });
        let _ = writeln!(out, "{}", counter_line.as_deref().unwrap_or(line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;

    #[test]
    fn openmetrics_is_served_unless_only_classic_text_is_asked_for() {
        assert!(!wants_classic(""));
        assert!(!wants_classic("*/*"));
        assert!(!wants_classic(
            "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5"
        ));
        assert!(wants_classic("text/plain; version=0.0.4"));
    }

    #[test]
    fn the_classic_rendering_names_counters_with_total_and_has_no_eof() {
        let mut registry = Registry::default();
        registry.register("calls", "Calls", Counter::<u64>::default());
        let mut openmetrics = String::new();
        prometheus_client::encoding::text::encode(&mut openmetrics, &registry).unwrap();
        assert!(
            openmetrics.contains("# TYPE calls counter"),
            "{openmetrics}"
        );
        let text = classic(&openmetrics);
        assert!(text.contains("# TYPE calls_total counter"), "{text}");
        assert!(text.contains("# HELP calls_total Calls."), "{text}");
        assert!(text.contains("calls_total 0"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
    }
}
