//! `sluice-keys`: generate, show and export keys, and manage keysets. Argument parsing and the
//! mapping of errors to exit codes live here (the codes and the error lines are the shared
//! convention in `keys::exit`); each subcommand is a module under `cmd`.

mod cmd;

use std::process::ExitCode;

use keys::exit::{self, Outcome};

fn main() -> ExitCode {
    let cli = match exit::parse::<cmd::Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    exit::finish(cmd::run(cli).map(|()| Outcome::Done), cmd::exit_code)
}
