//! `demo`: the whole appliance round trip on one machine, on embedded defaults.

use std::io::Write as _;
use std::path::PathBuf;

use keys::exit::{Outcome, stdout};

use crate::Global;

/// Run the whole appliance on this machine: keys and keyset, the outer service on loopback with
/// SQLite, a throwaway PostgreSQL (or --inner-database-url), sample filings over HTTP, export,
/// carry, import, review, return, carry back, apply; then print every receipt's final status and
/// verify one certificate.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep everything in this directory instead of a temporary one that is removed at the end.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Runs `demo`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<Outcome> {
    let temp;
    let dir = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.clone()
        }
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_owned()
        }
    };
    let url = global.inner_database_url.clone();
    let json = global.json();
    let summary = transfer::demo::run(&dir, url.as_deref(), &|step| {
        // The callback cannot fail the run; a stdout that stops taking lines for good (a full
        // disk) fails the summary written below, so ignoring the error here loses nothing.
        if !json {
            let _ = writeln!(stdout(), "==> {step}");
        }
    })?;
    if json {
        keys::exit::print_json(&serde_json::to_value(&summary)?)?;
        return Ok(Outcome::Done);
    }
    writeln!(stdout())?;
    writeln!(
        stdout(),
        "receipt              state                     version  filing number          certificate"
    )?;
    for s in &summary.statuses {
        writeln!(
            stdout(),
            "{:<20} {:<25} {:>7}  {:<22} {}",
            s.receipt,
            s.state,
            s.version,
            s.filing_number.as_deref().unwrap_or("-"),
            if s.certificate_ready { "ready" } else { "-" }
        )?;
    }
    writeln!(stdout())?;
    writeln!(
        stdout(),
        "{} submissions accepted over HTTP, {} batch rows refused at intake",
        summary.accepted,
        summary.batch_rows_refused
    )?;
    writeln!(
        stdout(),
        "{} bundles exported, {} imported, {} return bundles applied, {} payloads deleted outside after signed acks",
        summary.bundles_exported,
        summary.bundles_imported,
        summary.returns_applied,
        summary.payloads_deleted
    )?;
    match &summary.certificate_checked {
        Some((number, key)) => writeln!(
            stdout(),
            "certificate {number} downloaded outside verifies against inner-cert key {key}"
        )?,
        None => writeln!(stdout(), "no certificate was ready to check")?,
    }
    writeln!(stdout(), "finished in {:.1} s", summary.seconds)?;
    if let Some(dir) = &args.dir {
        writeln!(stdout(), "everything is kept in {}", dir.display())?;
    }
    Ok(Outcome::Done)
}
