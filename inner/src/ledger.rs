//! The transfer ledgers of the inner database, behind typed functions: the chain ledger of
//! every bundle imported (`transfer_inbound`), the return bundles written with the sequence
//! reports they carried (`transfer_return_sent`), and the keyset versions installed here
//! (`transfer_keysets`). `sluice-transfer` drives these; it never reads or writes the tables
//! itself.
//!
//! Each function takes any client (`&mut impl GenericClient`), so the transfer tool runs it in
//! the transaction that must hold it together with the import or the return queue's marking;
//! every row names its channel.

use bundle_format::BundleId;
use keys::ChannelId;
use postgres::GenericClient;

use crate::store::{StoreError, db};

fn i64_of(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A bundle id read from a column; a column of the wrong length reads as the zero id, which
/// matches no real bundle.
fn id_of(bytes: &[u8]) -> BundleId {
    let mut id = [0u8; 32];
    if bytes.len() == 32 {
        id.copy_from_slice(bytes);
    }
    BundleId(id)
}

/// The chain-ledger row of one bundle imported (or found a duplicate of one imported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRow {
    /// Bundle id.
    pub id: BundleId,
    /// The channel it arrived on.
    pub channel: ChannelId,
    /// Its epoch.
    pub epoch: u64,
    /// Its sequence number.
    pub sequence: u64,
    /// The id of the bundle before it in its chain.
    pub previous: BundleId,
    /// Its kind's name (`submissions`, `heartbeat`, `keyset`).
    pub kind: String,
    /// The file it came in.
    pub file_name: String,
}

/// Writes the chain-ledger row of a bundle imported at `now`, in the import's transaction.
pub fn record_inbound(
    client: &mut impl GenericClient,
    row: &InboundRow,
    now: i64,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO transfer_inbound (bundle_id, channel, epoch, sequence, previous, kind,
                                           file_name, imported_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &&row.id.0[..],
                &i64::from(row.channel.0),
                &i64_of(row.epoch),
                &i64_of(row.sequence),
                &&row.previous.0[..],
                &row.kind,
                &row.file_name,
                &now,
            ],
        )
        .map_err(db("recording the bundle in the chain ledger"))?;
    Ok(())
}

/// Whether the chain ledger holds the bundle `id` (imported before).
pub fn inbound_holds(client: &mut impl GenericClient, id: &BundleId) -> Result<bool, StoreError> {
    Ok(client
        .query_opt(
            "SELECT 1 FROM transfer_inbound WHERE bundle_id = $1",
            &[&&id.0[..]],
        )
        .map_err(db("looking up the chain ledger"))?
        .is_some())
}

/// What the chain ledger knows of an incoming channel, for judging one bundle on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundChain {
    /// The newest epoch imported, if any.
    pub epoch: Option<u64>,
    /// Every bundle imported in that epoch, by sequence.
    pub imported: Vec<(u64, BundleId)>,
    /// The bundle imported at the asked-for epoch and sequence, if one was.
    pub recorded: Option<BundleId>,
    /// The `previous` link of the bundle imported right after the asked-for sequence, if it
    /// arrived first (a healed gap): it names its predecessor.
    pub successor_claims: Option<BundleId>,
}

/// The chain ledger of `channel` as it bears on a bundle at (`epoch`, `sequence`).
pub fn inbound_chain(
    client: &mut impl GenericClient,
    channel: ChannelId,
    epoch: u64,
    sequence: u64,
) -> Result<InboundChain, StoreError> {
    let channel = i64::from(channel.0);
    let newest: Option<i64> = client
        .query_one(
            "SELECT max(epoch) FROM transfer_inbound WHERE channel = $1",
            &[&channel],
        )
        .map_err(db("reading the chain state"))?
        .get(0);
    let mut imported = Vec::new();
    if let Some(newest) = newest {
        imported = client
            .query(
                "SELECT sequence, bundle_id FROM transfer_inbound
                 WHERE channel = $1 AND epoch = $2 ORDER BY sequence",
                &[&channel, &newest],
            )
            .map_err(db("reading the chain state"))?
            .iter()
            .map(|row| (row.get::<_, i64>(0).unsigned_abs(), id_of(row.get(1))))
            .collect();
    }
    let epoch = i64_of(epoch);
    let recorded = client
        .query_opt(
            "SELECT bundle_id FROM transfer_inbound
             WHERE channel = $1 AND epoch = $2 AND sequence = $3",
            &[&channel, &epoch, &i64_of(sequence)],
        )
        .map_err(db("reading the chain state"))?
        .map(|row| id_of(row.get(0)));
    let successor_claims = client
        .query_opt(
            "SELECT previous FROM transfer_inbound
             WHERE channel = $1 AND epoch = $2 AND sequence = $3",
            &[&channel, &epoch, &i64_of(sequence.saturating_add(1))],
        )
        .map_err(db("reading the chain state"))?
        .map(|row| id_of(row.get(0)));
    Ok(InboundChain {
        epoch: newest.map(i64::unsigned_abs),
        imported,
        recorded,
        successor_claims,
    })
}

