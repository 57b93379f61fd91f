//! `sluice-inner`: the inner store's command-line tool for operators and reviewers.
//!
//! Exit codes and error lines follow the convention every Sluice tool shares (`keys::exit`):
//! 0 done; 1 failed (the error chain is printed to standard error); 2 bad usage; 5 refused (the
//! workflow does not allow the action, or a conflict blocks it); 6 not found.

use std::process::ExitCode;

use keys::exit::{self, Outcome};

mod cli;

fn main() -> ExitCode {
    let args = match exit::parse::<cli::Args>() {
        Ok(args) => args,
        Err(code) => return code,
    };
    exit::finish(cli::run(args).map(|()| Outcome::Done), exit::code_of)
}
