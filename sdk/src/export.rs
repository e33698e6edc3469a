//! The export glue behind [`crate::export_module!`]: WIT types in, plain
//! protocol types to the module, WIT types out; and `wasi:cli/run`, the
//! same module over JSON on stdin and stdout.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde_json::Value;

use crate::Module;
use crate::json;
use crate::log::{Level, Line, Log};
use crate::protocol as p;
use crate::structpb;

pub mod bindings {
    wit_bindgen::generate!({
        world: "composition-command",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export_bindings",
        default_bindings_module: "module_sdk::export::bindings",
    });
}

pub use bindings::exports::platform::function::composition as wit;
use wit as w;

/// Writes a line to stderr, where the host's logger (or the person running
/// `wasmtime run`) reads it: one WASI call a line, with the stream's handle
/// kept for the instance's life, where `std::io::stderr` would make three.
fn forward(line: Line) {
    /// What `blocking-write-and-flush` takes at most in one call.
    const MAX_WRITE: usize = 4096;
    thread_local! {
        static STDERR: wasip2::io::streams::OutputStream = wasip2::cli::stderr::get_stderr();
    }
    let text = line.to_json_line();
    STDERR.with(|stderr| {
        for chunk in text.as_bytes().chunks(MAX_WRITE) {
            // Nothing is left to tell if stderr itself fails.
            if stderr.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    });
}

/// A panic traps the instance, and a trap carries no message: the panic's
/// message goes to stderr first, as an error line with a `panic` field
/// (where it happened), which the host puts in the call's failure.
fn report_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info.payload_as_str().unwrap_or("a panic without a message");
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            forward(Line {
                level: Level::Error,
                message: message.to_string(),
                fields: vec![("panic".to_string(), location)],
            });
        }));
    });
}

/// `wasi:cli/run`: a `RunFunctionRequest` as JSON on stdin, the
/// `RunFunctionResponse` as JSON on stdout. A request that is not one is an
/// error line on stderr and a failed run. The export closes the arena
/// first (see [`crate::arena::Arena::close`]).
pub fn run_command<M: Module>() -> Result<(), ()> {
    report_panics();
    let mut log = Log::streaming(forward);
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        log.error(format!("cannot read the request from stdin: {e}"), &[]);
        return Err(());
    }
    let request = serde_json::from_str::<Value>(&text)
        .map_err(|e| format!("stdin is not JSON: {e}"))
        .and_then(|value| {
            json::request(&value).map_err(|e| format!("stdin is not a RunFunctionRequest: {e}"))
        });
    let request = match request {
        Ok(request) => request,
        Err(message) => {
            log.error(message, &[]);
            return Err(());
        }
    };
    let response = M::run(&request, &mut log);
    let mut out = serde_json::to_string_pretty(&json::response(&response, &request.tag))
        .expect("a serde_json Value always serialises");
    out.push('\n');
    std::io::stdout().write_all(out.as_bytes()).map_err(|e| {
        log.error(format!("cannot write the response to stdout: {e}"), &[]);
    })
}

pub fn describe<M: Module>() -> w::ModuleInfo {
    report_panics();
    let info = M::describe();
    w::ModuleInfo {
        name: info.name,
        version: info.version,
        routes: info
            .routes
            .into_iter()
            .map(|r| w::Route {
                module: r.module,
                labels: r.labels.into_iter().collect(),
            })
            .collect(),
    }
}

pub fn run_function<M: Module>(request: w::Request) -> Result<w::Response, w::ModuleError> {
    report_panics();
    let request = from_wit(request).map_err(|message| w::ModuleError { message })?;
    let mut log = Log::streaming(forward);
    let response = M::run(&request, &mut log);
    let tag = request.tag.clone();
    // Freed with the instance, not node by node (see `struct_bytes`).
    std::mem::forget(request);
    to_wit(response, tag).map_err(|message| w::ModuleError { message })
}

fn parse(bytes: &[u8], what: &str) -> Result<Value, String> {
    structpb::decode(bytes)
        .map(Value::Object)
        .map_err(|e| format!("cannot read {what}: {e}"))
}

fn key_bytes(pairs: Vec<w::KeyBytes>) -> BTreeMap<String, Vec<u8>> {
    pairs.into_iter().map(|kv| (kv.key, kv.value)).collect()
}

fn resource_from(c: w::Composed, what: &str) -> Result<p::Resource, String> {
    Ok(p::Resource {
        body: parse(&c.body, what)?,
        connection_details: key_bytes(c.connection_details),
        ready: match c.ready {
            w::Ready::ReadyUnspecified => p::Ready::Unspecified,
            w::Ready::ReadyTrue => p::Ready::True,
            w::Ready::ReadyFalse => p::Ready::False,
        },
    })
}

fn state_from(s: w::State, what: &str) -> Result<p::State, String> {
    let composite = s
        .composite
        .map(|c| resource_from(c, &format!("the {what} composite")))
        .transpose()?;
    let resources = s
        .resources
        .into_iter()
        .map(|n| {
            let r = resource_from(n.resource, &format!("{what} resource {}", n.name))?;
            Ok((n.name, r))
        })
        .collect::<Result<_, String>>()?;
    Ok(p::State {
        composite,
        resources,
    })
}

