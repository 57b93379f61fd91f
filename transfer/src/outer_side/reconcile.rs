//! `reconcile` on the outer host: what this side sent, what the inner side imported,
//! acknowledged and refused (as its return bundles carried it here), and what this side deleted,
//! compared for one submissions channel. Every difference is named with the bundle and the
//! receipt it concerns; what is merely under way (a bundle on the medium since the inner side's
//! last report, a bundle refused for its signer that the next export signs again) is a note.

use keys::ChannelId;
use outer::store::ledger;
use outer::store::reconcile::{self, InnerReport};

use super::{OuterError, OuterHost};

/// What `reconcile` is told.
#[derive(Debug, Clone)]
pub struct ReconcileSettings {
    /// This host's submissions channel.
    pub channel: ChannelId,
    /// The return channel it applies.
    pub return_channel: ChannelId,
}

/// One finding: a difference between the sides, or a note on something under way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Stable code, e.g. `bundle.missing-inside`.
    pub code: &'static str,
    /// Sequence number of the bundle it concerns (a return bundle for `return.*` codes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// Id of the submissions bundle it concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_id: Option<String>,
    /// Receipt it concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// Version of that receipt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// What is wrong, in words.
    pub detail: String,
}

impl Finding {
    fn on_bundle(code: &'static str, bundle: &reconcile::SentBundle, detail: String) -> Finding {
        Finding {
            code,
            sequence: Some(bundle.sequence),
            bundle_id: Some(bundle.bundle_id.clone()),
            receipt: None,
            version: None,
            detail,
        }
    }
}

/// What one `reconcile` run found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReconcileReport {
    /// The submissions channel compared.
    pub channel: u32,
    /// Its current epoch.
    pub epoch: u64,
    /// Submissions bundles sent in that epoch.
    pub bundles_sent: usize,
    /// Of those, acknowledged by the inner side.
    pub bundles_acknowledged: usize,
    /// Versions those bundles held.
    pub versions_sent: u64,
    /// The inner side's newest report: the highest sequence it imported with none missing, and
    /// the numbers it misses; `None` before any return bundle said anything of this channel.
    pub inner_highest_contiguous: Option<u64>,
    /// When the inner side wrote that report (its clock, Unix seconds).
    pub inner_reported_at: Option<i64>,
    /// Differences between the sides, each naming its bundle or receipt.
    pub differences: Vec<Finding>,
    /// What is under way or was refused by a rule, not a difference.
    pub notes: Vec<Finding>,
}

/// Compares the sides' ledgers for `settings.channel` as this store holds them.
pub fn reconcile(
    host: &OuterHost,
    settings: &ReconcileSettings,
) -> Result<ReconcileReport, OuterError> {
    let channel = settings.channel;
    let return_channel = settings.return_channel;
    let (epoch, inner, sent, lost, refused, return_gaps) = host.store.read_blocking(|conn| {
        let epoch = ledger::send_state_on(conn, channel)?.epoch;
        Ok((
            epoch,
            reconcile::inner_report_on(conn, channel)?,
            reconcile::sent_bundles_on(conn, channel, epoch)?,
            reconcile::payloads_lost_on(conn)?,
            reconcile::versions_refused_inside_on(conn)?,
            reconcile::return_gaps_on(conn, return_channel)?,
        ))
    })?;
    let inner = inner.filter(|report| report.epoch == epoch);
    let mut report = ReconcileReport {
        channel: channel.0,
        epoch,
        bundles_sent: sent.len(),
        bundles_acknowledged: sent.iter().filter(|b| b.acknowledged_at.is_some()).count(),
        versions_sent: sent.iter().map(|b| b.versions).sum(),
        inner_highest_contiguous: inner.as_ref().map(|r| r.highest_contiguous),
        inner_reported_at: inner.as_ref().map(|r| r.reported_at),
        differences: Vec::new(),
        notes: Vec::new(),
    };
    if inner.is_none() {
        report.notes.push(Finding {
            code: "inner.no-report",
            sequence: None,
            bundle_id: None,
            receipt: None,
            version: None,
            detail: format!(
                "no return bundle has reported on channel {} epoch {epoch} yet",
                channel.0
            ),
        });
    }
    for bundle in &sent {
        judge_bundle(bundle, inner.as_ref(), &mut report);
    }
    for payload in lost {
        let (code, detail) = if payload.recorded {
            (
                "payload.deleted-without-ack",
                "its payload was deleted here, but no ack from the inner side names it",
            )
        } else {
            (
                "payload.missing",
                "its payload is gone from the store, which says it is kept (deleted by hand, \
                 or lost); the inner side has not acknowledged it",
            )
        };
        report.differences.push(Finding {
            code,
            sequence: payload.bundle_sequence,
            bundle_id: None,
            receipt: Some(payload.receipt),
            version: Some(payload.version),
            detail: detail.into(),
        });
    }
    for version in refused {
        report.notes.push(Finding {
            code: "version.refused-inside",
            sequence: None,
            bundle_id: None,
            receipt: Some(version.receipt),
            version: Some(version.version),
            detail: format!(
                "the inner side acknowledged it as {}; its status says why",
                version.outcome
            ),
        });
    }
    for (first, last) in return_gaps {
        report.differences.push(Finding {
            code: "return.missing-here",
            sequence: Some(first),
            bundle_id: None,
            receipt: None,
            version: None,
            detail: if first == last {
                format!(
                    "return bundle {first} on channel {} was never applied here",
                    return_channel.0
                )
            } else {
                format!(
                    "return bundles {first} to {last} on channel {} were never applied here",
                    return_channel.0
                )
            },
        });
    }
    Ok(report)
}

/// What one sent bundle is, next to the inner side's report.
fn judge_bundle(
    bundle: &reconcile::SentBundle,
    inner: Option<&InnerReport>,
    report: &mut ReconcileReport,
) {
    if bundle.acknowledged_at.is_some() {
        return;
    }
    if let Some((_, reason)) = &bundle.refused {
        report.notes.push(Finding::on_bundle(
            "bundle.refused-inside",
            bundle,
            format!("refused inside for its signer ({reason}); the next export signs it again"),
        ));
        return;
    }
    let Some(inner) = inner else {
        return;
    };
    let sequence = bundle.sequence;
    if inner.missing.contains(&sequence) {
        report.differences.push(Finding::on_bundle(
            "bundle.missing-inside",
            bundle,
            format!(
                "sent with {} version(s); the inner side reports it missing",
                bundle.versions
            ),
        ));
    } else if sequence <= inner.highest_contiguous {
        report.differences.push(Finding::on_bundle(
            "bundle.ack-missing",
            bundle,
            "imported inside, but no ack for it was applied here (a return bundle lost, or \
             the ack still waiting inside)"
                .into(),
        ));
    } else if bundle
        .published_at
        .is_some_and(|published| published < inner.reported_at)
    {
        report.differences.push(Finding::on_bundle(
            "bundle.not-seen-inside",
            bundle,
            "published before the inner side's last report, which does not know it (lost on the \
             way, or still on the medium)"
                .into(),
        ));
    } else {
        report.notes.push(Finding::on_bundle(
            "bundle.in-transit",
            bundle,
            "published after the inner side's last report".into(),
        ));
    }
}
