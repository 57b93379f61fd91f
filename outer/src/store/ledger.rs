//! The transfer ledgers of the outer store, behind typed functions: the send state of each
//! submissions channel (with its exported-through mark), the outbox index (one row per bundle,
//! with the range of version sequence numbers it holds) of bundles written and kept until acknowledged, the
//! ledger of return bundles applied (what makes apply exactly-once), and the keyset versions
//! installed here. `sluice-transfer` drives these; it never reads or writes the tables itself.
//!
//! Every function takes a connection (the `_on` convention of this module's siblings), so the
//! transfer tool runs it inside the transaction that must hold it together with other writes;
//! every row names its channel.

use std::collections::{BTreeMap, BTreeSet};

use bundle_format::BundleId;
use keys::ChannelId;
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, db, i64_of, u64_of};

/// A bundle id read from a column; a column of the wrong length reads as the zero id, which
/// matches no real bundle.
fn id_of(bytes: &[u8]) -> BundleId {
    let mut id = [0u8; 32];
    if bytes.len() == 32 {
        id.copy_from_slice(bytes);
    }
    BundleId(id)
}

/// Where a submissions channel's chain stands on the sending side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendState {
    /// The channel's epoch.
    pub epoch: u64,
    /// The sequence number the next bundle gets.
    pub next_sequence: u64,
    /// The id of the last bundle written (the zero id before the first).
    pub previous: BundleId,
}

/// The send state of `channel`; a channel that never sent starts at epoch 1, sequence 1.
pub fn send_state_on(conn: &Connection, channel: ChannelId) -> Result<SendState, StoreError> {
    let row: Option<(i64, i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT epoch, next_sequence, previous FROM transfer_send_state WHERE channel = ?1",
        )
        .and_then(|mut stmt| {
            stmt.query_row([channel.0], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()
        })
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

/// The submission versions one bundle holds: an unbroken range of the store's version
/// sequence numbers (export sends versions in that order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRange {
    /// Sequence number of its first version.
    pub first_seq: u64,
    /// Sequence number of its last version.
    pub last_seq: u64,
    /// How many versions it holds.
    pub versions: u64,
    /// [`bundle_format::records::members_digest`] over them, in order.
    pub members_digest: [u8; 32],
}

impl VersionRange {
    /// The range ack the inner side sends for bundle `bundle_id` (`sequence` on `channel`)
    /// holding this range, with the versions whose outcome is not a plain applied.
    pub fn ack(
        &self,
        bundle_id: [u8; 32],
        channel: u32,
        sequence: u64,
        exceptions: Vec<bundle_format::records::ReceiptAck>,
    ) -> bundle_format::records::RangeAck {
        bundle_format::records::RangeAck {
            bundle_id,
            channel,
            sequence,
            members: self.versions,
            members_digest: self.members_digest,
            exceptions,
        }
    }
}

/// A bundle written into the retained outbox, as its outbox row records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxBundle {
    /// Bundle id.
    pub id: BundleId,
    /// Its sequence number on the channel.
    pub sequence: u64,
    /// Its kind (`submissions`, `heartbeat`, `keyset`).
    pub kind: String,
    /// Its file name in the retained outbox.
    pub file_name: String,
    /// Records it holds.
    pub records: usize,
    /// When it was created, Unix seconds.
    pub created: i64,
    /// The submission versions it holds; `None` for a bundle without any.
    pub range: Option<VersionRange>,
}

