//! `carry --from DIR --to DIR`: move complete bundles between directories durably.

use std::io::Write as _;
use std::path::PathBuf;

use keys::exit::{Outcome, stdout};

use crate::Global;

/// Copy complete bundles from one directory to another, removing each source only after its
/// copy is durable.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to take bundles from (an outbox, a mounted medium).
    #[arg(long)]
    from: PathBuf,
    /// Directory to put them into (a medium, an inbox).
    #[arg(long)]
    to: PathBuf,
    /// Keep the source files (copy instead of move).
    #[arg(long)]
    keep: bool,
}

/// Runs `carry`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<Outcome> {
    let report = transfer::carry::carry(&args.from, &args.to, args.keep)?;
    if global.json() {
        keys::exit::print_json(&serde_json::to_value(&report)?)?;
    } else {
        writeln!(
            stdout(),
            "carried {} bundle(s), {} already there, {} incomplete left in place",
            report.carried.len(),
            report.already_there.len(),
            report.incomplete.len()
        )?;
        for (name, reason) in &report.incomplete {
            writeln!(stdout(), "  incomplete: {name}: {reason}")?;
        }
        for (name, found) in &report.destination_refused {
            writeln!(stdout(), "  destination refused: {name}: {found}")?;
        }
    }
    Ok(Outcome::of(
        report.carried.len() + report.already_there.len(),
        0,
    ))
}
