//! End to end over real gRPC on loopback, with the built cluster module.

mod common;

use common::pki::Pki;
use common::*;
use function_sdk_rust::proto::v1::function_runner_service_client::FunctionRunnerServiceClient;
use function_sdk_rust::proto::v1::{Resource, Severity, State};
use function_sdk_rust::resource::struct_to_json;
use serde_json::json;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

#[tokio::test]
async fn run_function_renders_the_cluster_copies_the_tag_and_sets_a_ttl() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let address = serve(modules.path(), &["--insecure"]).await;
    let mut client = insecure_client(&address).await;

    let mut req = request("tag-123", &gcp_claim(), Some(&input("cluster")));
    // A resource an earlier pipeline step desired must be carried forward.
    let earlier = Resource {
        resource: Some(to_struct(&json!({"apiVersion": "v1", "kind": "ConfigMap"}))),
        ..Default::default()
    };
    req.desired = Some(State {
        resources: [("from-earlier-step".to_string(), earlier)].into(),
        ..Default::default()
    });

    // First round: the module asks for its EnvironmentConfigs, as
    // Crossplane's requirements loop expects.
    let first = client.run_function(req.clone()).await.unwrap().into_inner();
    assert_eq!(first.meta.as_ref().unwrap().tag, "tag-123");
    let requirements = first.requirements.clone().unwrap_or_default();
    assert!(
        !requirements.resources.is_empty(),
        "no EnvironmentConfigs were required"
    );
    let envconfigs = fnhost::render::docs::read(&examples().join("envconfigs")).unwrap();
    req.required_resources = fnhost::render::pipeline::fetch(&requirements.resources, &envconfigs);

    let rsp = client.run_function(req).await.unwrap().into_inner();
    assert_eq!(
        rsp.requirements.clone().unwrap_or_default(),
        requirements,
        "requirements are stable"
    );
    let meta = rsp.meta.unwrap();
    assert_eq!(meta.tag, "tag-123");
    assert_eq!(meta.ttl.unwrap().seconds, 60);
    assert!(
        rsp.results
            .iter()
            .all(|r| r.severity != Severity::Fatal as i32),
        "{:?}",
        rsp.results
    );
    let desired = rsp.desired.unwrap();
    assert!(desired.resources.contains_key("from-earlier-step"));
    let cluster = struct_to_json(desired.resources["cluster"].resource.as_ref().unwrap());
    assert_eq!(cluster["apiVersion"], "container.gcp.upbound.io/v1beta2");
    assert_eq!(cluster["spec"]["forProvider"]["project"], "my-project-123");
    assert_eq!(cluster["spec"]["forProvider"]["location"], "us-central1");
}

#[tokio::test]
async fn bad_input_is_a_fatal_result_with_the_tag_not_a_grpc_error() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let address = serve(modules.path(), &["--insecure"]).await;
    let mut client = insecure_client(&address).await;

    let mut no_cloud = gcp_claim();
    no_cloud["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("cloud");
    let cases = [
        (
            request("a", &no_cloud, Some(&input("cluster"))),
            "metadata.labels.cloud is missing",
        ),
        (
            request("b", &gcp_claim(), None),
            "the pipeline step has no input",
        ),
        (
            request("c", &gcp_claim(), Some(&input("database"))),
            "no loaded module serves input module \"database\"",
        ),
        (
            request(
                "d",
                &gcp_claim(),
                Some(&json!({"apiVersion": "other.io/v1", "kind": "Input", "module": "cluster"})),
            ),
            "this function takes {apiVersion: myplatform.io/v1alpha1",
        ),
    ];
    for (req, expected) in cases {
        let tag = req.meta.as_ref().unwrap().tag.clone();
        let rsp = client.run_function(req).await.unwrap().into_inner();
        assert_eq!(rsp.meta.unwrap().tag, tag);
        let fatal = rsp
            .results
            .iter()
            .find(|r| r.severity == Severity::Fatal as i32);
        let message = &fatal
            .unwrap_or_else(|| panic!("no fatal result for {tag}"))
            .message;
        assert!(message.contains(expected), "{tag}: {message}");
    }
}

/// Serves the cluster module over mTLS with a certificate for
/// localhost; returns the address and what must outlive the server.
async fn serve_tls(pki: &Pki) -> (String, [tempfile::TempDir; 2]) {
    let certs = tempfile::tempdir().unwrap();
    pki.certs_dir(certs.path(), "localhost", true);
    let modules = modules_dir(&[CLUSTER_WASM]);
    let address = serve(
        modules.path(),
        &["--tls-certs-dir", certs.path().to_str().unwrap()],
    )
    .await;
    (address, [certs, modules])
}

