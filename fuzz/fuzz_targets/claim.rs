//! The cluster module's claim parsing and rendering: any JSON composite,
//! with a fixed environment, must give a response, never a panic.
#![no_main]

mod claim_input;

use cluster_platform::log::Log;
use cluster_platform::platform::run;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(request) = claim_input::request_for(data) {
        let _ = run(&request, &mut Log::default());
    }
});
