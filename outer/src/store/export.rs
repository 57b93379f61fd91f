//! What the transfer tool's export reads and writes: the versions still waiting to go out, in
//! export order and in their stored encoding, and marking them in transit in the transaction that
//! records their bundle.

use bundle_format::records::{self, SubmissionVersion};
use rusqlite::{Connection, params};

use super::receipts::decode_version;
use super::{ReceiptState, Store, StoreError, db, i64_of, u32_col};

/// A stored version waiting to be exported, still in its stored encoding.
#[derive(Debug, Clone)]
pub struct PendingVersion {
    /// Receipt id.
    pub receipt: String,
    /// Version of the receipt.
    pub version: u32,
    /// When it was accepted, Unix seconds: with receipt and version, its place in export order.
    pub submitted_at: i64,
    /// The stored bincode encoding of the [`SubmissionVersion`].
    pub payload: Vec<u8>,
}

impl PendingVersion {
    /// Decodes the stored encoding and checks it: no trailing bytes, and the content hash
    /// matches the body. A row that fails is reported as [`StoreError::Corrupt`].
    pub fn decode(&self) -> Result<SubmissionVersion, StoreError> {
        decode_version(&self.receipt, self.version, &self.payload)
    }

    /// Where this version stands in export order; [`pending_versions_after`] continues from it.
    pub fn export_position(&self) -> ExportPosition {
        ExportPosition {
            submitted_at: self.submitted_at,
            receipt: self.receipt.clone(),
            version: self.version,
        }
    }

    /// Checks the stored encoding without decoding its body, for carrying it verbatim into a
    /// bundle: it is of this receipt and version, and its body hashes to its content hash (see
    /// [`records::EncodedSubmission`]). A row that fails is reported as [`StoreError::Corrupt`].
    pub fn checked(&self) -> Result<records::EncodedSubmission<'_>, StoreError> {
        records::EncodedSubmission::new(&self.payload, &self.receipt, self.version).map_err(|e| {
            StoreError::Corrupt {
                receipt: self.receipt.clone(),
                version: self.version,
                detail: e.to_string(),
            }
        })
    }
}

/// A place in export order (submission time, then receipt and version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPosition {
    /// Submission time, Unix seconds.
    pub submitted_at: i64,
    /// Receipt id.
    pub receipt: String,
    /// Version.
    pub version: u32,
}

/// Reads the oldest `limit` versions not yet exported that still hold their payload, on
/// `conn` (so that an export can read inside its own transaction), in export order: by
/// submission time, then receipt and version.
pub fn pending_versions(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<PendingVersion>, StoreError> {
    pending_versions_after(conn, None, limit)
}

/// [`pending_versions`] after `position` in export order: what an export reads for its next
/// bundle while the versions it read for the previous one are not marked yet. A version
/// accepted meanwhile with an earlier position waits for the next export.
pub fn pending_versions_after(
    conn: &Connection,
    position: Option<&ExportPosition>,
    limit: usize,
) -> Result<Vec<PendingVersion>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let read = |row: &rusqlite::Row<'_>| {
        Ok(PendingVersion {
            receipt: row.get(0)?,
            version: u32_col(row.get(1)?),
            submitted_at: row.get(2)?,
            payload: row.get(3)?,
        })
    };
    let select = "SELECT v.receipt, v.version, v.submitted_at, p.payload
         FROM submission_versions v
         JOIN submission_payloads p ON p.receipt = v.receipt AND p.version = v.version
         WHERE v.exported_sequence IS NULL AND v.payload_removed_at IS NULL";
    let order = "ORDER BY v.submitted_at, v.receipt, v.version LIMIT ?1";
    match position {
        None => conn
            .prepare_cached(&format!("{select} {order}"))
            .and_then(|mut stmt| stmt.query_map([limit], read)?.collect()),
        Some(after) => conn
            .prepare_cached(&format!(
                "{select} AND (v.submitted_at, v.receipt, v.version) > (?2, ?3, ?4) {order}"
            ))
            .and_then(|mut stmt| {
                stmt.query_map(
                    params![limit, after.submitted_at, after.receipt, after.version],
                    read,
                )?
                .collect()
            }),
    }
    .map_err(db("listing versions to export"))
}

