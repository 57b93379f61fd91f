//! Applying the records of one return bundle together with its ledger row, in the caller's
//! transaction, through the outer store's typed ledger functions.

use bundle_format::chain::ChannelState;
use bundle_format::records::Record;
use bundle_format::{BundleId, Header};
use keys::ChannelId;
use outer::store::ledger::{self, ReturnLedgerRow};
use outer::store::{self, AckEffect, StoreError};
use rusqlite::Connection;

use crate::common::receive::contiguous_state;

/// The return channel's chain state and the bundle recorded at `header`'s place, if any.
pub(super) fn return_state(
    conn: &Connection,
    channel: ChannelId,
    header: &Header,
) -> Result<(ChannelState, Option<BundleId>), StoreError> {
    let chain = ledger::return_chain_on(conn, channel, header.epoch, header.sequence)?;
    let state = contiguous_state(chain.epoch, chain.applied.iter().copied());
    Ok((state, chain.recorded))
}

/// What applying the records of one return bundle did.
pub(super) struct AppliedReturn {
    pub(super) payloads_deleted: usize,
    pub(super) mismatched: Vec<(String, u32)>,
    pub(super) status_changes: usize,
    pub(super) certificates: usize,
    pub(super) acknowledged_files: Vec<String>,
    pub(super) missing: Vec<u64>,
}

/// Applies every record of one verified return bundle and its ledger row in the caller's
/// transaction (DESIGN.md invariant 1). `None` if the ledger already holds the bundle.
pub(super) fn apply_return_records(
    conn: &Connection,
    records: &[Record],
    channel: ChannelId,
    row: &ReturnLedgerRow,
    now: i64,
) -> Result<Option<AppliedReturn>, StoreError> {
    if ledger::return_ledger_holds_on(conn, &row.id)? {
        return Ok(None);
    }
    let mut applied = AppliedReturn {
        payloads_deleted: 0,
        mismatched: Vec::new(),
        status_changes: 0,
        certificates: 0,
        acknowledged_files: Vec::new(),
        missing: Vec::new(),
    };
    let epoch = ledger::send_state_on(conn, channel)?.epoch;
    for record in records {
        match record {
            Record::Ack(ack) if ack.channel == channel.0 => {
                let effects = store::apply_ack_entries_on(conn, &ack.receipts, now)?;
                for (entry, effect) in ack.receipts.iter().zip(effects) {
                    match effect {
                        AckEffect::Removed => applied.payloads_deleted += 1,
                        AckEffect::Already => {}
                        AckEffect::Mismatch => applied
                            .mismatched
                            .push((entry.receipt.clone(), entry.version)),
                    }
                }
                let name = ledger::acknowledge_bundle_on(conn, &BundleId(ack.bundle_id), now)?;
                applied.acknowledged_files.extend(name);
            }
            Record::SequenceReport(report)
                if report.channel == channel.0 && report.epoch == epoch =>
            {
                applied.missing.extend(report.missing.iter().copied());
            }
            Record::StatusChange(change) => {
                applied.status_changes += usize::from(store::apply_status_change_on(conn, change)?);
            }
            Record::Certificate(certificate) => {
                applied.certificates +=
                    usize::from(store::store_certificate_on(conn, certificate)?);
            }
            _ => {}
        }
    }
    crate::failpoint::hit("apply.after-payloads-deleted");
    ledger::record_return_on(conn, row, now)?;
    Ok(Some(applied))
}