/// Records `bundles` (written in this order, in `epoch`) in the outbox index of `channel`,
/// each with the range of versions it holds, moves the channel's send state past the last of
/// them and its exported-through mark to the end of the last range: one row per bundle, nothing
/// per version. The caller runs it in the transaction that wrote nothing else about them, so a
/// crash leaves either all of it or none.
pub fn record_bundles_on(
    conn: &Connection,
    channel: ChannelId,
    epoch: u64,
    bundles: &[OutboxBundle],
) -> Result<(), StoreError> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO transfer_outbox (bundle_id, channel, epoch, sequence, kind, file_name,
                                          records, created, first_seq, last_seq, versions,
                                          members_digest)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .map_err(db("recording a bundle in the outbox index"))?;
    for bundle in bundles {
        insert
            .execute(params![
                &bundle.id.0[..],
                channel.0,
                i64_of(epoch),
                i64_of(bundle.sequence),
                bundle.kind,
                bundle.file_name,
                i64::try_from(bundle.records).unwrap_or(i64::MAX),
                bundle.created,
                bundle.range.map(|r| i64_of(r.first_seq)),
                bundle.range.map(|r| i64_of(r.last_seq)),
                i64_of(bundle.range.map_or(0, |r| r.versions)),
                bundle.range.map(|r| r.members_digest.to_vec())
            ])
            .map_err(db("recording a bundle in the outbox index"))?;
    }
    if let Some(last) = bundles.last() {
        let through = bundles
            .iter()
            .filter_map(|b| b.range.map(|r| r.last_seq))
            .max()
            .unwrap_or(0);
        // A new channel row starts at the store's mark, so that a changed channel setting
        // never sends a version twice.
        conn.prepare_cached(
            "INSERT INTO transfer_send_state (channel, epoch, next_sequence, previous,
                                              exported_through)
             VALUES (?1, ?2, ?3, ?4, max(?5, (SELECT coalesce(max(exported_through), 0)
                                              FROM transfer_send_state)))
             ON CONFLICT (channel) DO UPDATE SET epoch = excluded.epoch,
                 next_sequence = excluded.next_sequence, previous = excluded.previous,
                 exported_through = max(exported_through, excluded.exported_through)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                channel.0,
                i64_of(epoch),
                i64_of(last.sequence.saturating_add(1)),
                &last.id.0[..],
                i64_of(through)
            ])
        })
        .map_err(db("advancing the send state"))?;
    }
    Ok(())
}

/// A bundle of the outbox index that is kept in the retained outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainedBundle {
    /// Bundle id.
    pub id: BundleId,
    /// Sequence number.
    pub sequence: u64,
    /// File name in the retained outbox.
    pub file_name: String,
}

/// Bundles of `channel` recorded but never published (an export stopped between its commit and
/// the copy to the outbox), oldest first. One acknowledged already needs no publishing.
pub fn unpublished_bundles_on(
    conn: &Connection,
    channel: ChannelId,
) -> Result<Vec<RetainedBundle>, StoreError> {
    conn.prepare_cached(
        "SELECT bundle_id, sequence, file_name FROM transfer_outbox
         WHERE channel = ?1 AND published_at IS NULL AND acknowledged_at IS NULL
         ORDER BY sequence",
    )
    .and_then(|mut stmt| {
        stmt.query_map([channel.0], |row| {
            Ok(RetainedBundle {
                id: id_of(&row.get::<_, Vec<u8>>(0)?),
                sequence: u64_of(row.get(1)?),
                file_name: row.get(2)?,
            })
        })?
        .collect()
    })
    .map_err(db("reading the outbox index"))
}

/// File names of every bundle not yet acknowledged, on any channel: the files the retained
/// outbox must keep.
pub fn unacknowledged_file_names_on(conn: &Connection) -> Result<BTreeSet<String>, StoreError> {
    conn.prepare_cached("SELECT file_name FROM transfer_outbox WHERE acknowledged_at IS NULL")
        .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
        .map_err(db("reading the outbox index"))
}

/// Sequence numbers of the published, unacknowledged bundles of `channel` last sent before
/// `cutoff`, in order; refused ones are signed again by the export instead.
pub fn bundles_due_on(
    conn: &Connection,
    channel: ChannelId,
    cutoff: i64,
) -> Result<Vec<u64>, StoreError> {
    conn.prepare_cached(
        "SELECT sequence FROM transfer_outbox
         WHERE channel = ?1 AND acknowledged_at IS NULL AND published_at IS NOT NULL
           AND refused_at IS NULL AND last_sent_at < ?2 ORDER BY sequence",
    )
    .and_then(|mut stmt| {
        stmt.query_map(params![channel.0, cutoff], |row| {
            row.get::<_, i64>(0).map(u64_of)
        })?
        .collect()
    })
    .map_err(db("reading the outbox index"))
}

/// The unacknowledged bundle of `channel` with `sequence` in the channel's current epoch, unless
/// the inner side refused it (its copy must be signed again first, see `refused_bundles_on`).
pub fn retained_bundle_on(
    conn: &Connection,
    channel: ChannelId,
    sequence: u64,
) -> Result<Option<RetainedBundle>, StoreError> {
    conn.prepare_cached(
        "SELECT o.bundle_id, o.sequence, o.file_name FROM transfer_outbox o
         JOIN transfer_send_state s ON s.channel = o.channel AND s.epoch = o.epoch
         WHERE o.channel = ?1 AND o.sequence = ?2 AND o.acknowledged_at IS NULL
           AND o.refused_at IS NULL",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![channel.0, i64_of(sequence)], |row| {
            Ok(RetainedBundle {
                id: id_of(&row.get::<_, Vec<u8>>(0)?),
                sequence: u64_of(row.get(1)?),
                file_name: row.get(2)?,
            })
        })
        .optional()
    })
    .map_err(db("reading the outbox index"))
}

