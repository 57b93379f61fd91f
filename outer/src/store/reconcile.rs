//! What the two sides' ledgers say of one submissions channel, read from this store: the outbox
//! (what was sent, acknowledged, refused), the versions (whose payloads are gone, and whether an
//! ack allowed it), the return ledger (which return bundles were applied) and the inner side's
//! newest sequence report (what it imported), as the return channel carried it here.
//! `sluice-transfer reconcile` turns these into findings.

use bundle_format::records::SequenceReport;
use keys::ChannelId;
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, db, i64_of, u64_of};

/// Most rows of one kind a reconciliation reads; a ledger past it is reported as cut short.
pub const MAX_ROWS: i64 = 100_000;

/// Keeps the inner side's newest sequence report for this store's channel, from a return bundle
/// the inner side wrote at `reported_at` (its clock); an older report never replaces a newer one.
pub fn record_inner_report_on(
    conn: &Connection,
    report: &SequenceReport,
    reported_at: i64,
    now: i64,
) -> Result<(), StoreError> {
    let missing = report
        .missing
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    conn.prepare_cached(
        "INSERT INTO transfer_inner_reports
             (channel, epoch, highest_contiguous, missing, reported_at, applied_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (channel) DO UPDATE SET
             epoch = excluded.epoch, highest_contiguous = excluded.highest_contiguous,
             missing = excluded.missing, reported_at = excluded.reported_at,
             applied_at = excluded.applied_at
         WHERE excluded.reported_at >= transfer_inner_reports.reported_at",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            report.channel,
            i64_of(report.epoch),
            i64_of(report.highest_contiguous),
            missing,
            reported_at,
            now
        ])
    })
    .map_err(db("recording the inner side's sequence report"))?;
    Ok(())
}

/// The inner side's newest sequence report on a channel, as kept here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerReport {
    /// The epoch it speaks of.
    pub epoch: u64,
    /// Every sequence number up to this one was imported inside.
    pub highest_contiguous: u64,
    /// Sequence numbers above it that the inner side misses.
    pub missing: Vec<u64>,
    /// When the inner side wrote the return bundle carrying it (its clock).
    pub reported_at: i64,
}

/// The inner side's newest report on `channel`, if one arrived.
pub fn inner_report_on(
    conn: &Connection,
    channel: ChannelId,
) -> Result<Option<InnerReport>, StoreError> {
    conn.prepare_cached(
        "SELECT epoch, highest_contiguous, missing, reported_at FROM transfer_inner_reports
         WHERE channel = ?1",
    )
    .and_then(|mut stmt| {
        stmt.query_row([channel.0], |row| {
            let missing: String = row.get(2)?;
            Ok(InnerReport {
                epoch: u64_of(row.get(0)?),
                highest_contiguous: u64_of(row.get(1)?),
                missing: missing.split(',').filter_map(|n| n.parse().ok()).collect(),
                reported_at: row.get(3)?,
            })
        })
        .optional()
    })
    .map_err(db("reading the inner side's sequence report"))
}

/// One submissions bundle sent on the channel, as the outbox records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentBundle {
    /// Bundle id, hex.
    pub bundle_id: String,
    /// Its sequence number.
    pub sequence: u64,
    /// Versions it holds.
    pub versions: u64,
    /// When it was first published, Unix seconds.
    pub published_at: Option<i64>,
    /// When its ack was applied here.
    pub acknowledged_at: Option<i64>,
    /// When the inner side refused it as a whole for its signer, and why.
    pub refused: Option<(i64, String)>,
}

/// The submissions bundles sent on `channel` in `epoch`, by sequence (at most [`MAX_ROWS`]).
pub fn sent_bundles_on(
    conn: &Connection,
    channel: ChannelId,
    epoch: u64,
) -> Result<Vec<SentBundle>, StoreError> {
    conn.prepare_cached(
        "SELECT bundle_id, sequence, versions, published_at, acknowledged_at, refused_at, refusal
         FROM transfer_outbox
         WHERE channel = ?1 AND epoch = ?2 AND kind = 'submissions'
         ORDER BY sequence LIMIT ?3",
    )
    .and_then(|mut stmt| {
        stmt.query_map(params![channel.0, i64_of(epoch), MAX_ROWS], |row| {
            let id: Vec<u8> = row.get(0)?;
            let refused_at: Option<i64> = row.get(5)?;
            let refusal: Option<String> = row.get(6)?;
            Ok(SentBundle {
                bundle_id: hex::encode(id),
                sequence: u64_of(row.get(1)?),
                versions: u64_of(row.get(2)?),
                published_at: row.get(3)?,
                acknowledged_at: row.get(4)?,
                refused: refused_at.map(|at| (at, refusal.unwrap_or_default())),
            })
        })?
        .collect()
    })
    .map_err(db("reading the outbox"))
}

