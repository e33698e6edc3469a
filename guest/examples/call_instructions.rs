//! One guest call's work, natively, for an instruction counter: the GCP
//! production claim's request (`first` call or cluster `up`) with its
//! objects as the `Struct` bytes the module receives, decoded, rendered,
//! encoded, and checked as the host checks them, on the module's per-call
//! arena. Instructions, unlike times, repeat exactly from run to run:
//!
//! ```sh
//! cargo build --release -p cluster-platform --features testing --example call_instructions
//! valgrind --tool=callgrind --toggle-collect='call_instructions::call' \
//!     target/release/examples/call_instructions up 5   # instructions / 5 = one call
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use cluster_platform::log::Log;
use cluster_platform::platform::run;
use cluster_platform::protocol::Request;
use cluster_platform::testing::{claim, cluster_up, env_configs, request, settle};
use module_sdk::arena::{Arena, Pages};
use module_sdk::structpb;
use serde_json::Value;

/// The arena's chunks, from the system allocator instead of `memory.grow`.
struct SystemPages;

/// Bytes of chunks the arena has taken: the memory the calls touch.
static TAKEN: AtomicUsize = AtomicUsize::new(0);

impl Pages for SystemPages {
    fn take(&self, bytes: usize) -> Option<usize> {
        TAKEN.fetch_add(bytes, Ordering::Relaxed);
        let layout = Layout::from_size_align(bytes, 64 << 10).ok()?;
        let start = unsafe { System.alloc(layout) };
        (!start.is_null()).then_some(start as usize)
    }
}

#[global_allocator]
static ALLOCATOR: Arena<SystemPages, System> = Arena::new(SystemPages, System);

/// A request and its objects' bytes, as the module receives them.
struct Call {
    request: Request,
    composite: Vec<u8>,
    observed: Vec<(String, Vec<u8>)>,
}

fn prepare(cluster_is_up: bool) -> Call {
    let configs = env_configs();
    let (mut request, _) = settle(request(claim("gcp")), &configs);
    if cluster_is_up {
        request = cluster_up(request, &configs);
    }
    let bytes = |body: &mut Value| match std::mem::take(body) {
        Value::Object(object) => structpb::encode(&object),
        _ => unreachable!("objects"),
    };
    let composite = bytes(&mut request.observed.composite.as_mut().expect("xr").body);
    let observed = request
        .observed
        .resources
        .iter_mut()
        .map(|(name, r)| (name.clone(), bytes(&mut r.body)))
        .collect();
    Call {
        request,
        composite,
        observed,
    }
}

/// One call; returns the resources composed and the bytes sent back.
#[inline(never)]
fn call(prepared: &Call) -> (usize, usize) {
    let decode = |bytes: &[u8]| Value::Object(structpb::decode(bytes).expect("a Struct"));
    let mut request = prepared.request.clone();
    request.observed.composite.as_mut().expect("xr").body = decode(&prepared.composite);
    for (name, bytes) in &prepared.observed {
        request
            .observed
            .resources
            .get_mut(name)
            .expect("observed")
            .body = decode(bytes);
    }
    let response = run(&request, &mut Log::default());
    // The module leaks both trees: its instance's memory is dropped whole.
    std::mem::forget(request);
    let resources = response.desired.resources.len();
    let mut sent = 0;
    for (_, resource) in response.desired.resources {
        let Value::Object(object) = &resource.body else {
            unreachable!("objects")
        };
        let bytes = structpb::encode(object);
        structpb::check(&bytes).expect("the host's check");
        sent += bytes.len();
        std::mem::forget(resource);
    }
    (resources, sent)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "up".into());
    let calls: usize = args
        .next()
        .map_or(5, |n| n.parse().expect("a number of calls"));
    let prepared = prepare(which == "up");
    let (mut resources, mut sent) = (0, 0);
    let before = TAKEN.load(Ordering::Relaxed);
    for _ in 0..calls {
        (resources, sent) = call(&prepared);
    }
    // Whole chunks: a rounded figure, exact over many calls.
    let arena = (TAKEN.load(Ordering::Relaxed) - before) as f64 / calls as f64;
    println!(
        "{which}: {calls} calls, {resources} resources, {sent} bytes sent and {:.2} MiB of arena taken per call",
        arena / f64::from(1 << 20)
    );
}
