//! The host's protocol adapter: any protobuf bytes that decode as a
//! RunFunctionRequest convert to the WIT request, and any text a module
//! returns as a resource converts back or is refused, never a panic.
#![no_main]

mod conversion_input;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| conversion_input::exercise(data));
