//! The claim fuzz target's corpus and any crash it found, replayed on every
//! test run: each input renders or is refused, never a panic.

#[path = "../../fuzz/fuzz_targets/claim_input.rs"]
mod claim_input;

use std::path::Path;

use cluster_platform::log::Log;
use cluster_platform::platform::run;

#[test]
fn every_saved_fuzz_input_renders_or_is_refused() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for dir in ["corpus/claim", "regressions/claim"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let data = std::fs::read(entry.path()).unwrap();
            if let Some(request) = claim_input::request_for(&data) {
                let _ = run(&request, &mut Log::default());
                replayed += 1;
            }
        }
    }
    assert!(replayed > 0, "no saved fuzz input under {}", root.display());
}
