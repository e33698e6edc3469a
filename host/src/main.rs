use clap::Parser;
use fnhost::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let debug = match &cli.command {
        Some(Command::Serve(args)) => args.function.debug,
        None => cli.serve.function.debug,
        Some(Command::Compile(_)) => false,
    };
    function_sdk_rust::logging::Builder::new(debug)
        .quiet(["wasmtime", "cranelift_codegen", "wasmtime_cranelift"])
        .init();
    let outcome = match cli.command {
        Some(Command::Compile(args)) => fnhost::server::compile(&args.host),
        Some(Command::Serve(args)) => run_server(args),
        None => run_server(cli.serve),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_server(args: fnhost::cli::ServeArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(fnhost::server::serve(args))
}
