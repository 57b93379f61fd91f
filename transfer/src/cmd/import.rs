//! `import` (inner host): inbox bundles → PostgreSQL, each in one transaction.

use std::io::Write as _;
use transfer::outcome::FileResult;

use keys::exit::{Outcome, stdout};
use transfer::inner_side::{self, ImportSettings};

use crate::Global;

/// Verify, chain-check and apply every bundle in the inbox to PostgreSQL, each in one
/// transaction with its ledger row; archive what was applied or seen before, quarantine the
/// rest with a reason file. A keyset bundle carrying the next keyset version installs it in
/// keyset_dir (bundles after it are verified with it). Needs: inner_database_url, keyset,
/// accept_channels, spool_dir.
///
/// Quarantine codes: the bundle format's own (envelope.*, header.*, bundle.*, payload.*; see
/// bundle-format/SPEC.md section 11), file.too-large, file.unreadable, channel.not-accepted,
/// kind.not-importable, chain.fork, chain.rollback, chain.expired, chain.stale,
/// record.breaks-filing-rule: a verified submissions bundle with a record that breaks a filing
/// rule the outer intake enforces (a malformed or non-canonical domain, a domain listed twice,
/// a private or reserved IP range, a wrong check character in a certificate number, an unknown
/// province, a malformed home URL); nothing of it is applied, and the reason names the first
/// record, receipt, version, field and rule; and for a keyset bundle whose keyset is not
/// installed: keyset.not-next-version (a version skipped), keyset.threshold-not-met (too few
/// root signatures), keyset.bad-signature, keyset.key-reused, keyset.revocation-withdrawn,
/// keyset.version-conflict (another document under a version trusted here), keyset.malformed.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `import`.
pub fn run(global: &Global, _args: &Args) -> anyhow::Result<Outcome> {
    let config = global.config()?;
    let (now, mut keysets) = super::keysets_now(&config)?;
    let spool = config.spool()?;
    let mut client = inner_side::connect(config.inner_database_url()?)?;
    let settings = ImportSettings {
        channels: config.accept_channels()?,
        now,
        identities: bundle_format::encryption::Identities(config.age_identities()?),
        max_scan_bytes: config.max_scan_bytes()?,
    };
    let report = super::with_progress("bundles", |progress| {
        inner_side::import_with_progress(&mut client, &spool, &mut keysets, &settings, progress)
    })?;
    super::print_report(global, &report, |report| {
        for f in &report.files {
            match f.result {
                FileResult::Quarantined => super::print_quarantined(&f.file, f.reason.as_deref())?,
                result @ (FileResult::Applied | FileResult::Duplicate) => writeln!(
                    stdout(),
                    "{result} {} (channel {}, sequence {}){}{}",
                    f.file,
                    f.channel.unwrap_or_default(),
                    f.sequence.unwrap_or_default(),
                    if f.outcomes.is_empty() {
                        String::new()
                    } else {
                        format!(": {:?}", f.outcomes)
                    },
                    f.keyset
                        .as_ref()
                        .map(super::keyset_line)
                        .unwrap_or_default()
                )?,
            }
        }
        writeln!(
            stdout(),
            "{} applied, {} duplicate(s), {} quarantined",
            report.count(FileResult::Applied),
            report.count(FileResult::Duplicate),
            report.count(FileResult::Quarantined)
        )?;
        Ok(())
    })?;
    Ok(Outcome::of(
        report.count(FileResult::Applied) + report.count(FileResult::Duplicate),
        report.count(FileResult::Quarantined),
    ))
}