fn required_from(list: Vec<w::Required>) -> Result<BTreeMap<String, Vec<Value>>, String> {
    list.into_iter()
        .map(|r| {
            let items = r
                .items
                .into_iter()
                .map(|c| parse(&c.body, &format!("required resource {}", r.name)))
                .collect::<Result<_, _>>()?;
            Ok((r.name, items))
        })
        .collect()
}

fn from_wit(r: w::Request) -> Result<p::Request, String> {
    Ok(p::Request {
        lists_capabilities: r.meta.capabilities.contains(&w::Capability::Capabilities),
        tag: r.meta.tag,
        observed: state_from(r.observed, "observed")?,
        desired: state_from(r.desired, "desired")?,
        input: r.input.map(|i| parse(&i, "the input")).transpose()?,
        context: r.context.map(|c| parse(&c, "the context")).transpose()?,
        extra_resources: required_from(r.extra_resources)?,
        required_resources: required_from(r.required_resources)?,
        credentials: r
            .credentials
            .into_iter()
            .map(|c| (c.name, key_bytes(c.data)))
            .collect(),
    })
}

/// An object as the bytes of a `Struct`; `what` names anything else, which
/// the protocol cannot carry. The tree is then leaked on purpose: the
/// instance, and the arena it lives in, are dropped after this call, so
/// walking it to free each node is wasted work.
fn struct_bytes(value: Value, what: &str) -> Result<Vec<u8>, String> {
    let bytes = match &value {
        Value::Object(object) => structpb::encode(object),
        other => return Err(format!("{what} is {}, not an object", kind(other))),
    };
    std::mem::forget(value);
    Ok(bytes)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn resource_to(r: p::Resource, what: &str) -> Result<w::Composed, String> {
    Ok(w::Composed {
        body: struct_bytes(r.body, what)?,
        connection_details: r
            .connection_details
            .into_iter()
            .map(|(key, value)| w::KeyBytes { key, value })
            .collect(),
        ready: match r.ready {
            p::Ready::Unspecified => w::Ready::ReadyUnspecified,
            p::Ready::True => w::Ready::ReadyTrue,
            p::Ready::False => w::Ready::ReadyFalse,
        },
    })
}

fn target_to(t: p::Target) -> w::Target {
    match t {
        p::Target::Composite => w::Target::Composite,
        p::Target::CompositeAndClaim => w::Target::CompositeAndClaim,
    }
}

fn selectors_to(map: BTreeMap<String, p::Selector>) -> Vec<w::ResourceSelector> {
    map.into_iter()
        .map(|(name, s)| w::ResourceSelector {
            name,
            api_version: s.api_version,
            kind: s.kind,
            match_: match s.matching {
                p::Match::Name(n) => w::MatchBy::Name(n),
                p::Match::Labels(l) => w::MatchBy::Labels(l.into_iter().collect()),
            },
            namespace: s.namespace,
        })
        .collect()
}

fn to_wit(r: p::Response, tag: String) -> Result<w::Response, String> {
    Ok(w::Response {
        meta: w::ResponseMeta {
            tag,
            ttl: r.ttl_seconds.map(|s| w::Duration {
                seconds: s as i64,
                nanos: 0,
            }),
        },
        desired: w::State {
            composite: r
                .desired
                .composite
                .map(|c| resource_to(c, "the desired composite"))
                .transpose()?,
            resources: r
                .desired
                .resources
                .into_iter()
                .map(|(name, r)| {
                    let resource = resource_to(r, &format!("desired resource {name}"))?;
                    Ok(w::NamedComposed { name, resource })
                })
                .collect::<Result<_, String>>()?,
        },
        results: r
            .results
            .into_iter()
            .map(|x| w::FunctionResult {
                severity: match x.severity {
                    p::Severity::Fatal => w::Severity::Fatal,
                    p::Severity::Warning => w::Severity::Warning,
                    p::Severity::Normal => w::Severity::Normal,
                },
                message: x.message,
                reason: x.reason,
                target: Some(target_to(x.target)),
            })
            .collect(),
        context: r
            .context
            .map(|c| struct_bytes(c, "the context"))
            .transpose()?,
        requirements: w::Requirements {
            extra_resources: selectors_to(r.requirements.extra_resources),
            resources: selectors_to(r.requirements.resources),
            schemas: Vec::new(),
        },
        conditions: r
            .conditions
            .into_iter()
            .map(|c| w::Condition {
                type_: c.kind,
                status: match c.status {
                    p::ConditionStatus::Unknown => w::ConditionStatus::StatusUnknown,
                    p::ConditionStatus::True => w::ConditionStatus::StatusTrue,
                    p::ConditionStatus::False => w::ConditionStatus::StatusFalse,
                },
                reason: c.reason,
                message: c.message,
                target: Some(target_to(c.target)),
            })
            .collect(),
        output: None,
    })
}
