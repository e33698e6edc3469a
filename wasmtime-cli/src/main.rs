//! The stock `wasmtime` CLI's `run` command, from the `wasmtime-cli` crate
//! at the host's wasmtime version: the harness that runs a module with no
//! host (`integration/tests/wasmtime_cli.rs`). Built with the workspace, it
//! costs a few crates, where installing the CLI compiled all of wasmtime
//! again. Only `run` is here: `wasmtime run module.wasm`.

use clap::Parser;
use wasmtime_cli::commands::RunCommand;

/// `wasmtime run …`, parsed and executed as the CLI's own `main` does.
#[derive(Parser)]
#[command(name = "wasmtime")]
enum Wasmtime {
    /// Runs a WebAssembly module
    Run(RunCommand),
}

fn main() -> wasmtime::Result<()> {
    match Wasmtime::parse() {
        Wasmtime::Run(run) => run.execute(),
    }
}