/// Most return bundles one duplicate submissions bundle publishes again: a replayed old bundle
/// never floods the medium, and what is left goes with the next duplicate or receipt.
pub const MAX_RESEND_PER_DUPLICATE: i64 = 256;

/// File names of the return bundles to publish again because bundle `id`, imported before,
/// arrived again on `channel` (its sender evidently lacks an ack), in chain order: those
/// written since it was imported that are still retained and that the newest receipt from
/// `channel` does not cover (a node that sent no receipt yet gets every one since the import),
/// at most [`MAX_RESEND_PER_DUPLICATE`].
pub fn returns_to_resend(
    client: &mut impl GenericClient,
    id: &BundleId,
    channel: ChannelId,
) -> Result<Vec<String>, StoreError> {
    Ok(client
        .query(
            "SELECT r.file_name FROM transfer_return_sent r
             WHERE r.created >= (SELECT imported_at FROM transfer_inbound WHERE bundle_id = $1)
               AND r.pruned_at IS NULL
               AND NOT EXISTS (
                   SELECT 1 FROM transfer_return_receipts k
                   WHERE k.channel = $2 AND k.return_channel = r.channel
                     AND (r.epoch < k.epoch OR (r.epoch = k.epoch AND r.sequence <= k.through)))
             ORDER BY r.channel, r.epoch, r.sequence
             LIMIT $3",
            &[&&id.0[..], &i64::from(channel.0), &MAX_RESEND_PER_DUPLICATE],
        )
        .map_err(db("finding return bundles to send again"))?
        .iter()
        .map(|row| row.get(0))
        .collect())
}

/// What became of a return receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptTaken {
    /// It moved the node's mark forward (its `through`, capped at the last bundle sent in
    /// that epoch).
    Recorded {
        /// The mark now recorded.
        through: u64,
    },
    /// The mark already stood at or beyond it.
    Behind,
    /// It names an epoch in which nothing was sent on that return channel: it covers nothing.
    UnknownEpoch,
}

impl ReceiptTaken {
    /// Its name in reports: `recorded`, `behind` or `unknown-epoch`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptTaken::Recorded { .. } => "recorded",
            ReceiptTaken::Behind => "behind",
            ReceiptTaken::UnknownEpoch => "unknown-epoch",
        }
    }
}

/// Takes the receipt for `receipt.channel` that came on submissions channel `channel` in bundle
/// `id`: the node's mark moves forward only, and never past the last bundle sent, so a receipt
/// cannot make this side drop a return bundle it has not yet written.
pub fn record_return_receipt(
    client: &mut impl GenericClient,
    channel: ChannelId,
    receipt: &bundle_format::records::ReturnReceipt,
    id: &BundleId,
    now: i64,
) -> Result<ReceiptTaken, StoreError> {
    let sent: Option<i64> = client
        .query_one(
            "SELECT max(sequence) FROM transfer_return_sent WHERE channel = $1 AND epoch = $2",
            &[&i64::from(receipt.channel), &i64_of(receipt.epoch)],
        )
        .map_err(db("reading the return chain"))?
        .get(0);
    let Some(sent) = sent else {
        return Ok(ReceiptTaken::UnknownEpoch);
    };
    let through = receipt.through.min(sent.unsigned_abs());
    let moved = client
        .execute(
            "INSERT INTO transfer_return_receipts
                 (channel, return_channel, epoch, through, bundle_id, received_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (channel, return_channel) DO UPDATE
                 SET epoch = EXCLUDED.epoch, through = EXCLUDED.through,
                     bundle_id = EXCLUDED.bundle_id, received_at = EXCLUDED.received_at
                 WHERE (EXCLUDED.epoch, EXCLUDED.through)
                     > (transfer_return_receipts.epoch, transfer_return_receipts.through)",
            &[
                &i64::from(channel.0),
                &i64::from(receipt.channel),
                &i64_of(receipt.epoch),
                &i64_of(through),
                &&id.0[..],
                &now,
            ],
        )
        .map_err(db("recording a return receipt"))?;
    Ok(if moved == 1 {
        ReceiptTaken::Recorded { through }
    } else {
        ReceiptTaken::Behind
    })
}

/// The newest receipt of one intake node for one return channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnReceiptRow {
    /// The submissions channel it came on.
    pub channel: u32,
    /// The return channel it acknowledges.
    pub return_channel: u32,
    /// Epoch on the return channel.
    pub epoch: u64,
    /// Every return bundle up to this sequence number was applied outside.
    pub through: u64,
    /// When it arrived, Unix seconds.
    pub received_at: i64,
}

