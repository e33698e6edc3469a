//! A composition module that misbehaves on request, so the host's sandbox
//! limits can be tested. The step Input's `behaviour` picks what it does:
//! `trap`, `panic`, `loop`, `sleep`, `alloc`, `log-flood`, `huge-response`,
//! `probe` (reports what of the host it can reach), or anything else to
//! answer normally. It is written with the module SDK, as any module is.
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
    use module_sdk::prelude::*;
    use serde_json::json;

    struct Hostile;

    impl Module for Hostile {
        fn describe() -> ModuleInfo {
            let (version, clouds, flags) = super::variant();
            if flags.iter().any(|f| f == "trap-describe") {
                core::arch::wasm32::unreachable();
            }
            if flags.iter().any(|f| f == "panic-describe") {
                panic!("describe() refuses on purpose");
            }
            // The variant's clouds become `cloud` label routes, as the
            // per-cloud platform modules declare them.
            let routes = if clouds.is_empty() {
                vec![Route::new("hostile")]
            } else {
                clouds
                    .iter()
                    .map(|c| Route::new("hostile").label("cloud", c))
                    .collect()
            };
            ModuleInfo {
                name: "hostile-guest".into(),
                version,
                routes,
            }
        }

        fn run(request: &Request, log: &mut Log) -> Response {
            let (version, _, flags) = super::variant();
            if flags.iter().any(|f| f == "trap-run") {
                core::arch::wasm32::unreachable();
            }
            let mut response = Response {
                desired: request.desired.clone(),
                context: request.context.clone(),
                ..Response::default()
            };
            let behaviour = request
                .input
                .as_ref()
                .and_then(|i| i["behaviour"].as_str())
                .unwrap_or("ok");
            let mut compose = |name: &str, body: serde_json::Value| {
                let mut resource = Resource::new(body);
                resource.ready = Ready::True;
                response.desired.resources.insert(name.into(), resource);
            };
            match behaviour {
                "trap" => core::arch::wasm32::unreachable(),
                "panic" => {
                    log.info("about to panic", &[]);
                    panic!("run() panics on purpose");
                }
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
                        log.info("flood", &[("i", &i.to_string())]);
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
                    compose(
                        "probe",
                        json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {
                            "env": env.to_string(), "args": args.to_string(),
                            "files": files.to_string(), "network": network.to_string(),
                        }}),
                    );
                }
                "huge-response" => {
                    // 8 MiB of data: twice gRPC's default message limit.
                    compose(
                        "huge",
                        json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"blob": "x".repeat(8 << 20)}}),
                    );
                }
                _ => compose(
                    "hello",
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"from": "hostile-guest", "version": version}}),
                ),
            }
            response
        }
    }

    export_module!(Hostile);
}