/// Records that bundle `id` was copied to the outbox at `now`: its first publication when
/// `first`, a resend otherwise.
pub fn record_publication_on(
    conn: &Connection,
    id: &BundleId,
    now: i64,
    first: bool,
) -> Result<(), StoreError> {
    let sql = if first {
        "UPDATE transfer_outbox SET published_at = ?2, last_sent_at = ?2,
                send_count = send_count + 1 WHERE bundle_id = ?1"
    } else {
        "UPDATE transfer_outbox SET last_sent_at = ?2, send_count = send_count + 1
         WHERE bundle_id = ?1"
    };
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute(params![&id.0[..], now]))
        .map_err(db("recording a publication"))?;
    Ok(())
}

/// The range of versions bundle `id` of `channel` holds: `None` if the outbox index has no such
/// bundle, `Some(None)` for a bundle without versions.
pub fn bundle_range_on(
    conn: &Connection,
    channel: ChannelId,
    id: &BundleId,
) -> Result<Option<Option<VersionRange>>, StoreError> {
    conn.prepare_cached(
        "SELECT first_seq, last_seq, versions, members_digest FROM transfer_outbox
         WHERE bundle_id = ?1 AND channel = ?2",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![&id.0[..], channel.0], |row| {
            let first: Option<i64> = row.get(0)?;
            let last: Option<i64> = row.get(1)?;
            let versions: i64 = row.get(2)?;
            let digest: Option<Vec<u8>> = row.get(3)?;
            Ok(first.zip(last).map(|(first, last)| VersionRange {
                first_seq: u64_of(first),
                last_seq: u64_of(last),
                versions: u64_of(versions),
                members_digest: digest.map(|d| id_of(&d).0).unwrap_or_default(),
            }))
        })
        .optional()
    })
    .map_err(db("reading the outbox index"))
}

/// The retained file name of bundle `id`, while it is not acknowledged.
pub fn bundle_file_on(conn: &Connection, id: &BundleId) -> Result<Option<String>, StoreError> {
    conn.prepare_cached(
        "SELECT file_name FROM transfer_outbox WHERE bundle_id = ?1 AND acknowledged_at IS NULL",
    )
    .and_then(|mut stmt| stmt.query_row([&id.0[..]], |row| row.get(0)).optional())
    .map_err(db("reading the outbox index"))
}

/// Records an ack of bundle `id` at `now`; returns the bundle's retained file name if it was
/// not acknowledged before (the file may now go).
pub fn acknowledge_bundle_on(
    conn: &Connection,
    id: &BundleId,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let name: Option<String> = conn
        .prepare_cached(
            "SELECT file_name FROM transfer_outbox WHERE bundle_id = ?1 AND acknowledged_at IS NULL",
        )
        .and_then(|mut stmt| stmt.query_row([&id.0[..]], |row| row.get(0)).optional())
        .map_err(db("reading the outbox index"))?;
    if name.is_some() {
        conn.prepare_cached(
            "UPDATE transfer_outbox SET acknowledged_at = ?2
             WHERE bundle_id = ?1 AND acknowledged_at IS NULL",
        )
        .and_then(|mut stmt| stmt.execute(params![&id.0[..], now]))
        .map_err(db("recording an ack"))?;
    }
    Ok(name)
}

/// What the return ledger knows of a return channel, for judging the next bundle on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnChain {
    /// The newest epoch applied, if any.
    pub epoch: Option<u64>,
    /// Every bundle applied in that epoch, by sequence.
    pub applied: Vec<(u64, BundleId)>,
    /// The bundle applied at the asked-for epoch and sequence, if one was.
    pub recorded: Option<BundleId>,
}

