//! `sluice-outer`: the outer intake service and its administration commands.
//!
//! Exit codes: 0 done, 1 failed (the whole error chain is printed), 2 bad command line.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sluice-outer: {}", keys::report::one_line(error.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}
