//! `apply` (outer host): inbox return bundles → the outer SQLite.

use std::io::Write as _;
use transfer::outcome::FileResult;

use keys::exit::{Outcome, stdout};
use transfer::outer_side::{self, ApplySettings, OuterHost};

use crate::Global;

/// Verify and apply every return bundle in the inbox: delete the payloads of exactly the
/// acknowledged versions, update statuses, store certificates, re-publish bundles the inner side
/// reports missing. A keyset bundle carrying the next keyset version installs it in keyset_dir
/// (bundles after it are verified with it); one that is not the next version or lacks the root
/// signatures is quarantined. Needs: outer_database, keyset, channel, return_channel,
/// spool_dir.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `apply`.
pub fn run(global: &Global, _args: &Args) -> anyhow::Result<Outcome> {
    let config = global.config()?;
    let (now, mut keysets) = super::keysets_now(&config)?;
    let host = OuterHost::open(config.outer_database()?)?;
    let settings = ApplySettings {
        channel: config.channel()?,
        return_channel: config.return_channel()?,
        now,
        identities: bundle_format::encryption::Identities(config.age_identities()?),
    };
    let spool = config.spool()?;
    let report = super::with_progress("bundles", |progress| {
        outer_side::apply_with_progress(&host, &spool, &mut keysets, &settings, progress)
    })?;
    super::print_report(global, &report, |report| {
        for f in &report.files {
            match f.result {
                FileResult::Quarantined => super::print_quarantined(&f.file, f.reason.as_deref())?,
                result @ (FileResult::Applied | FileResult::Duplicate) => match &f.keyset {
                    Some(keyset) => writeln!(
                        stdout(),
                        "{result} {} (sequence {}){}",
                        f.file,
                        f.sequence.unwrap_or_default(),
                        super::keyset_line(keyset)
                    )?,
                    None => writeln!(
                        stdout(),
                        "{result} {}: {} payload(s) deleted, {} status change(s), {} certificate(s), re-published {:?}",
                        f.file,
                        f.payloads_deleted,
                        f.status_changes,
                        f.certificates,
                        f.republished
                    )?,
                },
            }
        }
        Ok(())
    })?;
    Ok(Outcome::of(
        report.count(FileResult::Applied) + report.count(FileResult::Duplicate),
        report.count(FileResult::Quarantined),
    ))
}