/// The return ledger of `channel`, and which bundle it holds at (`epoch`, `sequence`).
pub fn return_chain_on(
    conn: &Connection,
    channel: ChannelId,
    epoch: u64,
    sequence: u64,
) -> Result<ReturnChain, StoreError> {
    let newest: Option<i64> = conn
        .prepare_cached("SELECT max(epoch) FROM transfer_return_ledger WHERE channel = ?1")
        .and_then(|mut stmt| stmt.query_row([channel.0], |row| row.get(0)))
        .map_err(db("reading the return ledger"))?;
    let mut applied = Vec::new();
    if let Some(newest) = newest {
        applied = conn
            .prepare_cached(
                "SELECT sequence, bundle_id FROM transfer_return_ledger
                 WHERE channel = ?1 AND epoch = ?2 ORDER BY sequence",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![channel.0, newest], |row| {
                    Ok((u64_of(row.get(0)?), id_of(&row.get::<_, Vec<u8>>(1)?)))
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(db("reading the return ledger"))?;
    }
    let recorded: Option<Vec<u8>> = conn
        .prepare_cached(
            "SELECT bundle_id FROM transfer_return_ledger
             WHERE channel = ?1 AND epoch = ?2 AND sequence = ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![channel.0, i64_of(epoch), i64_of(sequence)], |row| {
                row.get(0)
            })
            .optional()
        })
        .map_err(db("reading the return ledger"))?;
    Ok(ReturnChain {
        epoch: newest.map(u64_of),
        applied,
        recorded: recorded.map(|id| id_of(&id)),
    })
}

/// The return-ledger row of one return bundle applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnLedgerRow {
    /// Bundle id.
    pub id: BundleId,
    /// The return channel it arrived on.
    pub channel: ChannelId,
    /// Its epoch.
    pub epoch: u64,
    /// Its sequence number.
    pub sequence: u64,
    /// The id of the bundle before it in its chain.
    pub previous: BundleId,
    /// The file it came in.
    pub file_name: String,
}

/// Writes the return-ledger row of an applied return bundle (what makes apply exactly-once);
/// the caller writes it in the transaction that applies the bundle's records.
pub fn record_return_on(
    conn: &Connection,
    row: &ReturnLedgerRow,
    now: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO transfer_return_ledger (bundle_id, channel, epoch, sequence, previous,
                                             file_name, applied_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            &row.id.0[..],
            row.channel.0,
            i64_of(row.epoch),
            i64_of(row.sequence),
            &row.previous.0[..],
            row.file_name,
            now
        ])
    })
    .map_err(db("recording the return bundle"))?;
    Ok(())
}

/// Whether the return ledger holds the bundle `id` (applied before).
pub fn return_ledger_holds_on(conn: &Connection, id: &BundleId) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM transfer_return_ledger WHERE bundle_id = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([&id.0[..]], |row| row.get::<_, i64>(0))
                .optional()
        })
        .map(|seen| seen.is_some())
        .map_err(db("reading the return ledger"))
}

/// The highest return sequence applied on any channel and when the last return bundle was
/// applied, if any was.
pub fn last_return_on(conn: &Connection) -> Result<Option<(u64, i64)>, StoreError> {
    conn.prepare_cached("SELECT max(sequence), max(applied_at) FROM transfer_return_ledger")
        .and_then(|mut stmt| {
            stmt.query_row([], |row| {
                Ok((row.get::<_, Option<i64>>(0)?, row.get::<_, Option<i64>>(1)?))
            })
        })
        .map(|(sequence, at)| sequence.map(u64_of).zip(at))
        .map_err(db("reading the return ledger"))
}

/// Most return channels one receipt list names (a node applies one; the wire's limit for a
/// heartbeat is [`bundle_format::records::MAX_RETURN_RECEIPTS`]).
const MAX_RECEIPT_CHANNELS: i64 = bundle_format::records::MAX_RETURN_RECEIPTS as i64;

