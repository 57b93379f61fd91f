//! The queue of entries waiting to go back out on the return channel, and the per-channel
//! sequence state the return bundles report.
//!
//! Acks, status changes and certificates are queued in the same transaction as the change they
//! report, as the wire encoding of their record. The return exporter takes them with
//! [`pending_returns`], writes a return bundle, and then calls [`mark_sent`] with that bundle's
//! id; an entry is never sent by two committed return bundles.

use bundle_format::records::{
    BundleRefusal, MAX_MISSING_SEQUENCES, Record, SequenceReport, StatusChange, wire_config,
};
use postgres::{GenericClient, Transaction};

use crate::store::{StoreError, db};
use crate::workflow;

/// Most bytes one queued record may take when read back (an ack of the largest bundle the
/// import takes, a million submissions, stays far below this).
pub const MAX_QUEUED_RECORD_BYTES: usize = 512 * 1024 * 1024;

/// Why the return queue could not be read or updated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReturnError {
    /// The database failed.
    #[error("database error while {step}: {}", crate::store::describe(source))]
    Database {
        /// What was being done.
        step: &'static str,
        /// The error.
        #[source]
        source: postgres::Error,
    },
    /// A queued record does not decode: the queue was written by something else.
    #[error("return queue entry {entry_id} does not decode: {message}")]
    Corrupt {
        /// The entry.
        entry_id: i64,
        /// The decoder's message.
        message: String,
    },
    /// Some entries to mark were not pending (already sent, or unknown).
    #[error("{missing} of the entries to mark as sent are not pending; nothing was marked")]
    NotPending {
        /// How many were not pending.
        missing: usize,
    },
}

fn rdb(step: &'static str) -> impl FnOnce(postgres::Error) -> ReturnError {
    move |source| ReturnError::Database { step, source }
}

/// One entry waiting to go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEntry {
    /// Its id, for [`mark_sent`].
    pub entry_id: i64,
    /// The record to put in the return bundle.
    pub record: Record,
}

/// Everything the next return bundle should carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingReturns {
    /// Acks, status changes and certificates in the order they were queued.
    pub entries: Vec<PendingEntry>,
    /// The current sequence state of every channel submissions arrived on. These are a
    /// snapshot, not queue entries: every return bundle carries them afresh.
    pub sequence_reports: Vec<SequenceReport>,
}

/// What a return-queue entry carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// An import's ack of a submissions bundle.
    Ack,
    /// A review state change, stored as the id of its review event.
    StatusChange,
    /// A certificate issued for an approved filing.
    Certificate,
    /// The notice that a whole submissions bundle was refused for its signer.
    BundleRefusal,
    /// The notice that a certificate was revoked.
    CertificateRevocation,
    /// A filing's public register entry.
    RegisterEntry,
    /// A filing's removal from the public register.
    RegisterRemoval,
    /// A filing's password, for its owner (blanked in the queue once sent).
    FilingPassword,
    /// A filing's approved record (or its withdrawal), for its owner's intake node.
    ApprovedRecord,
}

impl EntryKind {
    /// The name stored in `return_queue.kind`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            EntryKind::Ack => "ack",
            EntryKind::StatusChange => "status-change",
            EntryKind::Certificate => "certificate",
            EntryKind::BundleRefusal => "bundle-refusal",
            EntryKind::CertificateRevocation => "certificate-revocation",
            EntryKind::RegisterEntry => "register-entry",
            EntryKind::RegisterRemoval => "register-removal",
            EntryKind::FilingPassword => "filing-password",
            EntryKind::ApprovedRecord => "approved-record",
        }
    }
}