#[tokio::test]
async fn mtls_serves_a_client_with_a_certificate_and_refuses_one_without() {
    let pki = Pki::new();
    let (address, _dirs) = serve_tls(&pki).await;
    let port = address.rsplit(':').next().unwrap();
    let endpoint = format!("https://localhost:{port}");

    let (client_cert, client_key) = pki.issue("crossplane");
    let tls = ClientTlsConfig::new()
        .domain_name("localhost")
        .ca_certificate(Certificate::from_pem(&pki.ca_pem))
        .identity(Identity::from_pem(client_cert, client_key));
    let channel = Channel::from_shared(endpoint.clone())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let rsp = FunctionRunnerServiceClient::new(channel)
        .run_function(request("mtls", &gcp_claim(), Some(&input("cluster"))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rsp.meta.unwrap().tag, "mtls");

    let anonymous = ClientTlsConfig::new()
        .domain_name("localhost")
        .ca_certificate(Certificate::from_pem(&pki.ca_pem));
    let refused = async {
        let channel = Channel::from_shared(endpoint)
            .unwrap()
            .tls_config(anonymous)
            .unwrap()
            .connect()
            .await?;
        FunctionRunnerServiceClient::new(channel)
            .run_function(request("anon", &gcp_claim(), Some(&input("cluster"))))
            .await
            .map_err(Into::<Box<dyn std::error::Error>>::into)
    }
    .await;
    assert!(
        refused.is_err(),
        "a client without a certificate was served"
    );
}

#[tokio::test]
async fn insecure_over_plaintext_is_refused_when_serving_mtls() {
    let (address, _dirs) = serve_tls(&Pki::new()).await;
    let refused = async {
        let mut client = FunctionRunnerServiceClient::connect(format!("http://{address}")).await?;
        client
            .run_function(request("plain", &gcp_claim(), Some(&input("cluster"))))
            .await
            .map_err(Into::<Box<dyn std::error::Error>>::into)
    }
    .await;
    assert!(refused.is_err(), "a plaintext client was served");
}

#[tokio::test]
async fn metrics_count_module_calls_by_outcome() {
    let modules = modules_dir(&[CLUSTER_WASM]);
    let metrics = format!("127.0.0.1:{}", free_port());
    let address = serve(
        modules.path(),
        &["--insecure", "--metrics-address", &metrics],
    )
    .await;
    let mut client = insecure_client(&address).await;
    client.run_function(cluster_request("ok")).await.unwrap();
    client
        .run_function(request("bad", &gcp_claim(), Some(&input("database"))))
        .await
        .unwrap();

    let (status, body) = http(&metrics, "GET", "/metrics", None, b"").await;
    assert_eq!(status, 200);
    assert!(
        body.contains(r#"function_module_calls_total{module="cluster-platform",version="0.1.0",outcome="ok"} 1"#),
        "{body}"
    );
    assert!(
        body.contains("function_module_call_duration_seconds_bucket"),
        "{body}"
    );
    // The Go SDK's gRPC series, same names and labels.
    let run_function = r#"grpc_type="unary",grpc_service="apiextensions.fn.proto.v1.FunctionRunnerService",grpc_method="RunFunction""#;
    for series in [
        format!("grpc_server_started_total{{{run_function}}} 2"),
        format!("grpc_server_msg_received_total{{{run_function}}} 2"),
        format!("grpc_server_msg_sent_total{{{run_function}}} 2"),
        format!(r#"grpc_server_handled_total{{{run_function},grpc_code="OK"}} 2"#),
        format!(r#"grpc_server_handled_total{{{run_function},grpc_code="Unavailable"}} 0"#),
    ] {
        assert!(body.contains(&series), "{series} not in {body}");
    }
    assert!(body.contains("function_module_swaps_total 0"), "{body}");
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        std::fs::read(wasm(CLUSTER_WASM)).unwrap(),
    ));
    let serving = format!(
        r#"function_module_serving{{module="cluster-platform",version="0.1.0",sha256="{digest}",source="{}"}} 1"#,
        modules.path().join(CLUSTER_WASM).display()
    );
    assert!(body.contains(&serving), "{serving} not in {body}");
}

#[tokio::test]
async fn health_reports_serving_and_reflection_lists_the_function_service() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let modules = modules_dir(&[CLUSTER_WASM]);
    let address = serve(modules.path(), &["--insecure"]).await;
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel.clone());
    for service in ["", "apiextensions.fn.proto.v1.FunctionRunnerService"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }

    let list = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::once(list))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(listed)) = answer.message_response else {
        panic!("not a service list: {answer:?}");
    };
    let names: Vec<_> = listed.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"apiextensions.fn.proto.v1.FunctionRunnerService".to_string()),
        "{names:?}"
    );
}
