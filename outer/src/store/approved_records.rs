//! Approved records outside (outer migration 15): each filing whose first receipt this store
//! issued, as the inner side approved it, for its owner and the access provider recorded for
//! each of its websites, and nobody else. The record arrives in a return bundle
//! (`bundle_format::records::ApprovedRecord`) after every decision about the filing inside,
//! so it stays readable after the submission's payload was deleted (DESIGN.md invariant 6 for
//! the data, not only the status), and a change starts from it.

use bundle_format::records::{ApprovedRecord, ApprovedState, Record, wire_config};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, StoreError, db};

/// Most bytes of a stored approved record read back (the record limit of SPEC.md §5.2).
const MAX_STORED_RECORD_BYTES: usize = 16 * 1024 * 1024;
/// Most approved records one account's list shows.
pub const MAX_LISTED_APPROVED_RECORDS: i64 = 200;

/// Stores the approved record a return bundle carried, if this store issued its filing's first
/// receipt to the account the record names as the filer, and the record is newer than the one
/// held for the filing number. A withdrawal forgets the filing's record and its providers and
/// keeps the number with the reason. False, storing nothing, otherwise (another intake node's
/// filing, a filer this store does not know for the receipt, or an older record).
pub fn apply_approved_record_on(
    conn: &Connection,
    record: &ApprovedRecord,
) -> Result<bool, StoreError> {
    let owner: Option<String> = conn
        .prepare_cached(
            "SELECT a.name FROM receipts r JOIN accounts a ON a.id = r.account_id
             WHERE r.receipt = ?1",
        )
        .and_then(|mut stmt| {
            stmt.query_row([&record.origin_receipt], |row| row.get(0))
                .optional()
        })
        .map_err(db("reading the owner of an approved record"))?;
    let Some(owner) = owner else {
        return Ok(false);
    };
    if owner != record.filer {
        tracing::warn!(target: "sluice::audit", event = "approved-record.other-filer",
            filing_number = %record.filing_number, receipt = %record.origin_receipt,
            filer = %record.filer, owner = %owner,
            "an approved record names a filer other than the account of its receipt here; \
             not stored");
        return Ok(false);
    }
    let (encoded, reason) = match &record.state {
        ApprovedState::Approved { .. } => {
            let bytes =
                bincode::encode_to_vec(Record::ApprovedRecord(record.clone()), wire_config())
                    .map_err(|e| StoreError::CorruptRecord {
                        what: "approved record",
                        detail: e.to_string(),
                    })?;
            (Some(bytes), None)
        }
        ApprovedState::Withdrawn { reason } => (None, Some(reason.as_str())),
    };
    let event = i64::try_from(record.event).unwrap_or(i64::MAX);
    let changed = conn
        .prepare_cached(
            "INSERT INTO approved_records (filing_number, event, origin_receipt, decided_at,
                 record, withdrawn_reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (filing_number) DO UPDATE SET event = excluded.event,
                origin_receipt = excluded.origin_receipt, decided_at = excluded.decided_at,
                record = excluded.record, withdrawn_reason = excluded.withdrawn_reason
             WHERE excluded.event > approved_records.event",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                record.filing_number,
                event,
                record.origin_receipt,
                record.at,
                encoded,
                reason
            ])
        })
        .map_err(db("storing an approved record"))?;
    if changed == 0 {
        return Ok(false);
    }
    conn.prepare_cached("DELETE FROM approved_record_providers WHERE filing_number = ?1")
        .and_then(|mut stmt| stmt.execute([&record.filing_number]))
        .map_err(db("replacing an approved record's providers"))?;
    for provider in record.access_providers() {
        conn.prepare_cached(
            "INSERT INTO approved_record_providers (filing_number, provider) VALUES (?1, ?2)",
        )
        .and_then(|mut stmt| stmt.execute(params![record.filing_number, provider]))
        .map_err(db("storing an approved record's providers"))?;
    }
    Ok(true)
}