/// What this store has applied of each return channel, as the receipts that ride inward on the
/// next submissions bundle or heartbeat: per channel, its newest epoch and the highest sequence
/// applied with every one from 1 below it applied (0 when sequence 1 of that epoch is missing).
pub fn return_receipts_on(
    conn: &Connection,
) -> Result<Vec<bundle_format::records::ReturnReceipt>, StoreError> {
    conn.prepare_cached(
        "WITH newest AS (
             SELECT channel, max(epoch) AS epoch FROM transfer_return_ledger
             GROUP BY channel ORDER BY channel LIMIT ?1
         )
         SELECT n.channel, n.epoch,
                CASE WHEN EXISTS (SELECT 1 FROM transfer_return_ledger f
                                  WHERE f.channel = n.channel AND f.epoch = n.epoch
                                    AND f.sequence = 1)
                THEN (SELECT min(a.sequence) FROM transfer_return_ledger a
                      WHERE a.channel = n.channel AND a.epoch = n.epoch
                        AND NOT EXISTS (SELECT 1 FROM transfer_return_ledger b
                                        WHERE b.channel = a.channel AND b.epoch = a.epoch
                                          AND b.sequence = a.sequence + 1))
                ELSE 0 END
         FROM newest n",
    )
    .and_then(|mut stmt| {
        stmt.query_map([MAX_RECEIPT_CHANNELS], |row| {
            Ok(bundle_format::records::ReturnReceipt {
                channel: u32::try_from(row.get::<_, i64>(0)?).unwrap_or(u32::MAX),
                epoch: u64_of(row.get(1)?),
                through: u64_of(row.get(2)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()
    })
    .map_err(db("reading the return ledger"))
}

/// Where a keyset version recorded here came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysetOrigin {
    /// Received in a keyset bundle.
    Received,
    /// Published here with `publish-keyset`.
    Published,
}

impl KeysetOrigin {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeysetOrigin::Received => "received",
            KeysetOrigin::Published => "published",
        }
    }
}

/// Records keyset `version` (its signed file) as installed here, with the bundle that carried
/// it (id, channel, sequence) if one did.
pub fn record_keyset_on(
    conn: &Connection,
    version: u64,
    file: &[u8],
    origin: KeysetOrigin,
    bundle: Option<(&BundleId, ChannelId, u64)>,
    now: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO transfer_keysets (version, file, origin, bundle_id, channel, sequence,
                                       recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            i64_of(version),
            file,
            origin.as_str(),
            bundle.map(|(id, _, _)| id.0.to_vec()),
            bundle.map(|(_, channel, _)| channel.0),
            bundle.map(|(_, _, sequence)| i64_of(sequence)),
            now
        ])
    })
    .map_err(db("recording the installed keyset"))?;
    Ok(())
}

/// Names the bundle that carries keyset `version`, published here, once it is written.
pub fn record_keyset_bundle_on(
    conn: &Connection,
    version: u64,
    id: &BundleId,
    channel: ChannelId,
    sequence: u64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE transfer_keysets SET bundle_id = ?2, channel = ?3, sequence = ?4
         WHERE version = ?1",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            i64_of(version),
            &id.0[..],
            channel.0,
            i64_of(sequence)
        ])
    })
    .map_err(db("recording the keyset bundle"))?;
    Ok(())
}

/// The signed files of the keyset versions recorded here above `version`, oldest first.
pub fn keyset_files_after_on(
    conn: &Connection,
    version: u64,
) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    conn.prepare_cached(
        "SELECT version, file FROM transfer_keysets WHERE version > ?1 ORDER BY version",
    )
    .and_then(|mut stmt| {
        stmt.query_map([i64_of(version)], |row| {
            Ok((u64_of(row.get(0)?), row.get(1)?))
        })?
        .collect()
    })
    .map_err(db("reading the installed keysets"))
}

/// A keyset version recorded here, for `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedKeysetRow {
    /// Version.
    pub version: u64,
    /// `received` or `published`.
    pub origin: String,
    /// Channel of the bundle that carried it, if one did.
    pub channel: Option<u32>,
    /// Sequence number of that bundle.
    pub sequence: Option<u64>,
    /// When it was recorded, Unix seconds.
    pub recorded_at: i64,
    /// For a version published here: whether its bundle was acknowledged.
    pub acknowledged: Option<bool>,
}

/// Every keyset version recorded here, oldest first.
pub fn recorded_keysets_on(conn: &Connection) -> Result<Vec<RecordedKeysetRow>, StoreError> {
    conn.prepare_cached(
        "SELECT k.version, k.origin, k.channel, k.sequence, k.recorded_at,
                CASE WHEN k.origin = 'published' AND k.bundle_id IS NOT NULL
                     THEN o.acknowledged_at IS NOT NULL END
         FROM transfer_keysets k LEFT JOIN transfer_outbox o ON o.bundle_id = k.bundle_id
         ORDER BY k.version",
    )
    .and_then(|mut stmt| {
        stmt.query_map([], |row| {
            Ok(RecordedKeysetRow {
                version: u64_of(row.get(0)?),
                origin: row.get(1)?,
                channel: row.get(2)?,
                sequence: row.get::<_, Option<i64>>(3)?.map(u64_of),
                recorded_at: row.get(4)?,
                acknowledged: row.get(5)?,
            })
        })?
        .collect()
    })
    .map_err(db("reading the installed keysets"))
}

