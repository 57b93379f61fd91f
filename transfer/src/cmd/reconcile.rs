//! `reconcile` (outer host): both sides' ledgers for this host's channel, compared.

use std::io::Write as _;

use keys::exit::{Outcome, stdout};
use transfer::outer_side::{self, Finding, ReconcileSettings};

use crate::Global;

/// Compare, for this host's submissions channel, what this side sent and deleted with what the
/// inner side imported, acknowledged and refused (its acks and sequence reports, as the return
/// channel carried them here), and list every difference with the bundle and receipt it
/// concerns: a bundle the inner side reports missing or never saw, a bundle imported without an
/// ack applied here, a payload gone without an ack, a return bundle never applied here. Notes
/// (bundles in transit, refused for their signer, versions refused inside) are listed apart.
/// Exits 0 when the sides agree and 1 when they differ. Needs: outer_database, channel,
/// return_channel.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `reconcile`.
pub fn run(global: &Global, _args: &Args) -> anyhow::Result<Outcome> {
    let config = global.config()?;
    let host = outer_side::OuterHost::open(config.outer_database()?)?;
    let settings = ReconcileSettings {
        channel: config.channel()?,
        return_channel: config.return_channel()?,
    };
    let report = outer_side::reconcile(&host, &settings)?;
    super::print_report(global, &report, |report| {
        let mut out = stdout();
        writeln!(
            out,
            "channel {} epoch {}: {} bundle(s) sent with {} version(s), {} acknowledged; the \
             inner side has imported through {}",
            report.channel,
            report.epoch,
            report.bundles_sent,
            report.versions_sent,
            report.bundles_acknowledged,
            report
                .inner_highest_contiguous
                .map_or_else(|| "(no report yet)".to_owned(), |n| format!("sequence {n}")),
        )?;
        for finding in &report.differences {
            writeln!(out, "DIFFERENCE {}", line(finding))?;
        }
        for finding in &report.notes {
            writeln!(out, "note {}", line(finding))?;
        }
        Ok(())
    })?;
    if !report.differences.is_empty() {
        anyhow::bail!(
            "{} difference(s) between the outer and inner ledgers (listed above)",
            report.differences.len()
        );
    }
    Ok(Outcome::Done)
}

/// `code [bundle N ID] [receipt R version V]: detail`.
fn line(finding: &Finding) -> String {
    let mut text = finding.code.to_owned();
    if let Some(sequence) = finding.sequence {
        text.push_str(&format!(" sequence {sequence}"));
    }
    if let Some(id) = &finding.bundle_id {
        text.push_str(&format!(" bundle {}", &id[..id.len().min(16)]));
    }
    if let Some(receipt) = &finding.receipt {
        text.push_str(&format!(" receipt {receipt}"));
    }
    if let Some(version) = finding.version {
        text.push_str(&format!(" version {version}"));
    }
    text.push_str(": ");
    text.push_str(&finding.detail);
    text
}
