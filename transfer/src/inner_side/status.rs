//! `status` on the inner host: the chain state of every incoming channel, the return queue and
//! the return bundles sent.

use postgres::Client;

use super::InnerError;

/// One channel's state as the inner side sees it, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChannelStatus {
    /// Channel.
    pub channel: u32,
    /// Latest epoch.
    pub epoch: u64,
    /// Highest contiguous sequence number received.
    pub highest_contiguous: u64,
    /// Missing sequence numbers above it.
    pub missing: Vec<u64>,
    /// When the last bundle of any kind was imported, Unix seconds.
    pub last_import: Option<i64>,
    /// When the last heartbeat was imported, Unix seconds.
    pub last_heartbeat: Option<i64>,
}

/// The inner side's view for `status`: per-channel chain state and the return queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InnerStatus {
    /// Each channel submissions arrived on.
    pub channels: Vec<ChannelStatus>,
    /// Return queue entries not yet sent.
    pub pending_returns: i64,
    /// Return bundles sent.
    pub return_bundles_sent: i64,
    /// Return bundles still kept in the retained outbox (not yet acknowledged by every node
    /// their channel serves).
    pub return_bundles_retained: i64,
    /// Each node's newest receipt for each return channel: how far it has applied it.
    pub return_receipts: Vec<ReceiptStatus>,
}

/// How far one intake node has applied one return channel, as its newest receipt said.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReceiptStatus {
    /// The node's submissions channel.
    pub channel: u32,
    /// The return channel.
    pub return_channel: u32,
    /// Epoch on the return channel.
    pub epoch: u64,
    /// Every return bundle up to this sequence number was applied outside.
    pub through: u64,
    /// When the receipt arrived, Unix seconds.
    pub received_at: i64,
}

/// Reads the inner side's status.
pub fn status(client: &mut Client) -> Result<InnerStatus, InnerError> {
    let reports = inner::returns::sequence_reports(client)?;
    let mut channels = Vec::new();
    for report in reports {
        let (last_import, last_heartbeat) =
            inner::ledger::inbound_activity(client, keys::ChannelId(report.channel))?;
        channels.push(ChannelStatus {
            channel: report.channel,
            epoch: report.epoch,
            highest_contiguous: report.highest_contiguous,
            missing: report.missing,
            last_import,
            last_heartbeat,
        });
    }
    Ok(InnerStatus {
        channels,
        pending_returns: inner::returns::pending_count(client)?,
        return_bundles_sent: inner::ledger::return_bundles_sent(client)?,
        return_bundles_retained: inner::ledger::retained_returns(client, None)?,
        return_receipts: inner::ledger::return_receipts(client)?
            .into_iter()
            .map(|row| ReceiptStatus {
                channel: row.channel,
                return_channel: row.return_channel,
                epoch: row.epoch,
                through: row.through,
                received_at: row.received_at,
            })
            .collect(),
    })
}

/// Keeps one metrics run's samples as history for the operations page (`sluice-inner
/// serve-ops`).
pub fn record_ops_samples(
    client: &mut Client,
    samples: &[keys::ops::Sample],
) -> Result<(), InnerError> {
    Ok(inner::ops::record_samples(client, samples)?)
}