/// An approved record as an account may read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedRecordView {
    /// The record as the inner side sent it (its state is `Approved`).
    pub record: ApprovedRecord,
    /// Whether the reader is the filing's owner (the account of its first receipt), who may
    /// start a change from it; otherwise an access provider recorded for it.
    pub owner: bool,
}

/// One line of an account's list of approved records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedRecordSummary {
    /// The filing number.
    pub filing_number: String,
    /// When the decision that sent the record was made inside, Unix seconds.
    pub decided_at: i64,
    /// Whether the reader owns the filing (else it is an access provider recorded for it).
    pub owner: bool,
}

/// Who may read a filing's record: the account of its first receipt, and an access-provider
/// account whose name a website of the record names. `?1` is the filing number (or NULL for
/// every filing), `?2` the reader's account id.
const VISIBLE: &str = "
    FROM approved_records a JOIN receipts r ON r.receipt = a.origin_receipt
    WHERE a.record IS NOT NULL AND (?1 IS NULL OR a.filing_number = ?1)
      AND (r.account_id = ?2 OR EXISTS (
            SELECT 1 FROM approved_record_providers p JOIN accounts acc ON acc.name = p.provider
            WHERE p.filing_number = a.filing_number AND acc.id = ?2
              AND acc.kind = 'access_provider' AND acc.deleted_at IS NULL))";

fn decode(bytes: &[u8]) -> Result<ApprovedRecord, StoreError> {
    let corrupt = |detail: String| StoreError::CorruptRecord {
        what: "stored approved record",
        detail,
    };
    let (record, used): (Record, usize) =
        bincode::decode_from_slice(bytes, wire_config().with_limit::<MAX_STORED_RECORD_BYTES>())
            .map_err(|e| corrupt(e.to_string()))?;
    if used != bytes.len() {
        return Err(corrupt(format!(
            "{} bytes after the record",
            bytes.len() - used
        )));
    }
    record.check().map_err(|e| corrupt(e.to_string()))?;
    match record {
        Record::ApprovedRecord(record) => Ok(record),
        other => Err(corrupt(format!("holds a {}", other.kind_name()))),
    }
}

impl Store {
    /// The approved record of `filing_number` if `account_id` may read it: the filing's owner
    /// or an access provider recorded for it. `None` for anyone else, for a filing this store
    /// holds no record of, and for a withdrawn one: one answer for all, so that it tells
    /// nothing about filings the reader may not see.
    pub async fn approved_record_for(
        &self,
        filing_number: &str,
        account_id: i64,
    ) -> Result<Option<ApprovedRecordView>, StoreError> {
        let filing_number = filing_number.to_owned();
        self.read(move |conn| {
            let found: Option<(Vec<u8>, bool)> = conn
                .prepare_cached(&format!("SELECT a.record, r.account_id = ?2 {VISIBLE}"))
                .and_then(|mut stmt| {
                    stmt.query_row(params![filing_number, account_id], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })
                    .optional()
                })
                .map_err(db("reading an approved record"))?;
            found
                .map(|(bytes, owner)| {
                    Ok(ApprovedRecordView {
                        record: decode(&bytes)?,
                        owner,
                    })
                })
                .transpose()
        })
        .await
    }

    /// The approved records `account_id` may read, newest decision first (at most
    /// [`MAX_LISTED_APPROVED_RECORDS`]).
    pub async fn approved_records_of(
        &self,
        account_id: i64,
    ) -> Result<Vec<ApprovedRecordSummary>, StoreError> {
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT a.filing_number, a.decided_at, r.account_id = ?2 {VISIBLE}
                 ORDER BY a.decided_at DESC, a.filing_number LIMIT {MAX_LISTED_APPROVED_RECORDS}"
            ))
            .and_then(|mut stmt| {
                stmt.query_map(params![None::<String>, account_id], |row| {
                    Ok(ApprovedRecordSummary {
                        filing_number: row.get(0)?,
                        decided_at: row.get(1)?,
                        owner: row.get(2)?,
                    })
                })?
                .collect()
            })
            .map_err(db("listing approved records"))
        })
        .await
    }
}
