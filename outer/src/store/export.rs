//! What the transfer tool's export reads and writes: the versions still waiting to go out, in
//! the order of their sequence numbers and in their stored encoding, and the recording of a
//! bundle as one range of those numbers.
//!
//! Every stored version gets the next sequence number of the store in the commit that stores it
//! (an outer store feeds one submissions channel). Export sends versions in that order, so the
//! versions of one bundle are one unbroken range; recording the bundle writes one outbox row
//! with the range and moves the channel's exported-through mark (see [`super::ledger`]).
//! "Pending" is above the mark; "in transit" is at or below it without an ack. Nothing is
//! written per version.

use bundle_format::BundleId;
use bundle_format::records::{self, SubmissionVersion};
use keys::ChannelId;
use rusqlite::{Connection, params};

use super::ledger::{self, OutboxBundle, VersionRange};
use super::receipts::decode_version;
use super::{Store, StoreError, db, hash_col, i64_of, u32_col};

/// A stored version waiting to be exported, still in its stored encoding.
#[derive(Debug, Clone)]
pub struct PendingVersion {
    /// Its sequence number in the store: its place in export order.
    pub seq: u64,
    /// Receipt id.
    pub receipt: String,
    /// Version of the receipt.
    pub version: u32,
    /// Content hash of its body.
    pub content_hash: [u8; 32],
    /// The stored bincode encoding of the [`SubmissionVersion`].
    pub payload: Vec<u8>,
}

impl PendingVersion {
    /// Decodes the stored encoding and checks it: no trailing bytes, and the content hash
    /// matches the body. A row that fails is reported as [`StoreError::Corrupt`].
    pub fn decode(&self) -> Result<SubmissionVersion, StoreError> {
        decode_version(&self.receipt, self.version, &self.payload)
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

/// The store's exported-through mark: every version numbered at or below it went out in a
/// recorded bundle. The highest mark of any channel, so that a store whose channel setting
/// changed never sends a version twice.
pub fn exported_through_on(conn: &Connection) -> Result<u64, StoreError> {
    conn.prepare_cached("SELECT coalesce(max(exported_through), 0) FROM transfer_send_state")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get::<_, i64>(0)))
        .map(|mark| u64::try_from(mark).unwrap_or(0))
        .map_err(db("reading the exported-through mark"))
}

/// Reads the oldest `limit` versions not yet exported, on `conn` (so that an export can read
/// inside its own transaction), in sequence order.
pub fn pending_versions(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<PendingVersion>, StoreError> {
    pending_versions_after(conn, None, limit)
}

/// [`pending_versions`] after sequence number `after` (default: the exported-through mark):
/// what an export reads for its next bundle while the versions it read for the previous one
/// are not recorded yet.
pub fn pending_versions_after(
    conn: &Connection,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<PendingVersion>, StoreError> {
    let after = match after {
        Some(after) => after,
        None => exported_through_on(conn)?,
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "SELECT v.seq, v.receipt, v.version, v.content_hash, p.payload
         FROM submission_versions v
         JOIN submission_payloads p ON p.receipt = v.receipt AND p.version = v.version
         WHERE v.seq > ?1 ORDER BY v.seq LIMIT ?2",
    )
    .and_then(|mut stmt| {
        stmt.query_map(params![i64_of(after), limit], |row| {
            Ok(PendingVersion {
                seq: u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0),
                receipt: row.get(1)?,
                version: u32_col(row.get(2)?),
                content_hash: hash_col(row.get(3)?),
                payload: row.get(4)?,
            })
        })?
        .collect()
    })
    .map_err(db("listing versions to export"))
}

/// The range of `versions` (consecutive pending versions, in sequence order) as an outbox row
/// records it: first and last sequence number, count and members digest.
pub fn range_of(versions: &[PendingVersion]) -> Option<VersionRange> {
    let (first, last) = (versions.first()?, versions.last()?);
    Some(VersionRange {
        first_seq: first.seq,
        last_seq: last.seq,
        versions: versions.len() as u64,
        members_digest: records::members_digest(
            versions
                .iter()
                .map(|v| (v.receipt.as_str(), v.version, &v.content_hash)),
        ),
    })
}

impl Store {
    /// The oldest `limit` versions not yet exported, decoded and checked (see
    /// [`pending_versions`]).
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

    /// Records that the next `limit` pending versions went out on `channel` in one submissions
    /// bundle (`sequence`, id `bundle_id`, created `at`) without writing a bundle file: the
    /// ledger effect of an export, for tools and tests that carry versions some other way.
    /// Each of those versions shows "in transit" until an ack names it. Returns how many
    /// versions the bundle holds.
    pub async fn record_export(
        &self,
        channel: ChannelId,
        sequence: u64,
        bundle_id: [u8; 32],
        limit: usize,
        at: i64,
    ) -> Result<usize, StoreError> {
        self.write(move |conn| {
            let state = ledger::send_state_on(conn, channel)?;
            let versions = pending_versions(conn, limit)?;
            let range = range_of(&versions);
            ledger::record_bundles_on(
                conn,
                channel,
                state.epoch,
                &[OutboxBundle {
                    id: BundleId(bundle_id),
                    sequence,
                    kind: "submissions".into(),
                    file_name: format!("recorded-{sequence}.bundle"),
                    records: versions.len(),
                    created: at,
                    range,
                }],
            )?;
            ledger::record_publication_on(conn, &BundleId(bundle_id), at, true)?;
            Ok(versions.len())
        })
        .await
    }
}