/// A version whose payload is gone from this store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostPayload {
    /// Receipt id.
    pub receipt: String,
    /// Version.
    pub version: u32,
    /// Sequence of the bundle whose range holds it, if it was exported.
    pub bundle_sequence: Option<u64>,
    /// `true`: the store recorded a deletion no ack allowed; `false`: the payload row is
    /// missing while the store says it is kept (deleted by hand, or lost).
    pub recorded: bool,
}

/// The versions whose payload is gone without an ack (at most [`MAX_ROWS`]): deleted with no
/// ack recorded, or missing while the store says it is kept.
pub fn payloads_lost_on(conn: &Connection) -> Result<Vec<LostPayload>, StoreError> {
    conn.prepare_cached(
        "SELECT v.receipt, v.version, v.payload_removed_at IS NOT NULL,
                (SELECT o.sequence FROM transfer_outbox o
                 WHERE o.last_seq IS NOT NULL AND o.first_seq <= v.seq AND o.last_seq >= v.seq)
         FROM submission_versions v
         WHERE (v.payload_removed_at IS NOT NULL AND v.acknowledged_at IS NULL)
            OR (v.payload_removed_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM submission_payloads p
                                WHERE p.receipt = v.receipt AND p.version = v.version))
         ORDER BY v.seq LIMIT ?1",
    )
    .and_then(|mut stmt| {
        stmt.query_map([MAX_ROWS], |row| {
            Ok(LostPayload {
                receipt: row.get(0)?,
                version: row.get(1)?,
                recorded: row.get(2)?,
                bundle_sequence: row.get::<_, Option<i64>>(3)?.map(u64_of),
            })
        })?
        .collect()
    })
    .map_err(db("reading the stored versions"))
}

/// A version the inner side acknowledged with an outcome other than a plain import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedVersion {
    /// Receipt id.
    pub receipt: String,
    /// Version.
    pub version: u32,
    /// The ack's outcome, e.g. `rejected`.
    pub outcome: String,
}

/// The versions acknowledged as refused or rejected inside (at most [`MAX_ROWS`]).
pub fn versions_refused_inside_on(conn: &Connection) -> Result<Vec<RefusedVersion>, StoreError> {
    conn.prepare_cached(
        "SELECT receipt, version, ack_outcome FROM submission_versions
         WHERE ack_outcome IN ('refused', 'rejected') ORDER BY seq LIMIT ?1",
    )
    .and_then(|mut stmt| {
        stmt.query_map([MAX_ROWS], |row| {
            Ok(RefusedVersion {
                receipt: row.get(0)?,
                version: row.get(1)?,
                outcome: row.get(2)?,
            })
        })?
        .collect()
    })
    .map_err(db("reading the stored versions"))
}

/// The return bundles missing from this store's return ledger on `channel`: in its newest epoch,
/// every sequence number from 1 to the highest applied that was never applied, as inclusive
/// ranges (at most [`MAX_ROWS`] ranges).
pub fn return_gaps_on(
    conn: &Connection,
    channel: ChannelId,
) -> Result<Vec<(u64, u64)>, StoreError> {
    conn.prepare_cached(
        "WITH applied AS (
             SELECT sequence FROM transfer_return_ledger
             WHERE channel = ?1
               AND epoch = (SELECT max(epoch) FROM transfer_return_ledger WHERE channel = ?1)
             UNION ALL SELECT 0
         )
         SELECT a.sequence + 1,
                (SELECT min(b.sequence) FROM applied b WHERE b.sequence > a.sequence) - 1
         FROM applied a
         WHERE NOT EXISTS (SELECT 1 FROM applied n WHERE n.sequence = a.sequence + 1)
           AND EXISTS (SELECT 1 FROM applied m WHERE m.sequence > a.sequence)
         ORDER BY a.sequence LIMIT ?2",
    )
    .and_then(|mut stmt| {
        stmt.query_map(params![channel.0, MAX_ROWS], |row| {
            Ok((u64_of(row.get(0)?), u64_of(row.get(1)?)))
        })?
        .collect()
    })
    .map_err(db("reading the return ledger"))
}