/// Queues one record for the return channel, for the intake node it concerns: the channel of
/// the bundle an ack or a refusal names, the channel that created the receipt a certificate
/// (or its revocation) or a filing password was issued for, the channel that created the
/// filing's first receipt for an approved record.
pub(crate) fn queue(
    tx: &mut Transaction<'_>,
    kind: EntryKind,
    record: &Record,
    now: i64,
) -> Result<i64, StoreError> {
    let bytes = bincode::encode_to_vec(record, wire_config()).map_err(|e| StoreError::Encode {
        what: "return record",
        message: e.to_string(),
    })?;
    if matches!(
        record,
        Record::RegisterEntry(_) | Record::RegisterRemoval(_)
    ) {
        return queue_for_every_node(tx, kind, &bytes, now);
    }
    let (channel, receipt) = match record {
        Record::Ack(ack) => (Some(i64::from(ack.channel)), None),
        Record::ArrivalAck(arrival) => (Some(i64::from(arrival.ack.channel)), None),
        Record::BundleRefusal(refusal) => (Some(i64::from(refusal.channel)), None),
        Record::Certificate(certificate) => (None, Some(certificate.receipt.as_str())),
        Record::CertificateRevocation(revocation) => (None, Some(revocation.receipt.as_str())),
        Record::FilingPassword(password) => (None, Some(password.receipt.as_str())),
        Record::ApprovedRecord(record) => (None, Some(record.origin_receipt.as_str())),
        _ => (None, None),
    };
    let row = tx
        .query_one(
            "INSERT INTO return_queue (kind, record, queued_at, destination)
             VALUES ($1, $2, $3, coalesce($4::bigint, receipt_channel($5::text)))
             RETURNING entry_id",
            &[&kind.name(), &bytes, &now, &channel, &receipt],
        )
        .map_err(db("queueing a return record"))?;
    Ok(row.get(0))
}

/// Queues a public register record once for every intake node that ever sent a bundle (each
/// submissions channel in `bundles`), since the register concerns them all and a node with a
/// return channel of its own takes only the entries queued for it; with no channel known yet,
/// once for no node in particular. On a return channel the nodes share, each node then reads
/// every copy, which changes nothing after the first (the outer side keeps the newest event).
/// Returns the first entry's id.
fn queue_for_every_node(
    tx: &mut Transaction<'_>,
    kind: EntryKind,
    bytes: &[u8],
    now: i64,
) -> Result<i64, StoreError> {
    let rows = tx
        .query(
            "INSERT INTO return_queue (kind, record, queued_at, destination)
             SELECT $1, $2, $3, d.channel
             FROM (SELECT DISTINCT channel FROM bundles
                   UNION ALL
                   SELECT NULL::bigint WHERE NOT EXISTS (SELECT 1 FROM bundles)) d
             ORDER BY d.channel
             RETURNING entry_id",
            &[&kind.name(), &bytes, &now],
        )
        .map_err(db("queueing a register record"))?;
    Ok(rows
        .iter()
        .map(|row| row.get::<_, i64>(0))
        .min()
        .unwrap_or(0))
}

/// Queues the notice that the submissions bundle `refusal` names was refused as a whole for
/// its signer, for the return channel (SPEC.md §6.3): the outer side then sends its versions
/// again under its current key. Returns the queue entry's id.
pub fn queue_bundle_refusal(
    tx: &mut Transaction<'_>,
    refusal: &BundleRefusal,
    now: i64,
) -> Result<i64, StoreError> {
    queue(
        tx,
        EntryKind::BundleRefusal,
        &Record::BundleRefusal(refusal.clone()),
        now,
    )
}

/// Queues a status change for each of the given review events, each for the intake node whose
/// channel created its receipt.
pub(crate) fn queue_status_changes(
    tx: &mut Transaction<'_>,
    event_ids: &[i64],
    now: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO return_queue (kind, event_id, queued_at, destination)
         SELECT $3, e.event_id, $2, receipt_channel(e.receipt)
         FROM unnest($1::bigint[]) AS u (event_id) JOIN review_events e ON e.event_id = u.event_id
         ORDER BY e.event_id",
        &[&event_ids, &now, &EntryKind::StatusChange.name()],
    )
    .map_err(db("queueing status changes"))?;
    Ok(())
}

/// Takes up to `max_entries` pending entries, oldest first, and the sequence reports.
pub fn pending_returns(
    client: &mut impl GenericClient,
    max_entries: usize,
) -> Result<PendingReturns, ReturnError> {
    pending_returns_for(client, max_entries, None)
}

