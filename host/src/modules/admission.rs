//! The one path by which a module becomes servable, at start-up and on
//! every reload: compile, check the WIT world, `describe()`, self-test.

use std::path::Path;
use std::sync::Arc;

use prost::Message;
use serde_json::json;

use crate::grpc::convert;
use crate::grpc::service::{INPUT_API_VERSION, INPUT_KIND};
use crate::modules::cosign::{CosignKeys, signature_path};
use crate::modules::registry::Registry;
use crate::modules::source::Source;
use crate::wasm::bindings::wit;
use crate::wasm::runtime::{LoadedModule, Runtime};

/// Decides which modules may serve: the same checks for start-up, the
/// watcher, SIGHUP and uploads.
pub struct Admission {
    runtime: Arc<Runtime>,
    keys: Option<CosignKeys>,
}

impl Admission {
    /// With `keys`, every module must carry a cosign signature by one.
    pub fn new(runtime: Arc<Runtime>, keys: Option<CosignKeys>) -> Self {
        Self { runtime, keys }
    }

    pub(crate) fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The keys a module must be signed by, if any.
    pub(crate) fn keys(&self) -> Option<&CosignKeys> {
        self.keys.as_ref()
    }

    /// Verifies a module file's signature (with keys), then admits it; the
    /// error says which step refused it. `signature` is the base64 text of
    /// its `.sig`.
    pub(crate) fn admit(
        &self,
        bytes: &[u8],
        source: &Source,
        signature: Option<&str>,
    ) -> anyhow::Result<LoadedModule> {
        if let Some(keys) = &self.keys {
            keys.verify_blob(bytes, signature)?;
        }
        self.admit_verified(bytes, source)
    }

    /// Loads and self-tests a module whose signature, if keys are set, was
    /// verified elsewhere: a registry module's, by `Registries::verify`
    /// before its bytes were pulled.
    pub(crate) fn admit_verified(
        &self,
        bytes: &[u8],
        source: &Source,
    ) -> anyhow::Result<LoadedModule> {
        let module = self.runtime.load_bytes(bytes, source)?;
        self_test(&self.runtime, &module).map_err(|e| anyhow::anyhow!("self-test failed: {e}"))?;
        Ok(module)
    }

    /// The signature beside `path`, read only when keys are set.
    pub(crate) fn signature_beside(&self, path: &Path) -> Option<String> {
        self.keys.as_ref()?;
        std::fs::read_to_string(signature_path(path)).ok()
    }

    /// Loads every module of `dir` at start-up; any refusal stops the start.
    pub fn load_dir(&self, dir: &Path) -> anyhow::Result<Registry> {
        let mut modules = Vec::new();
        for path in module_files(dir)? {
            let bytes = std::fs::read(&path)?;
            let module = self
                .admit(
                    &bytes,
                    &Source::File(path.clone()),
                    self.signature_beside(&path).as_deref(),
                )
                .map_err(|e| anyhow::anyhow!("module {}: {e:#}", path.display()))?;
            tracing::info!(
                module = %module.info.name, version = %module.info.version, digest = %module.digest,
                routes = %module.info.routes.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "), file = %path.display(),
                "loaded module"
            );
            modules.push(Arc::new(module));
        }
        Ok(Registry::new(modules)?)
    }
}

/// The module answers a minimal request for its first route without
/// trapping and with a well-formed response (a fatal result is fine: the
/// request is deliberately bare). The composite carries the route's own
/// labels, so the host guesses nothing about what they mean.
fn self_test(runtime: &Runtime, module: &LoadedModule) -> Result<(), String> {
    let route = &module.info.routes[0];
    let composite = json!({
        "apiVersion": "selftest.fn.crossplane.io/v1",
        "kind": "SelfTest",
        "metadata": {"name": "self-test", "labels": route.labels},
    });
    let input =
        json!({"apiVersion": INPUT_API_VERSION, "kind": INPUT_KIND, "module": route.module});
    let object = |value: serde_json::Value| {
        serde_json::from_value::<pbjson_types::Struct>(value)
            .map(|s| s.encode_to_vec())
            .map_err(|e| format!("cannot build the self-test request: {e}"))
    };
    let request = wit::Request {
        meta: wit::RequestMeta {
            tag: "self-test".into(),
            capabilities: Vec::new(),
        },
        observed: wit::State {
            composite: Some(wit::Composed {
                body: object(composite)?,
                connection_details: Vec::new(),
                ready: wit::Ready::ReadyUnspecified,
            }),
            resources: Vec::new(),
        },
        desired: wit::State {
            composite: None,
            resources: Vec::new(),
        },
        input: Some(object(input)?),
        context: None,
        extra_resources: Vec::new(),
        credentials: Vec::new(),
        required_resources: Vec::new(),
        required_schemas: Vec::new(),
    };
    let response = runtime
        .call_muted(module, &request)
        .map_err(|f| f.to_string())?;
    convert::response_from_wit(response, "self-test")
        .map(drop)
        .map_err(|e| format!("malformed response: {e}"))
}

/// Every `*.wasm` regular file in `dir`, in name order.
pub(crate) fn module_files(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot read --modules-dir {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wasm") && p.is_file())
        .collect();
    paths.sort();
    Ok(paths)
}
