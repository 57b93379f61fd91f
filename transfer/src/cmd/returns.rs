//! `return` (inner host): the return queue → one signed return bundle in the outbox.

use std::io::Write as _;

use keys::exit::{Outcome, stdout};
use transfer::inner_side;

use crate::Global;

/// Write a return bundle with pending acks, status changes and certificates and the sequence
/// state of every channel, signed with the inner-return key. With nothing pending and the
/// sequence state unchanged the bundle is a heartbeat (the sequence state alone, so the outer
/// side sees the inner side is alive) and the exit code is 3, nothing to do. Then deletes the
/// retained return bundles every intake node this channel serves has acknowledged with a return
/// receipt (riding on its submissions bundles and heartbeats). Needs: inner_database_url,
/// signing_key, return_channel, spool_dir.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `return`.
pub fn run(global: &Global, _args: &Args) -> anyhow::Result<Outcome> {
    let config = global.config()?;
    let mut client = inner_side::connect(config.inner_database_url()?)?;
    let settings = config.return_settings(super::now())?;
    let report = inner_side::write_return(
        &mut client,
        &config.spool()?,
        &config.signing_key()?,
        &settings,
    )?;
    super::print_report(global, &report, |report| {
        if report.heartbeat {
            for b in &report.written {
                writeln!(
                    stdout(),
                    "nothing to return; published heartbeat sequence {}: {}",
                    b.sequence,
                    b.file
                )?;
            }
        } else {
            for b in &report.written {
                writeln!(
                    stdout(),
                    "published return bundle sequence {}: {}",
                    b.sequence,
                    b.file
                )?;
            }
            writeln!(
                stdout(),
                "{} ack(s), {} status change(s), {} certificate(s)",
                report.acks,
                report.status_changes,
                report.certificates
            )?;
            for (channel, epoch, missing) in &report.sequence_reports {
                if !missing.is_empty() {
                    writeln!(
                        stdout(),
                        "channel {channel} epoch {epoch}: missing sequences {missing:?}"
                    )?;
                }
            }
        }
        if report.pruned > 0 {
            writeln!(
                stdout(),
                "deleted {} retained return bundle(s) every node has acknowledged; {} still kept",
                report.pruned,
                report.retained
            )?;
        }
        Ok(())
    })?;
    Ok(if report.heartbeat && report.recovered == 0 {
        Outcome::NothingToDo
    } else {
        Outcome::Done
    })
}
