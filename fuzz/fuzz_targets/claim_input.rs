//! How the claim fuzz target turns bytes into a request: shared with the
//! test that replays the saved corpus.

use cluster_platform::protocol::{Request, Resource, State};
use serde_json::{Value, json};

/// A request whose composite is `data` as JSON, with a fixed environment.
pub fn request_for(data: &[u8]) -> Option<Request> {
    let composite = serde_json::from_slice::<Value>(data).ok()?;
    let environment = json!({
        "network": {"vpcCidr": "10.0.0.0/16", "subnetCidr": "10.0.0.0/20", "podsCidr": "10.4.0.0/14",
                    "servicesCidr": "10.8.0.0/20", "masterCidr": "172.16.0.0/28", "zones": ["a", "b", "c"]},
        "defaultMachineType": "e2-medium",
        "monitoring": {"enabled": true},
    });
    Some(Request {
        observed: State {
            composite: Some(Resource::new(composite)),
            ..State::default()
        },
        context: Some(json!({"apiextensions.crossplane.io/environment": environment})),
        ..Request::default()
    })
}