/// Every node's newest receipt, by submissions channel and return channel.
pub fn return_receipts(
    client: &mut impl GenericClient,
) -> Result<Vec<ReturnReceiptRow>, StoreError> {
    Ok(client
        .query(
            "SELECT channel, return_channel, epoch, through, received_at
             FROM transfer_return_receipts ORDER BY channel, return_channel",
            &[],
        )
        .map_err(db("reading the return receipts"))?
        .iter()
        .map(|row| ReturnReceiptRow {
            channel: u32::try_from(row.get::<_, i64>(0)).unwrap_or(u32::MAX),
            return_channel: u32::try_from(row.get::<_, i64>(1)).unwrap_or(u32::MAX),
            epoch: row.get::<_, i64>(2).unsigned_abs(),
            through: row.get::<_, i64>(3).unsigned_abs(),
            received_at: row.get(4),
        })
        .collect())
}

/// The submissions channels that have sent anything here: the nodes a shared return channel
/// serves.
pub fn sending_channels(client: &mut impl GenericClient) -> Result<Vec<ChannelId>, StoreError> {
    Ok(client
        .query(
            "SELECT DISTINCT channel FROM transfer_inbound
             WHERE kind IN ('submissions', 'heartbeat') ORDER BY channel",
            &[],
        )
        .map_err(db("reading the chain ledger"))?
        .iter()
        .filter_map(|row| u32::try_from(row.get::<_, i64>(0)).ok().map(ChannelId))
        .collect())
}

/// Most retained return bundles one `return` run deletes; the rest go in the next run.
pub const MAX_PRUNE_PER_RUN: i64 = 10_000;

/// The published return bundles of `return_channel` still retained that every node in `served`
/// has acknowledged with a receipt (id, file name), oldest first. A node that never sent a
/// receipt holds every bundle back; so does an empty `served`.
pub fn prunable_returns(
    client: &mut impl GenericClient,
    return_channel: ChannelId,
    served: &[ChannelId],
) -> Result<Vec<(BundleId, String)>, StoreError> {
    if served.is_empty() {
        return Ok(Vec::new());
    }
    let served: Vec<i64> = served.iter().map(|c| i64::from(c.0)).collect();
    Ok(client
        .query(
            "SELECT r.bundle_id, r.file_name FROM transfer_return_sent r
             WHERE r.channel = $1 AND r.pruned_at IS NULL AND r.published_at IS NOT NULL
               AND NOT EXISTS (
                   SELECT 1 FROM unnest($2::bigint[]) AS s(channel)
                   WHERE NOT EXISTS (
                       SELECT 1 FROM transfer_return_receipts k
                       WHERE k.channel = s.channel AND k.return_channel = r.channel
                         AND (r.epoch < k.epoch
                              OR (r.epoch = k.epoch AND r.sequence <= k.through))))
             ORDER BY r.epoch, r.sequence
             LIMIT $3",
            &[&i64::from(return_channel.0), &served, &MAX_PRUNE_PER_RUN],
        )
        .map_err(db("finding return bundles to delete"))?
        .iter()
        .map(|row| (id_of(row.get(0)), row.get(1)))
        .collect())
}

