//! `sluice-keys`: generate, show and export keys, and manage keysets. Argument parsing and the
//! mapping of errors to exit codes live here; each subcommand is a module under `cmd`.

mod cmd;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut messages = keys::report::messages(error.as_ref()).into_iter();
            eprintln!("error: {}", messages.next().unwrap_or_default());
            for cause in messages {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(cmd::exit_code(&error))
        }
    }
}
