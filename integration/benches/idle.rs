//! What the same work costs when it finds the machine idle: each piece of
//! work done back to back, and after the process slept 0.1, 1 and 10 ms,
//! in CPU time of the thread doing it (p50). A call arriving every 10 ms
//! (16 streams at 100 calls/s) finds the machine idle in between.
//!
//! - arithmetic that touches no memory: whether an idle core comes back
//!   slower (its clock);
//! - a walk over 4 MiB: whether the caches and TLB still hold what the
//!   process touched before it slept;
//! - the GCP cluster-up call through the wasm module, in process (no gRPC,
//!   no other thread), a distinct request each time;
//! - waking a parked thread (wall time from the wake to the thread
//!   running, p50 / p99), as a server does a few times a call; "back to
//!   back" here is 50 µs apart, the least that lets the thread park again.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use fnhost::grpc::{convert, wire};
use fnhost::wasm::limits::Limits;
use fnhost::wasm::runtime::Runtime;
use platform_integration::{cluster_up_request, micros, stats, vary, wasm};
use prost::Message;

const GAPS: [Duration; 4] = [
    Duration::ZERO,
    Duration::from_micros(100),
    Duration::from_millis(1),
    Duration::from_millis(10),
];

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// `work`'s CPU time, p50 over `samples` runs, each after sleeping `gap`.
fn after_idle(gap: Duration, samples: usize, mut work: impl FnMut()) -> Duration {
    let times = (0..samples)
        .map(|_| {
            if !gap.is_zero() {
                std::thread::sleep(gap);
            }
            let t = thread_cpu();
            work();
            thread_cpu() - t
        })
        .collect();
    stats(times).p50
}

fn arithmetic() {
    let mut x = 1u64;
    for _ in 0..300_000 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
    }
    std::hint::black_box(x);
}

/// Reads one byte of every cache line of `buf`, in a scattered order.
fn walk(buf: &[u8]) {
    let lines = buf.len() / 64;
    let mut sum = 0u64;
    for i in 0..lines {
        sum += u64::from(buf[(i * 40_503 % lines) * 64]);
    }
    std::hint::black_box(sum);
}

/// Wall time from waking a parked thread to that thread running.
fn wake_ups(gap: Duration, samples: usize) -> (Duration, Duration) {
    let (wake, woken) = mpsc::channel::<Instant>();
    let (report, reports) = mpsc::channel::<Duration>();
    let waiter = std::thread::spawn(move || {
        for sent in woken {
            report.send(sent.elapsed()).expect("report");
        }
    });
    let mut latencies = Vec::with_capacity(samples);
    for _ in 0..samples {
        // Woken sooner, the thread may not be parked yet: no wake-up at all.
        std::thread::sleep(gap.max(Duration::from_micros(50)));
        wake.send(Instant::now()).expect("wake");
        latencies.push(reports.recv().expect("woken"));
    }
    drop(wake);
    waiter.join().expect("waiter");
    let s = stats(latencies);
    (s.p50, s.p99)
}

fn row(name: &str, cells: impl IntoIterator<Item = String>) {
    println!(
        "| {name} | {} |",
        cells.into_iter().collect::<Vec<_>>().join(" | ")
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let samples = if full { 300 } else { 3 };
    println!("## The same work after the machine idled ({samples} samples, CPU time p50)\n");
    println!("| work | back to back | after 0.1 ms idle | after 1 ms | after 10 ms |");
    println!("|---|---|---|---|---|");
    let cpu = |d: Duration| format!("{:.0} µs", micros(d));

    row(
        "arithmetic, no memory",
        GAPS.map(|gap| cpu(after_idle(gap, samples, arithmetic))),
    );
    let buf: Vec<u8> = (0..4 << 20).map(|i| i as u8).collect();
    row(
        "reading 4 MiB",
        GAPS.map(|gap| cpu(after_idle(gap, samples, || walk(&buf)))),
    );

    let runtime = Runtime::new(Limits::default(), None).expect("runtime");
    let module = runtime.load(&wasm("cluster_all.wasm")).expect("module");
    let base = cluster_up_request("gcp");
    let mut call = 0;
    let mut wasm_call = || {
        call += 1;
        let mut req = base.clone();
        vary(&mut req, call);
        let bytes = req.encode_to_vec();
        let req = wire::RunFunctionRequest::decode(bytes.as_slice()).expect("request");
        let rsp = runtime
            .call(&module, &convert::request_to_wit(&req))
            .expect("call");
        let rsp = convert::response_from_wit(rsp, "tag").expect("response");
        std::hint::black_box(rsp.encode_to_vec());
    };
    wasm_call();
    row(
        "GCP cluster-up call, wasm, in process",
        GAPS.map(|gap| cpu(after_idle(gap, samples, &mut wasm_call))),
    );

    row(
        "waking a parked thread (wall, p50 / p99)",
        GAPS.map(|gap| {
            let (p50, p99) = wake_ups(gap, samples);
            format!("{:.0} / {:.0} µs", micros(p50), micros(p99))
        }),
    );
}