/// Records that the retained copies of return bundles `ids` were deleted at `now`.
pub fn record_returns_pruned(
    client: &mut impl GenericClient,
    ids: &[BundleId],
    now: i64,
) -> Result<(), StoreError> {
    let ids: Vec<&[u8]> = ids.iter().map(|id| &id.0[..]).collect();
    client
        .execute(
            "UPDATE transfer_return_sent SET pruned_at = $2 WHERE bundle_id = ANY($1)",
            &[&ids, &now],
        )
        .map_err(db("recording deleted return bundles"))?;
    Ok(())
}

/// How many return bundles of `return_channel` (of every return channel: `None`) are still
/// retained (written, not yet deleted).
pub fn retained_returns(
    client: &mut impl GenericClient,
    return_channel: Option<ChannelId>,
) -> Result<i64, StoreError> {
    let channel: Option<i64> = return_channel.map(|c| i64::from(c.0));
    Ok(client
        .query_one(
            "SELECT count(*) FROM transfer_return_sent
             WHERE ($1::bigint IS NULL OR channel = $1) AND pruned_at IS NULL",
            &[&channel],
        )
        .map_err(db("reading the return chain"))?
        .get(0))
}

/// When the last bundle of any kind, and the last heartbeat, arrived on `channel`.
pub fn inbound_activity(
    client: &mut impl GenericClient,
    channel: ChannelId,
) -> Result<(Option<i64>, Option<i64>), StoreError> {
    let row = client
        .query_one(
            "SELECT max(imported_at), max(imported_at) FILTER (WHERE kind = 'heartbeat')
             FROM transfer_inbound WHERE channel = $1",
            &[&i64::from(channel.0)],
        )
        .map_err(db("reading the chain ledger"))?;
    Ok((row.get(0), row.get(1)))
}

/// Where the next return bundle goes on a return channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnPosition {
    /// The channel's epoch.
    pub epoch: u64,
    /// The sequence number the next bundle gets.
    pub next_sequence: u64,
    /// The id of the last bundle written (the zero id before the first).
    pub previous: BundleId,
    /// The encoded sequence reports the last bundle carried (`None` before the first).
    pub last_reports: Option<Vec<u8>>,
}

/// Where the next return bundle goes on `channel`.
pub fn return_position(
    client: &mut impl GenericClient,
    channel: ChannelId,
) -> Result<ReturnPosition, StoreError> {
    let last = client
        .query_opt(
            "SELECT epoch, sequence, bundle_id, reports FROM transfer_return_sent
             WHERE channel = $1 ORDER BY epoch DESC, sequence DESC LIMIT 1",
            &[&i64::from(channel.0)],
        )
        .map_err(db("reading the return chain"))?;
    Ok(match &last {
        Some(row) => ReturnPosition {
            epoch: row.get::<_, i64>(0).unsigned_abs(),
            next_sequence: row.get::<_, i64>(1).unsigned_abs().saturating_add(1),
            previous: id_of(row.get(2)),
            last_reports: Some(row.get(3)),
        },
        None => ReturnPosition {
            epoch: 1,
            next_sequence: 1,
            previous: BundleId::ZERO,
            last_reports: None,
        },
    })
}

/// A return bundle written, as its ledger row records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnSentRow {
    /// Bundle id.
    pub id: BundleId,
    /// The return channel.
    pub channel: ChannelId,
    /// Its epoch.
    pub epoch: u64,
    /// Its sequence number.
    pub sequence: u64,
    /// Its file name in the retained outbox.
    pub file_name: String,
    /// Records it holds.
    pub entries: usize,
    /// The encoded sequence reports it carried.
    pub reports: Vec<u8>,
}

/// Records a return bundle written at `now`, in the transaction that marks its entries sent.
pub fn record_return_sent(
    client: &mut impl GenericClient,
    row: &ReturnSentRow,
    now: i64,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO transfer_return_sent (bundle_id, channel, epoch, sequence, file_name,
                                               entries, reports, created)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &&row.id.0[..],
                &i64::from(row.channel.0),
                &i64_of(row.epoch),
                &i64_of(row.sequence),
                &row.file_name,
                &i32::try_from(row.entries).unwrap_or(i32::MAX),
                &row.reports,
                &now,
            ],
        )
        .map_err(db("recording the return bundle"))?;
    Ok(())
}

/// Return bundles recorded but not yet published (id, file name), in chain order.
pub fn unpublished_returns(
    client: &mut impl GenericClient,
) -> Result<Vec<(BundleId, String)>, StoreError> {
    Ok(client
        .query(
            "SELECT bundle_id, file_name FROM transfer_return_sent
             WHERE published_at IS NULL ORDER BY channel, epoch, sequence",
            &[],
        )
        .map_err(db("reading the return chain"))?
        .iter()
        .map(|row| (id_of(row.get(0)), row.get(1)))
        .collect())
}