/// Marks `versions` exported in bundle `sequence` (id `bundle_id`) at `at`, on `conn`, so that
/// the caller can do it in the transaction that records the bundle. Each receipt whose newest
/// version is among them and that still shows "received" moves to "in transit" with a history
/// entry. A version exported already is left alone. Returns how many versions were marked.
///
/// Set-based: the pairs go into a temporary table and four statements do the rest, so marking
/// a bundle of 100,000 versions costs a few index lookups per version, not four parsed
/// statements.
pub fn mark_in_transit_on(
    conn: &Connection,
    versions: &[(String, u32)],
    sequence: u64,
    bundle_id: &[u8; 32],
    at: i64,
) -> Result<usize, StoreError> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS exporting (
             receipt TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (receipt, version)
         ) WITHOUT ROWID;
         DELETE FROM temp.exporting;",
    )
    .map_err(db("preparing to mark versions in transit"))?;
    {
        let mut insert = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO temp.exporting (receipt, version) VALUES (?1, ?2)",
            )
            .map_err(db("marking a version in transit"))?;
        for (receipt, version) in versions {
            insert
                .execute(params![receipt, version])
                .map_err(db("marking a version in transit"))?;
        }
    }
    let sequence = i64_of(sequence);
    let steps: [(&str, &'static str); 4] = [
        (
            "DELETE FROM temp.exporting WHERE NOT EXISTS (
                 SELECT 1 FROM submission_versions v
                 WHERE v.receipt = exporting.receipt AND v.version = exporting.version
                   AND v.exported_sequence IS NULL)",
            "marking a version in transit",
        ),
        (
            "UPDATE submission_versions
             SET exported_bundle_id = ?1, exported_sequence = ?2, in_transit_since = ?3
             WHERE rowid IN (SELECT v.rowid FROM temp.exporting e JOIN submission_versions v
                             ON v.receipt = e.receipt AND v.version = e.version)",
            "marking a version in transit",
        ),
        (
            // CROSS JOIN keeps the bundle's rows the outer loop (SQLite does not reorder it):
            // ordered by r.receipt, the planner walked every receipt in key order instead, so
            // marking slowed down as the store grew.
            "INSERT INTO status_history (receipt, version, state, at, reason, filing_number,
                                         bundle_sequence)
             SELECT r.receipt, r.latest_version, ?4, ?3, NULL, NULL, ?2
             FROM temp.exporting e CROSS JOIN receipts r
               ON r.receipt = e.receipt AND r.latest_version = e.version
             WHERE r.state = ?5
             ORDER BY e.receipt",
            "writing status history",
        ),
        (
            "UPDATE receipts SET state = ?4, state_version = latest_version, bundle_sequence = ?2,
                    in_transit_since = ?3, updated_at = ?3
             WHERE state = ?5 AND receipt IN (SELECT receipt FROM temp.exporting)
               AND EXISTS (SELECT 1 FROM temp.exporting e
                           WHERE e.receipt = receipts.receipt AND e.version = receipts.latest_version)",
            "updating a status row",
        ),
    ];
    let mut marked = 0;
    for (index, (sql, operation)) in steps.into_iter().enumerate() {
        let mut stmt = conn.prepare_cached(sql).map_err(db(operation))?;
        let changed = match index {
            0 => stmt.execute([]),
            1 => stmt.execute(params![&bundle_id[..], sequence, at]),
            _ => stmt.execute(params![
                &bundle_id[..],
                sequence,
                at,
                ReceiptState::InTransit.as_str(),
                ReceiptState::Received.as_str()
            ]),
        }
        .map_err(db(operation))?;
        if index == 1 {
            marked = changed;
        }
    }
    Ok(marked)
}

impl Store {
    /// The oldest `limit` versions not yet exported that still hold their payload, decoded and
    /// checked (see [`pending_versions`]).
    pub async fn versions_to_export(
        &self,
        limit: usize,
    ) -> Result<Vec<SubmissionVersion>, StoreError> {
        self.read(move |conn| {
            pending_versions(conn, limit)?
                .iter()
                .map(PendingVersion::decode)
                .collect()
        })
        .await
    }

    /// Records that these versions went out in bundle `sequence` (id `bundle_id`) at `at`;
    /// each receipt whose newest version is among them shows "in transit". Returns how many
    /// versions were marked (one already exported is left as it is and not counted).
    pub async fn mark_in_transit(
        &self,
        versions: Vec<(String, u32)>,
        sequence: u64,
        bundle_id: [u8; 32],
        at: i64,
    ) -> Result<usize, StoreError> {
        self.write(move |conn| mark_in_transit_on(conn, &versions, sequence, &bundle_id, at))
            .await
    }
}
