//! Turning a claim into its composite resource, as Crossplane's claim
//! controller does, so a claim renders like an XR.

use serde_json::{Map, Value, json};

use super::docs::str_at;

/// The XR for `input`: `input` itself when it is already the XRD's
/// composite kind, its composite when it is the XRD's claim kind.
pub fn composite_for(input: Value, xrd: Option<&Value>) -> anyhow::Result<Value> {
    let kind = str_at(&input, "/kind");
    // A resource of another group is not this XRD's: the Composition check
    // names what it is (a namespaced Cluster beside the legacy XRD, say).
    let group = str_at(&input, "/apiVersion")
        .split('/')
        .next()
        .unwrap_or("");
    let Some(xrd) = xrd.filter(|x| str_at(x, "/spec/group") == group) else {
        return Ok(input);
    };
    let composite_kind = str_at(xrd, "/spec/names/kind");
    let claim_kind = str_at(xrd, "/spec/claimNames/kind");
    if kind == composite_kind || claim_kind.is_empty() || kind != claim_kind {
        anyhow::ensure!(
            kind == composite_kind,
            "{kind} is neither the XRD's composite kind {composite_kind} nor its claim kind {claim_kind:?}"
        );
        return Ok(input);
    }
    Ok(from_claim(&input, composite_kind))
}

/// The composite Crossplane creates for a claim: the claim's labels plus
/// the claim labels, its spec, and a `claimRef` back to it. The XR takes
/// the claim's name, so the output is deterministic.
fn from_claim(claim: &Value, composite_kind: &str) -> Value {
    let name = str_at(claim, "/metadata/name");
    let namespace = claim
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let mut labels = claim
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.insert("crossplane.io/claim-name".into(), json!(name));
    labels.insert("crossplane.io/claim-namespace".into(), json!(namespace));
    labels.insert("crossplane.io/composite".into(), json!(name));
    let mut spec = claim
        .get("spec")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(Map::new);
    // Connection secrets of a claim land in the claim's namespace; the
    // composite's reference is Crossplane's to set.
    spec.remove("writeConnectionSecretToRef");
    spec.insert(
        "claimRef".into(),
        json!({
            "apiVersion": claim.get("apiVersion").cloned().unwrap_or(Value::Null),
            "kind": claim.get("kind").cloned().unwrap_or(Value::Null),
            "name": name,
            "namespace": namespace,
        }),
    );
    json!({
        "apiVersion": claim.get("apiVersion").cloned().unwrap_or(Value::Null),
        "kind": composite_kind,
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xrd() -> Value {
        json!({"spec": {"group": "myplatform.io", "names": {"kind": "XCluster"}, "claimNames": {"kind": "Cluster"}}})
    }

    #[test]
    fn a_claim_becomes_its_composite_with_claim_labels() {
        let claim = json!({
            "apiVersion": "myplatform.io/v1alpha1", "kind": "Cluster",
            "metadata": {"name": "prod", "namespace": "team-a", "labels": {"cloud": "gcp"}},
            "spec": {"parameters": {"domain": "example.com"}},
        });
        let xr = composite_for(claim, Some(&xrd())).unwrap();
        assert_eq!(xr["kind"], "XCluster");
        assert_eq!(xr["metadata"]["labels"]["cloud"], "gcp");
        assert_eq!(xr["metadata"]["labels"]["crossplane.io/claim-name"], "prod");
        assert_eq!(
            xr["metadata"]["labels"]["crossplane.io/claim-namespace"],
            "team-a"
        );
        assert_eq!(xr["spec"]["parameters"]["domain"], "example.com");
        assert_eq!(xr["spec"]["claimRef"]["kind"], "Cluster");
    }

    #[test]
    fn a_composite_passes_through_and_a_stranger_is_refused() {
        let xr = json!({"apiVersion": "myplatform.io/v1alpha1", "kind": "XCluster", "metadata": {"name": "x"}});
        assert_eq!(composite_for(xr.clone(), Some(&xrd())).unwrap(), xr);
        // The namespaced Cluster of another group is no claim of this XRD.
        let modern = json!({"apiVersion": "platform.myplatform.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "x", "namespace": "team-a"}});
        assert_eq!(composite_for(modern.clone(), Some(&xrd())).unwrap(), modern);
        let bucket = json!({"apiVersion": "myplatform.io/v1alpha1", "kind": "Bucket"});
        let err = composite_for(bucket, Some(&xrd())).unwrap_err();
        assert!(
            err.to_string()
                .contains("neither the XRD's composite kind XCluster")
        );
    }
}