/// Records that return bundle `id` was published at `now`.
pub fn record_return_published(
    client: &mut impl GenericClient,
    id: &BundleId,
    now: i64,
) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE transfer_return_sent SET published_at = $2 WHERE bundle_id = $1",
            &[&&id.0[..], &now],
        )
        .map_err(db("recording a publication"))?;
    Ok(())
}

/// How many return bundles were written.
pub fn return_bundles_sent(client: &mut impl GenericClient) -> Result<i64, StoreError> {
    Ok(client
        .query_one("SELECT count(*) FROM transfer_return_sent", &[])
        .map_err(db("reading the return chain"))?
        .get(0))
}

/// Records keyset `version` (its signed file) as installed here, `received` in a keyset bundle
/// or `published` here, with the bundle that carried it (id, channel, sequence) if one did.
pub fn record_keyset(
    client: &mut impl GenericClient,
    version: u64,
    file: &[u8],
    origin: &str,
    bundle: Option<(&BundleId, ChannelId, u64)>,
    now: i64,
) -> Result<(), StoreError> {
    let id: Option<&[u8]> = bundle.map(|(id, _, _)| &id.0[..]);
    let channel = bundle.map(|(_, channel, _)| i64::from(channel.0));
    let sequence = bundle.map(|(_, _, sequence)| i64_of(sequence));
    client
        .execute(
            "INSERT INTO transfer_keysets (version, file, origin, bundle_id, channel, sequence,
                                           recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &i64_of(version),
                &file,
                &origin,
                &id,
                &channel,
                &sequence,
                &now,
            ],
        )
        .map_err(db("recording the installed keyset"))?;
    Ok(())
}

/// Names the bundle that carries keyset `version`, published here, once it is written.
pub fn record_keyset_bundle(
    client: &mut impl GenericClient,
    version: u64,
    id: &BundleId,
    channel: ChannelId,
    sequence: u64,
) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE transfer_keysets SET bundle_id = $2, channel = $3, sequence = $4
             WHERE version = $1",
            &[
                &i64_of(version),
                &&id.0[..],
                &i64::from(channel.0),
                &i64_of(sequence),
            ],
        )
        .map_err(db("recording the keyset bundle"))?;
    Ok(())
}

/// The signed files of the keyset versions recorded here above `version`, oldest first.
pub fn keyset_files_after(
    client: &mut impl GenericClient,
    version: u64,
) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    Ok(client
        .query(
            "SELECT version, file FROM transfer_keysets WHERE version > $1 ORDER BY version",
            &[&i64_of(version)],
        )
        .map_err(db("reading the installed keysets"))?
        .iter()
        .map(|row| (row.get::<_, i64>(0).unsigned_abs(), row.get(1)))
        .collect())
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
}

/// Every keyset version recorded here, oldest first.
pub fn recorded_keysets(
    client: &mut impl GenericClient,
) -> Result<Vec<RecordedKeysetRow>, StoreError> {
    Ok(client
        .query(
            "SELECT version, origin, channel, sequence, recorded_at FROM transfer_keysets
             ORDER BY version",
            &[],
        )
        .map_err(db("reading the installed keysets"))?
        .iter()
        .map(|row| RecordedKeysetRow {
            version: row.get::<_, i64>(0).unsigned_abs(),
            origin: row.get(1),
            channel: row
                .get::<_, Option<i64>>(2)
                .and_then(|c| u32::try_from(c).ok()),
            sequence: row.get::<_, Option<i64>>(3).map(i64::unsigned_abs),
            recorded_at: row.get(4),
        })
        .collect())
}

/// How keyset `version` was recorded here: its origin and whether a bundle carried it.
pub fn keyset_origin(
    client: &mut impl GenericClient,
    version: u64,
) -> Result<Option<(String, bool)>, StoreError> {
    Ok(client
        .query_opt(
            "SELECT origin, bundle_id IS NOT NULL FROM transfer_keysets WHERE version = $1",
            &[&i64_of(version)],
        )
        .map_err(db("reading the installed keysets"))?
        .map(|row| (row.get(0), row.get(1))))
}
