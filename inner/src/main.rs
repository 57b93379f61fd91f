//! `sluice-inner`: the inner store's command-line tool for operators and reviewers.
//!
//! Exit codes: 0 done; 1 failed (the error chain is printed to standard error); 2 bad usage;
//! 3 refused (the workflow does not allow the action, or a conflict blocks it); 4 not found.

use std::process::ExitCode;

use clap::Parser as _;

mod cli;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sluice-inner: {}", keys::report::one_line(error.as_ref()));
            ExitCode::from(cli::exit_code(&error))
        }
    }
}
