//! Identities and what they may do: the cluster's own identity may manage
//! load balancers in its subnet; cert-manager gets a user-assigned
//! identity, its federated credential trusting the cluster's OIDC issuer
//! and, with DNS, the right to edit the public zone.
//!
//! The credential and the role assignments need values Azure only reports
//! once the cluster, identity, subnet and zone exist; they are added as
//! soon as those values are observed, and kept from their own observed
//! spec after.

use serde_json::{Value, json};

use super::group;
use crate::platform::claim::Platform;
use crate::platform::compose::{Part, Plan, managed, select};
use crate::platform::helm;
use crate::platform::observed::Observed;
use crate::platform::pointer::Pointer;

const API: &str = "managedidentity.azure.upbound.io/v1beta1";
const AUDIENCE: &str = "api://AzureADTokenExchange";

/// A value read from another resource's status, or, once this resource
/// exists, from its own spec so it is never dropped.
fn known(
    observed: Observed<'_>,
    from: &str,
    pointer: &str,
    this: &str,
    field: &str,
) -> Option<String> {
    observed
        .text(from, pointer)
        .map(str::to_string)
        .or_else(|| {
            observed
                .body(this)?
                .at(&format!("/spec/forProvider/{field}"))?
                .as_str()
                .map(str::to_string)
        })
}

pub const NETWORK_CONTRIBUTOR: &str = "cluster-network-contributor";

/// AKS's cloud provider creates the internal load balancers in the
/// platform's subnet with the cluster's system-assigned identity; only the
/// Azure CLI grants it `Network Contributor` there by itself, so without
/// this assignment every internal Service fails with AuthorizationFailed.
fn network_contributor(observed: Observed<'_>, plan: &mut Plan) {
    let principal = known(
        observed,
        "cluster",
        "/identity/principalId",
        NETWORK_CONTRIBUTOR,
        "principalId",
    );
    let subnet = known(observed, "subnet", "/id", NETWORK_CONTRIBUTOR, "scope");
    if let (Some(principal), Some(subnet)) = (principal, subnet) {
        plan.add(
            role_assignment(
                NETWORK_CONTRIBUTOR,
                principal,
                subnet,
                "Network Contributor",
            )
            .uses(&["cluster", "subnet"]),
        );
    }
}

/// A built-in role for a managed identity's principal on `scope`.
fn role_assignment(name: &str, principal: String, scope: String, role: &str) -> Part {
    managed(
        name,
        "authorization.azure.upbound.io/v1beta1",
        "RoleAssignment",
        json!({
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "scope": scope,
            "roleDefinitionName": role,
            // The identity is minutes old: Entra ID may not list it yet.
            "skipServicePrincipalAadCheck": true,
        }),
    )
}

pub fn add(p: &Platform, observed: Observed<'_>, plan: &mut Plan) {
    network_contributor(observed, plan);
    let rg = group(p);
    plan.add(
        managed(
            "identity-cert-manager",
            API,
            "UserAssignedIdentity",
            json!({"location": p.id.location, "resourceGroupName": rg, "name": p.named("cert-manager")}),
        )
        .uses(&["resource-group"])
        .fixed_at_creation(&["/name"]),
    );
    let federation = "identity-cert-manager-federation";
    if let Some(issuer) = known(observed, "cluster", "/oidcIssuerUrl", federation, "issuer") {
        plan.add(
            managed(
                federation,
                API,
                "FederatedIdentityCredential",
                json!({
                    "resourceGroupName": rg,
                    "parentIdSelector": select("identity-cert-manager"),
                    "audience": [AUDIENCE],
                    "issuer": issuer,
                    "subject": format!(
                        "system:serviceaccount:{}:cert-manager",
                        helm::namespace(p, "cert-manager")
                    ),
                }),
            )
            .named(p.external_name(federation, p.named("cert-manager")))
            .uses(&["identity-cert-manager"]),
        );
    }
    let dns_role = "identity-cert-manager-dns";
    if !p.dns {
        return;
    }
    let principal = known(
        observed,
        "identity-cert-manager",
        "/principalId",
        dns_role,
        "principalId",
    );
    let zone = known(observed, "public-dns-zone", "/id", dns_role, "scope");
    if let (Some(principal), Some(zone)) = (principal, zone) {
        plan.add(
            role_assignment(dns_role, principal, zone, "DNS Zone Contributor")
                .uses(&["identity-cert-manager", "public-dns-zone"]),
        );
    }
}

/// cert-manager's service account names the identity's client ID, which
/// Azure reports once the identity exists; the ingress controller's
/// internal load balancer needs the cluster's right to use the subnet.
pub fn chart_inputs(chart: &str) -> &'static [&'static str] {
    match chart {
        "cert-manager" => &["identity-cert-manager"],
        "ingress-nginx" | "envoy-gateway" => &[NETWORK_CONTRIBUTOR],
        _ => &[],
    }
}

pub fn chart_values(_p: &Platform, observed: Observed<'_>, chart: &str) -> Option<Value> {
    if chart != "cert-manager" {
        return None;
    }
    let mut values = json!({
        "podLabels": {"azure.workload.identity/use": "true"},
        "serviceAccount": {"labels": {"azure.workload.identity/use": "true"}},
    });
    if let Some(client_id) = observed.text("identity-cert-manager", "/clientId") {
        values["serviceAccount"]["annotations"] =
            json!({"azure.workload.identity/client-id": client_id});
    }
    Some(values)
}

/// Azure DNS through cert-manager's identity: the zone's subscription (from
/// its ID) and the identity's client ID are known once Azure reports them.
pub fn dns01_solver(p: &Platform, observed: Observed<'_>) -> Option<Value> {
    let zone = observed.text("public-dns-zone", "/id")?;
    let subscription = zone
        .strip_prefix("/subscriptions/")?
        .split('/')
        .next()
        .filter(|s| !s.is_empty())?;
    let client_id = observed.text("identity-cert-manager", "/clientId")?;
    Some(json!({"azureDNS": {
        "subscriptionID": subscription,
        "resourceGroupName": group(p),
        "hostedZoneName": p.domain.as_deref().unwrap_or_default(),
        "environment": "AzurePublicCloud",
        "managedIdentity": {"clientID": client_id},
    }}))
}