/// [`pending_returns`] for the intake node of submissions channel `destination` only: the
/// entries about the receipts that channel created and the bundles it sent (and entries queued
/// before entries had a destination), and that channel's sequence report. `None` takes every
/// channel's, for a return channel all intake nodes share.
pub fn pending_returns_for(
    client: &mut impl GenericClient,
    max_entries: usize,
    destination: Option<keys::ChannelId>,
) -> Result<PendingReturns, ReturnError> {
    let limit = i64::try_from(max_entries).unwrap_or(i64::MAX);
    let destination = destination.map(|channel| i64::from(channel.0));
    let rows = client
        .query(
            "SELECT q.entry_id, q.record, e.event_id, e.receipt, e.version, e.to_state, e.at,
                    e.reason, e.filing_number
             FROM return_queue q LEFT JOIN review_events e ON e.event_id = q.event_id
             WHERE q.sent_in IS NULL
               AND ($2::bigint IS NULL OR q.destination IS NULL OR q.destination = $2)
             ORDER BY q.entry_id LIMIT $1",
            &[&limit, &destination],
        )
        .map_err(rdb("reading the return queue"))?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let entry_id: i64 = row.get(0);
        let Some(bytes) = row.get::<_, Option<&[u8]>>(1) else {
            entries.push(PendingEntry {
                entry_id,
                record: status_change(&row, entry_id)?,
            });
            continue;
        };
        let config = wire_config().with_limit::<MAX_QUEUED_RECORD_BYTES>();
        let (record, used): (Record, usize) =
            bincode::decode_from_slice(bytes, config).map_err(|e| ReturnError::Corrupt {
                entry_id,
                message: e.to_string(),
            })?;
        if used != bytes.len() {
            return Err(ReturnError::Corrupt {
                entry_id,
                message: format!("{} trailing bytes", bytes.len() - used),
            });
        }
        entries.push(PendingEntry { entry_id, record });
    }
    let mut sequence_reports = sequence_reports(client)?;
    if let Some(destination) = destination {
        sequence_reports.retain(|report| i64::from(report.channel) == destination);
    }
    Ok(PendingReturns {
        entries,
        sequence_reports,
    })
}

fn status_change(row: &postgres::Row, entry_id: i64) -> Result<Record, ReturnError> {
    let corrupt = |message: String| ReturnError::Corrupt { entry_id, message };
    let event_id: Option<i64> = row.get(2);
    let event_id = event_id.ok_or_else(|| corrupt("neither a record nor a review event".into()))?;
    let version: i64 = row.get(4);
    let state: &str = row.get(5);
    let state = workflow::parse_state(state).ok_or_else(|| {
        corrupt(format!(
            "review event {event_id} has unknown state {state:?}"
        ))
    })?;
    Ok(Record::StatusChange(StatusChange {
        event_id: event_id.unsigned_abs(),
        receipt: row.get(3),
        version: u32::try_from(version)
            .map_err(|_| corrupt(format!("review event {event_id} has version {version}")))?,
        state,
        at: row.get(6),
        reason: row.get(7),
        filing_number: row.get(8),
    }))
}

/// Marks entries as carried by the return bundle `return_bundle_id`. Either all of them were
/// pending and are marked, or none is. A filing password among them is blanked in the queue
/// in the same transaction: from then on only its hash is inside (and the return bundle,
/// retained until every node has applied it).
pub fn mark_sent(
    tx: &mut Transaction<'_>,
    entry_ids: &[i64],
    return_bundle_id: [u8; 32],
    now: i64,
) -> Result<u64, ReturnError> {
    let id: &[u8] = &return_bundle_id;
    let marked = tx
        .execute(
            "UPDATE return_queue SET sent_in = $2, sent_at = $3
             WHERE entry_id = ANY($1) AND sent_in IS NULL",
            &[&entry_ids, &id, &now],
        )
        .map_err(rdb("marking return entries sent"))?;
    let wanted = entry_ids
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len();
    if usize::try_from(marked).unwrap_or(usize::MAX) != wanted {
        return Err(ReturnError::NotPending {
            missing: wanted.saturating_sub(usize::try_from(marked).unwrap_or(0)),
        });
    }
    blank_sent_passwords(tx, entry_ids)?;
    Ok(marked)
}

