//! A composition module that misbehaves on request, so the host's sandbox
//! limits can be tested. The step Input's `behaviour` picks what it does:
//! `trap`, `loop`, `sleep`, `alloc`, `log-flood`, `huge-response`, `probe`
//! (reports what of the host it can reach), or anything else to answer
//! normally.
//!
//! Tests make variants of this one build without recompiling: the
//! [`VARIANT`] bytes are patched in a copy of the wasm file (same length) to
//! change the version it reports and puts in its output, the clouds it
//! serves, and flags (`trap-describe`, `panic-describe`, `trap-run`).

/// `@@VARIANT@@<version>;<cloud,cloud>;<flag,flag>` padded with spaces.
#[used]
#[unsafe(no_mangle)]
pub static VARIANT: [u8; 96] = *b"@@VARIANT@@0.1.0;;                                                                              ";

/// The variant's fields, read so the compiler cannot fold the constant.
#[cfg(target_arch = "wasm32")]
fn variant() -> (String, Vec<String>, Vec<String>) {
    // SAFETY: reads a static of plain bytes.
    let bytes = unsafe { core::ptr::read_volatile(&VARIANT) };
    let text = String::from_utf8_lossy(&bytes[11..]).trim().to_string();
    let mut parts = text.splitn(3, ';');
    let version = parts.next().unwrap_or("0.1.0").to_string();
    let list = |s: Option<&str>| -> Vec<String> {
        s.unwrap_or_default()
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    let clouds = list(parts.next());
    let flags = list(parts.next());
    (version, clouds, flags)
}

#[cfg(target_arch = "wasm32")]
mod module {
    wit_bindgen::generate!({
        world: "composition-module",
        path: "../../wit",
    });

    use platform::function::log::{Level, emit};
    use platform::function::types as w;

    struct Hostile;

    fn behaviour(input: Option<&str>) -> String {
        let input = input.unwrap_or_default();
        // A tiny scan instead of a JSON parser keeps this module small.
        for b in [
            "trap",
            "loop",
            "sleep",
            "alloc",
            "log-flood",
            "huge-response",
            "probe",
        ] {
            if input.contains(&format!("\"behaviour\":\"{b}\"")) {
                return b.to_string();
            }
        }
        "ok".to_string()
    }

    impl Guest for Hostile {
        fn describe() -> w::ModuleInfo {
            let (version, clouds, flags) = super::variant();
            if flags.iter().any(|f| f == "trap-describe") {
                core::arch::wasm32::unreachable();
            }
            // A Rust panic writes its message to stderr before trapping.
            if flags.iter().any(|f| f == "panic-describe") {
                panic!("describe() refuses on purpose");
            }
            w::ModuleInfo {
                name: "hostile-guest".into(),
                version,
                modules: vec!["hostile".into()],
                clouds,
            }
        }

        fn run_function(request: w::Request) -> Result<w::Response, w::ModuleError> {
            let (version, _, flags) = super::variant();
            if flags.iter().any(|f| f == "trap-run") {
                core::arch::wasm32::unreachable();
            }
            let mut response = w::Response {
                meta: w::ResponseMeta {
                    tag: request.meta.tag.clone(),
                    ttl: None,
                },
                desired: request.desired,
                results: Vec::new(),
                context: request.context,
                requirements: w::Requirements {
                    extra_resources: Vec::new(),
                    resources: Vec::new(),
                    schemas: Vec::new(),
                },
                conditions: Vec::new(),
                output: None,
            };
            match behaviour(request.input.as_deref()).as_str() {
                "trap" => core::arch::wasm32::unreachable(),
                "loop" => {
                    let mut n: u64 = 0;
                    loop {
                        n = core::hint::black_box(n.wrapping_add(1));
                    }
                }
                // Waits in a host call, where epochs cannot interrupt it.
                "sleep" => std::thread::sleep(std::time::Duration::from_secs(3600)),
                "alloc" => {
                    let mut hoard: Vec<Vec<u8>> = Vec::new();
                    loop {
                        hoard.push(vec![1u8; 1 << 20]);
                        core::hint::black_box(&hoard);
                    }
                }
                "log-flood" => {
                    for i in 0..100_000u32 {
                        emit(Level::Info, "flood", &[("i".into(), i.to_string())]);
                    }
                }
                "probe" => {
                    // What the sandbox lets a module see of the host.
                    let env = std::env::vars().count();
                    let args = std::env::args().count();
                    let files =
                        std::fs::read_dir("/").is_ok() || std::fs::read("/etc/hostname").is_ok();
                    let network = std::net::TcpStream::connect("127.0.0.1:9").is_ok()
                        || std::net::UdpSocket::bind("0.0.0.0:0").is_ok();
                    let body = format!(
                        r#"{{"apiVersion":"v1","kind":"ConfigMap","data":{{"env":"{env}","args":"{args}","files":"{files}","network":"{network}"}}}}"#
                    );
                    response.desired.resources.push(w::NamedComposed {
                        name: "probe".into(),
                        resource: w::Composed {
                            body,
                            connection_details: Vec::new(),
                            ready: w::Ready::ReadyTrue,
                        },
                    });
                }
                "huge-response" => {
                    // 8 MiB of annotation: twice gRPC's default message limit.
                    let body = format!(
                        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"data\":{{\"blob\":\"{}\"}}}}",
                        "x".repeat(8 << 20)
                    );
                    response.desired.resources.push(w::NamedComposed {
                        name: "huge".into(),
                        resource: w::Composed {
                            body,
                            connection_details: Vec::new(),
                            ready: w::Ready::ReadyTrue,
                        },
                    });
                }
                _ => {
                    response.desired.resources.push(w::NamedComposed {
                        name: "hello".into(),
                        resource: w::Composed {
                            body: format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","data":{{"from":"hostile-guest","version":"{version}"}}}}"#),
                            connection_details: Vec::new(),
                            ready: w::Ready::ReadyTrue,
                        },
                    });
                }
            }
            Ok(response)
        }
    }

    export!(Hostile);
}
