//! `export` (outer host): pending submission versions → signed bundles in the outbox.

use std::io::Write as _;

use keys::exit::{Outcome, stdout};
use transfer::outer_side::{self, OuterHost};

use crate::Global;

/// Export pending submission versions from the outer SQLite into signed bundles in the outbox
/// (kept in the retained outbox until acknowledged), marking them in transit; with nothing
/// pending, write a heartbeat (exit 3). Also re-publishes unacknowledged bundles past the resend
/// age. Needs: outer_database, channel, signing_key, spool_dir.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `export`.
pub fn run(global: &Global, _args: &Args) -> anyhow::Result<Outcome> {
    let config = global.config()?;
    let host = OuterHost::open(config.outer_database()?)?;
    let settings = config.export_settings(super::now())?;
    let spool = config.spool()?;
    let signing_key = config.signing_key()?;
    let report = super::with_progress("submission versions", |progress| {
        outer_side::export_with_progress(&host, &spool, &signing_key, &settings, progress)
    })?;
    super::print_report(global, &report, |report| {
        for b in &report.written {
            writeln!(
                stdout(),
                "published {} bundle sequence {} with {} record(s): {}",
                b.kind,
                b.sequence,
                b.records,
                b.file
            )?;
        }
        writeln!(
            stdout(),
            "{} submission version(s) now in transit; {} bundle(s) re-published",
            report.versions,
            report.republished.len()
        )?;
        Ok(())
    })?;
    Ok(if report.heartbeat && report.republished.is_empty() {
        Outcome::NothingToDo
    } else {
        Outcome::Done
    })
}