/// Rewrites each filing-password entry among `entry_ids` with its password left empty.
fn blank_sent_passwords(tx: &mut Transaction<'_>, entry_ids: &[i64]) -> Result<(), ReturnError> {
    let rows = tx
        .query(
            "SELECT entry_id, record FROM return_queue
             WHERE entry_id = ANY($1) AND kind = 'filing-password'",
            &[&entry_ids],
        )
        .map_err(rdb("reading sent filing passwords"))?;
    for row in rows {
        let entry_id: i64 = row.get(0);
        let bytes: Vec<u8> = row.get(1);
        let corrupt = |message: String| ReturnError::Corrupt { entry_id, message };
        let (record, _): (Record, usize) = bincode::decode_from_slice(
            &bytes,
            wire_config().with_limit::<MAX_QUEUED_RECORD_BYTES>(),
        )
        .map_err(|e| corrupt(e.to_string()))?;
        let Record::FilingPassword(mut password) = record else {
            return Err(corrupt(
                "a filing-password entry holds another record".into(),
            ));
        };
        password.password.clear();
        let blanked = bincode::encode_to_vec(Record::FilingPassword(password), wire_config())
            .map_err(|e| corrupt(e.to_string()))?;
        tx.execute(
            "UPDATE return_queue SET record = $2 WHERE entry_id = $1",
            &[&entry_id, &blanked],
        )
        .map_err(rdb("blanking a sent filing password"))?;
    }
    Ok(())
}

/// The sequence state of the latest epoch of every channel: every sequence number up to
/// `highest_contiguous` arrived (sequences start at 1, so 0 means none yet), and `missing`
/// lists, ascending, the numbers above it not yet seen, up to the highest seen (at most
/// [`MAX_MISSING_SEQUENCES`] of them).
pub fn sequence_reports(
    client: &mut impl GenericClient,
) -> Result<Vec<SequenceReport>, ReturnError> {
    let limit = i64::try_from(MAX_MISSING_SEQUENCES).unwrap_or(i64::MAX);
    let rows = client
        .query(
            "WITH latest AS (
                 SELECT channel, max(epoch) AS epoch FROM bundles GROUP BY channel
             ), seen AS (
                 SELECT b.channel, b.epoch, b.sequence,
                        b.sequence - row_number() OVER (PARTITION BY b.channel ORDER BY b.sequence) AS run
                 FROM bundles b JOIN latest l ON l.channel = b.channel AND l.epoch = b.epoch
             ), state AS (
                 SELECT channel, epoch,
                        coalesce(max(sequence) FILTER (WHERE run = 0), 0) AS contiguous,
                        max(sequence) AS highest
                 FROM seen GROUP BY channel, epoch
             )
             SELECT s.channel, s.epoch, s.contiguous,
                    coalesce((SELECT array_agg(n ORDER BY n) FROM (
                        SELECT n FROM generate_series(s.contiguous + 1, s.highest) AS n
                        WHERE NOT EXISTS (SELECT 1 FROM bundles b
                                          WHERE b.channel = s.channel AND b.epoch = s.epoch
                                            AND b.sequence = n)
                        ORDER BY n LIMIT $1) gaps), '{}') AS missing
             FROM state s ORDER BY s.channel",
            &[&limit],
        )
        .map_err(rdb("reading sequence state"))?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let channel: i64 = row.get(0);
            let epoch: i64 = row.get(1);
            let contiguous: i64 = row.get(2);
            let missing: Vec<i64> = row.get(3);
            SequenceReport {
                channel: u32::try_from(channel).unwrap_or(u32::MAX),
                epoch: epoch.unsigned_abs(),
                highest_contiguous: contiguous.unsigned_abs(),
                missing: missing.into_iter().map(i64::unsigned_abs).collect(),
            }
        })
        .collect())
}

/// How many queue entries wait to go out.
pub fn pending_count(client: &mut impl GenericClient) -> Result<i64, ReturnError> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM return_queue WHERE sent_in IS NULL",
            &[],
        )
        .map_err(rdb("counting the return queue"))?
        .get(0))
}
