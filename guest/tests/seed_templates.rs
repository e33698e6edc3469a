//! The original design's Helm values templates render byte for byte as
//! Jinja2 renders them. The expected outputs in `fixtures/seed/` were
//! produced by Jinja2 3.1 with `ChainableUndefined` (the only mode in
//! which the seed's `monitoring.grafana.admin_password | default(..)`
//! renders when `grafana` is absent) from the contexts in `contexts.json`.

use std::path::Path;

use cluster_platform::platform::helm::render_template;
use serde_json::Value;

#[test]
fn seed_templates_render_like_jinja2() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed");
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let contexts: Value = serde_json::from_str(&read("contexts.json")).unwrap();
    let mut checked = 0;
    for chart in ["cert-manager", "ingress-nginx", "monitoring"] {
        let template = read(&format!("{chart}.j2"));
        for (name, context) in contexts.as_object().unwrap() {
            let expected = read(&format!("{chart}.{name}.out"));
            let got = render_template(chart, &template, context).unwrap();
            assert_eq!(got, expected, "{chart} with {name}");
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
}