/// How keyset `version` was recorded here: its origin and whether a bundle carried it.
pub fn keyset_origin_on(
    conn: &Connection,
    version: u64,
) -> Result<Option<(String, bool)>, StoreError> {
    conn.prepare_cached(
        "SELECT origin, bundle_id IS NOT NULL FROM transfer_keysets WHERE version = ?1",
    )
    .and_then(|mut stmt| {
        stmt.query_row([i64_of(version)], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()
    })
    .map_err(db("reading the installed keysets"))
}

/// A published bundle not yet acknowledged, for `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnacknowledgedBundle {
    /// Sequence number.
    pub sequence: u64,
    /// Kind.
    pub kind: String,
    /// Records it holds.
    pub records: u64,
    /// When it was created, Unix seconds.
    pub created: i64,
    /// How often it was published.
    pub send_count: u64,
}

/// The bundles of `channel` not yet acknowledged, by sequence.
pub fn unacknowledged_bundles_on(
    conn: &Connection,
    channel: ChannelId,
) -> Result<Vec<UnacknowledgedBundle>, StoreError> {
    conn.prepare_cached(
        "SELECT sequence, kind, records, created, send_count FROM transfer_outbox
         WHERE channel = ?1 AND acknowledged_at IS NULL ORDER BY sequence",
    )
    .and_then(|mut stmt| {
        stmt.query_map([channel.0], |row| {
            Ok(UnacknowledgedBundle {
                sequence: u64_of(row.get(0)?),
                kind: row.get(1)?,
                records: u64_of(row.get(2)?),
                created: row.get(3)?,
                send_count: u64_of(row.get(4)?),
            })
        })?
        .collect()
    })
    .map_err(db("reading the outbox index"))
}

/// How many versions wait for export and how many are in transit (exported, not acknowledged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VersionCounts {
    /// Not yet exported, payload held.
    pub pending: u64,
    /// Exported and not yet acknowledged.
    pub in_transit: u64,
}

/// Counts versions waiting for export (above the exported-through mark) and versions in
/// transit (at or below it, without an ack).
pub fn version_counts_on(conn: &Connection) -> Result<VersionCounts, StoreError> {
    let mark = i64_of(super::export::exported_through_on(conn)?);
    conn.prepare_cached(
        "SELECT count(*) FILTER (WHERE seq > ?1 AND payload_removed_at IS NULL),
                count(*) FILTER (WHERE seq <= ?1 AND acknowledged_at IS NULL)
         FROM submission_versions",
    )
    .and_then(|mut stmt| {
        stmt.query_row([mark], |row| {
            Ok(VersionCounts {
                pending: u64_of(row.get(0)?),
                in_transit: u64_of(row.get(1)?),
            })
        })
    })
    .map_err(db("counting versions"))
}

/// Counts versions waiting for export (above the exported-through mark).
pub fn pending_version_count_on(conn: &Connection) -> Result<u64, StoreError> {
    let mark = i64_of(super::export::exported_through_on(conn)?);
    conn.prepare_cached(
        "SELECT count(*) FROM submission_versions WHERE seq > ?1 AND payload_removed_at IS NULL",
    )
    .and_then(|mut stmt| stmt.query_row([mark], |row| row.get::<_, i64>(0)))
    .map(u64_of)
    .map_err(db("counting pending versions"))
}

/// Receipts by state name; "in transit" derived (a receipt waiting in "received" on a version
/// at or below the exported-through mark that has no ack).
pub fn receipt_counts_on(conn: &Connection) -> Result<BTreeMap<String, u64>, StoreError> {
    let mark = i64_of(super::export::exported_through_on(conn)?);
    conn.prepare_cached(
        "SELECT CASE WHEN r.state = 'received' AND EXISTS (
                         SELECT 1 FROM submission_versions v
                         WHERE v.receipt = r.receipt AND v.version = r.state_version
                           AND v.seq <= ?1 AND v.acknowledged_at IS NULL)
                     THEN 'in_transit' ELSE r.state END AS shown,
                count(*)
         FROM receipts r GROUP BY shown ORDER BY shown",
    )
    .and_then(|mut stmt| {
        stmt.query_map([mark], |row| {
            Ok((row.get::<_, String>(0)?, u64_of(row.get(1)?)))
        })?
        .collect()
    })
    .map_err(db("counting receipts"))
}
