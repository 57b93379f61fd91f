//! The SQL of transfer's own tables in the outer store that export and apply share: the send
//! state of the submissions channel, the return-channel ledger and its chain state, and the
//! records of one return bundle applied together with its ledger row.

use bundle_format::chain::ChannelState;
use bundle_format::records::Record;
use bundle_format::{BundleId, Header};
use keys::ChannelId;
use outer::store::{self, AckEffect, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

use super::{db, u64_of};
use crate::common::receive::contiguous_state;
use crate::common::{i64_of, id_of};

pub(super) struct SendState {
    pub(super) epoch: u64,
    pub(super) next_sequence: u64,
    pub(super) previous: BundleId,
}

pub(super) fn send_state(conn: &Connection, channel: ChannelId) -> Result<SendState, StoreError> {
    let row: Option<(i64, i64, Vec<u8>)> = conn
        .query_row(
            "SELECT epoch, next_sequence, previous FROM transfer_send_state WHERE channel = ?1",
            [channel.0],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .map_err(db("reading the send state"))?;
    Ok(match row {
        Some((epoch, next, previous)) => SendState {
            epoch: u64_of(epoch),
            next_sequence: u64_of(next),
            previous: id_of(&previous),
        },
        None => SendState {
            epoch: 1,
            next_sequence: 1,
            previous: BundleId::ZERO,
        },
    })
}

pub(super) fn return_state(
    conn: &Connection,
    channel: ChannelId,
    header: &Header,
) -> Result<(ChannelState, Option<BundleId>), StoreError> {
    let epoch: Option<i64> = conn
        .query_row(
            "SELECT max(epoch) FROM transfer_return_ledger WHERE channel = ?1",
            [channel.0],
            |row| row.get(0),
        )
        .map_err(db("reading the return ledger"))?;
    let mut rows = Vec::new();
    if let Some(epoch) = epoch {
        let mut stmt = conn
            .prepare(
                "SELECT sequence, bundle_id FROM transfer_return_ledger
                 WHERE channel = ?1 AND epoch = ?2 ORDER BY sequence",
            )
            .map_err(db("reading the return ledger"))?;
        rows = stmt
            .query_map(params![channel.0, epoch], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(db("reading the return ledger"))?;
    }
    let state = contiguous_state(
        epoch.map(u64_of),
        rows.iter()
            .map(|(sequence, id)| (u64_of(*sequence), id_of(id))),
    );
    let recorded: Option<Vec<u8>> = conn
        .query_row(
            "SELECT bundle_id FROM transfer_return_ledger
             WHERE channel = ?1 AND epoch = ?2 AND sequence = ?3",
            params![channel.0, i64_of(header.epoch), i64_of(header.sequence)],
            |row| row.get(0),
        )
        .optional()
        .map_err(db("reading the return ledger"))?;
    Ok((state, recorded.map(|id| id_of(&id))))
}

/// The return-ledger row written with the records of one return bundle.
pub(super) struct LedgerRow {
    pub(super) id: BundleId,
    pub(super) channel: u32,
    pub(super) epoch: u64,
    pub(super) sequence: u64,
    pub(super) previous: BundleId,
    pub(super) file_name: String,
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

/// Writes the return ledger row of an applied return bundle (what makes apply exactly-once).
pub(super) fn record_return(
    conn: &Connection,
    ledger: &LedgerRow,
    now: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO transfer_return_ledger (bundle_id, channel, epoch, sequence, previous,
                                             file_name, applied_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            &ledger.id.0[..],
            ledger.channel,
            i64_of(ledger.epoch),
            i64_of(ledger.sequence),
            &ledger.previous.0[..],
            ledger.file_name,
            now
        ],
    )
    .map_err(db("recording the return bundle"))?;
    Ok(())
}

/// Applies every record of one verified return bundle and its ledger row in the caller's
/// transaction (DESIGN.md invariant 1). `None` if the ledger already holds the bundle.
///
/// The statements are those of `outer::store::Store::{apply_ack, apply_status_change,
/// store_certificate}`, repeated here because those methods each open their own transaction;
/// they should move into the outer crate as functions over a `&Connection`.
pub(super) fn apply_return_records(
    conn: &Connection,
    records: &[Record],
    channel: ChannelId,
    ledger: &LedgerRow,
    now: i64,
) -> Result<Option<AppliedReturn>, StoreError> {
    if return_ledger_holds(conn, &ledger.id)? {
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
    let epoch = send_state(conn, channel)?.epoch;
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
                let name: Option<String> = conn
                    .query_row(
                        "SELECT file_name FROM transfer_outbox
                         WHERE bundle_id = ?1 AND acknowledged_at IS NULL",
                        [&ack.bundle_id[..]],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(db("reading the outbox index"))?;
                conn.execute(
                    "UPDATE transfer_outbox SET acknowledged_at = ?2
                     WHERE bundle_id = ?1 AND acknowledged_at IS NULL",
                    params![&ack.bundle_id[..], now],
                )
                .map_err(db("recording an ack"))?;
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
    record_return(conn, ledger, now)?;
    Ok(Some(applied))
}

/// Whether the return ledger holds the bundle `id` (applied before).
pub(super) fn return_ledger_holds(conn: &Connection, id: &BundleId) -> Result<bool, StoreError> {
    let seen: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM transfer_return_ledger WHERE bundle_id = ?1",
            [&id.0[..]],
            |row| row.get(0),
        )
        .optional()
        .map_err(db("reading the return ledger"))?;
    Ok(seen.is_some())
}
