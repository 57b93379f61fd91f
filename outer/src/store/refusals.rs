//! Bundles the inner side refused as a whole for their signer (SPEC.md §6.3, `BundleRefusal`):
//! a key revoked or expired by the time the bundle arrived, so nothing of it was applied. The
//! outbox row is marked refused; the receipts waiting on its versions go back to waiting (no
//! longer "in transit") with the reason on their status; the export signs the same message again
//! with the current key, which keeps the bundle's id, sequence number, chain link and range.

use bundle_format::records::BundleRefusal;
use keys::ChannelId;
use rusqlite::{Connection, OptionalExtension, params};

use super::ledger::RetainedBundle;
use super::status::ReceiptState;
use super::{StoreError, db, i64_of, u64_of};

/// What a bundle refusal did to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedBundle {
    /// The refused bundle's sequence number.
    pub sequence: u64,
    /// Receipts that were waiting on one of its versions and now show the refusal.
    pub receipts: usize,
}

/// Records `refusal` of one of `channel`'s bundles at `at`. `None` when the outbox index holds
/// no such unacknowledged bundle on this channel in its current epoch (a refusal of a bundle
/// this store never wrote, or one acknowledged since): nothing changes then.
pub fn refuse_bundle_on(
    conn: &Connection,
    channel: ChannelId,
    refusal: &BundleRefusal,
    at: i64,
) -> Result<Option<RefusedBundle>, StoreError> {
    if refusal.channel != channel.0 {
        return Ok(None);
    }
    let row: Option<(i64, Option<i64>, Option<i64>)> = conn
        .prepare_cached(
            "SELECT o.sequence, o.first_seq, o.last_seq FROM transfer_outbox o
             JOIN transfer_send_state s ON s.channel = o.channel AND s.epoch = o.epoch
             WHERE o.bundle_id = ?1 AND o.channel = ?2 AND o.epoch = ?3
               AND o.acknowledged_at IS NULL",
        )
        .and_then(|mut stmt| {
            stmt.query_row(
                params![&refusal.bundle_id[..], channel.0, i64_of(refusal.epoch)],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
        })
        .map_err(db("reading the outbox index"))?;
    let Some((sequence, first, last)) = row else {
        return Ok(None);
    };
    let why = format!("{} ({})", refusal.reason, refusal.code);
    conn.prepare_cached(
        "UPDATE transfer_outbox SET refused_at = ?2, refusal = ?3 WHERE bundle_id = ?1",
    )
    .and_then(|mut stmt| stmt.execute(params![&refusal.bundle_id[..], at, why]))
    .map_err(db("recording a refused bundle"))?;
    let told = match first.zip(last) {
        Some((first, last)) => {
            let shown = format!(
                "bundle {sequence} was refused inside: {why}; its versions wait to go out again \
                 under the current key"
            );
            let received = ReceiptState::Received.as_str();
            // Receipts whose current version lies in the range and has no ack yet.
            let waiting = "SELECT r.rowid FROM submission_versions v JOIN receipts r
                             ON r.receipt = v.receipt AND r.state_version = v.version
                           WHERE v.seq BETWEEN ?1 AND ?2 AND v.acknowledged_at IS NULL
                             AND r.state = ?3";
            conn.prepare_cached(&format!(
                "INSERT INTO status_history (receipt, version, state, at, reason, filing_number,
                                             bundle_sequence)
                 SELECT r.receipt, r.state_version, ?3, ?4, ?5, NULL, ?6 FROM receipts r
                 WHERE r.rowid IN ({waiting}) ORDER BY r.receipt"
            ))
            .and_then(|mut stmt| stmt.execute(params![first, last, received, at, shown, sequence]))
            .map_err(db("writing status history"))?;
            conn.prepare_cached(&format!(
                "UPDATE receipts SET reason = ?4, updated_at = ?5 WHERE rowid IN ({waiting})"
            ))
            .and_then(|mut stmt| stmt.execute(params![first, last, received, shown, at]))
            .map_err(db("updating a status row"))?
        }
        None => 0,
    };
    Ok(Some(RefusedBundle {
        sequence: u64_of(sequence),
        receipts: told,
    }))
}

/// The refused, unacknowledged bundles of `channel` in its current epoch, oldest first: what
/// the export signs again with the current key.
pub fn refused_bundles_on(
    conn: &Connection,
    channel: ChannelId,
) -> Result<Vec<RetainedBundle>, StoreError> {
    conn.prepare_cached(
        "SELECT o.bundle_id, o.sequence, o.file_name FROM transfer_outbox o
         JOIN transfer_send_state s ON s.channel = o.channel AND s.epoch = o.epoch
         WHERE o.channel = ?1 AND o.refused_at IS NOT NULL AND o.acknowledged_at IS NULL
         ORDER BY o.sequence",
    )
    .and_then(|mut stmt| {
        stmt.query_map([channel.0], |row| {
            let id: Vec<u8> = row.get(0)?;
            let mut bytes = [0u8; 32];
            if id.len() == 32 {
                bytes.copy_from_slice(&id);
            }
            Ok(RetainedBundle {
                id: bundle_format::BundleId(bytes),
                sequence: u64_of(row.get(1)?),
                file_name: row.get(2)?,
            })
        })?
        .collect()
    })
    .map_err(db("reading the outbox index"))
}

/// Records that refused bundle `id` was signed again with the current key and published at
/// `at`: its versions are in transit again, and the receipts waiting on them lose the
/// refusal's reason.
pub fn record_signed_again_on(
    conn: &Connection,
    id: &bundle_format::BundleId,
    at: i64,
) -> Result<(), StoreError> {
    let range: Option<(Option<i64>, Option<i64>)> = conn
        .prepare_cached("SELECT first_seq, last_seq FROM transfer_outbox WHERE bundle_id = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([&id.0[..]], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(db("reading the outbox index"))?;
    conn.prepare_cached(
        "UPDATE transfer_outbox SET refused_at = NULL, last_sent_at = ?2,
                send_count = send_count + 1
         WHERE bundle_id = ?1",
    )
    .and_then(|mut stmt| stmt.execute(params![&id.0[..], at]))
    .map_err(db("recording a bundle signed again"))?;
    if let Some((Some(first), Some(last))) = range {
        conn.prepare_cached(
            "UPDATE receipts SET reason = NULL, updated_at = ?4
             WHERE rowid IN (SELECT r.rowid FROM submission_versions v JOIN receipts r
                               ON r.receipt = v.receipt AND r.state_version = v.version
                             WHERE v.seq BETWEEN ?1 AND ?2 AND v.acknowledged_at IS NULL
                               AND r.state = ?3)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![first, last, ReceiptState::Received.as_str(), at])
        })
        .map_err(db("updating a status row"))?;
    }
    Ok(())
}
