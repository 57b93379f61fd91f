//! `status` on the outer host: receipts by state, versions pending and in transit, bundles not
//! yet acknowledged, and when the last return bundle was applied.

use keys::ChannelId;

use outer::store::ledger;

use super::{OuterError, OuterHost};

/// One unacknowledged bundle, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unacknowledged {
    /// Sequence number.
    pub sequence: u64,
    /// Kind.
    pub kind: String,
    /// Records it holds.
    pub records: u64,
    /// Seconds since it was created.
    pub age_seconds: i64,
    /// How often it was published.
    pub send_count: u64,
}

/// The outer side's view for `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OuterStatus {
    /// Receipts by state name.
    pub receipts: std::collections::BTreeMap<String, u64>,
    /// Versions not yet exported.
    pub pending_versions: u64,
    /// Versions exported and not yet acknowledged.
    pub in_transit_versions: u64,
    /// Bundles published and not yet acknowledged.
    pub unacknowledged: Vec<Unacknowledged>,
    /// Next sequence number to send.
    pub next_sequence: u64,
    /// Highest return sequence applied, and when the last return bundle was applied.
    pub last_return: Option<(u64, i64)>,
}

/// Reads the outer side's status.
pub fn status(host: &OuterHost, channel: ChannelId, now: i64) -> Result<OuterStatus, OuterError> {
    Ok(host.store.read_blocking(|conn| {
        let receipts = ledger::receipt_counts_on(conn)?;
        let versions = ledger::version_counts_on(conn)?;
        let unacknowledged = ledger::unacknowledged_bundles_on(conn, channel)?
            .into_iter()
            .map(|bundle| Unacknowledged {
                sequence: bundle.sequence,
                kind: bundle.kind,
                records: bundle.records,
                age_seconds: now.saturating_sub(bundle.created),
                send_count: bundle.send_count,
            })
            .collect();
        Ok(OuterStatus {
            receipts,
            pending_versions: versions.pending,
            in_transit_versions: versions.in_transit,
            unacknowledged,
            next_sequence: ledger::send_state_on(conn, channel)?.next_sequence,
            last_return: ledger::last_return_on(conn)?,
        })
    })?)
}

/// Keeps one metrics run's samples as history for the operations page (`/ops`).
pub fn record_ops_samples(
    host: &OuterHost,
    samples: Vec<keys::ops::Sample>,
) -> Result<(), OuterError> {
    Ok(host
        .store
        .write_blocking(move |conn| outer::store::ops::record_samples_on(conn, &samples))?)
}
