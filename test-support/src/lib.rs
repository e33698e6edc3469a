//! What the tests of several crates and the benchmarks share: a real OCI
//! registry on loopback, the CRD schema validator, module byte helpers.

pub mod registry;
pub mod schema;

/// A port free on loopback now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on loopback")
        .port()
}

/// A copy of `wasm` with a custom section appended: the same behaviour
/// under a new digest.
pub fn with_custom_section(wasm: &[u8], payload: &str) -> Vec<u8> {
    let name = b"swap";
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name);
    body.extend_from_slice(payload.as_bytes());
    let mut out = wasm.to_vec();
    out.push(0); // custom section id
    let mut len = body.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend(body);
    out
}
