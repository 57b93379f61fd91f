//! `sluice-outer`: the outer intake service and its administration commands.
//!
//! Exit codes and error lines follow the convention every Sluice tool shares (`keys::exit`):
//! 0 done, 1 failed (the whole error chain is printed), 2 bad command line.

mod cli;

use keys::exit::{self, Outcome};

fn main() -> std::process::ExitCode {
    let args = match exit::parse::<cli::Cli>() {
        Ok(args) => args,
        Err(code) => return code,
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    exit::finish(cli::run(args).map(|()| Outcome::Done), exit::code_of)
}
