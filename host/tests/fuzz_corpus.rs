//! The conversion fuzz target's corpus and any crash it found, replayed on
//! every test run: each input converts or is refused, never a panic.

#[path = "../../fuzz/fuzz_targets/conversion_input.rs"]
mod conversion_input;

use std::path::Path;

#[test]
fn every_saved_fuzz_input_converts_or_is_refused() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for dir in ["corpus/conversion", "regressions/conversion"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            conversion_input::exercise(&std::fs::read(entry.path()).unwrap());
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no saved fuzz input under {}", root.display());
}
