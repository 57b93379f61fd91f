//! The SQL of transfer's own tables in the inner database that import, return and
//! `publish-keyset` share: the chain state of an incoming channel, the position of the next
//! return bundle, the keyset versions recorded, and publishing recorded return bundles.

use bundle_format::BundleId;
use bundle_format::Header;
use bundle_format::chain::ChannelState;
use keys::ChannelId;
use postgres::{Client, Transaction};

use super::{InnerError, db};
use crate::common::receive::contiguous_state;
use crate::common::{i64_of, id_of};
use crate::spool::{self, Spool};

pub(super) fn record_keyset(
    tx: &mut Transaction<'_>,
    version: u64,
    file: &[u8],
    origin: &str,
    bundle: Option<(&BundleId, ChannelId, u64)>,
    now: i64,
) -> Result<(), InnerError> {
    let id: Option<&[u8]> = bundle.map(|(id, _, _)| &id.0[..]);
    let channel = bundle.map(|(_, channel, _)| i64::from(channel.0));
    let sequence = bundle.map(|(_, _, sequence)| i64_of(sequence));
    tx.execute(
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

pub(super) fn channel_state(
    tx: &mut Transaction<'_>,
    header: &Header,
) -> Result<(ChannelState, Option<BundleId>, Option<BundleId>), InnerError> {
    let channel = i64::from(header.channel.0);
    let epoch: Option<i64> = tx
        .query_one(
            "SELECT max(epoch) FROM transfer_inbound WHERE channel = $1",
            &[&channel],
        )
        .map_err(db("reading the chain state"))?
        .get(0);
    let mut recorded = Vec::new();
    if let Some(epoch) = epoch {
        recorded = tx
            .query(
                "SELECT sequence, bundle_id FROM transfer_inbound
                 WHERE channel = $1 AND epoch = $2 ORDER BY sequence",
                &[&channel, &epoch],
            )
            .map_err(db("reading the chain state"))?;
    }
    let state = contiguous_state(
        epoch.map(i64::unsigned_abs),
        recorded
            .iter()
            .map(|row| (row.get::<_, i64>(0).unsigned_abs(), id_of(row.get(1)))),
    );
    let epoch = i64_of(header.epoch);
    let recorded = tx
        .query_opt(
            "SELECT bundle_id FROM transfer_inbound
             WHERE channel = $1 AND epoch = $2 AND sequence = $3",
            &[&channel, &epoch, &i64_of(header.sequence)],
        )
        .map_err(db("reading the chain state"))?
        .map(|row| id_of(row.get(0)));
    // The bundle after this one, if it arrived first (a healed gap): it names its predecessor.
    let successor_claims = tx
        .query_opt(
            "SELECT previous FROM transfer_inbound
             WHERE channel = $1 AND epoch = $2 AND sequence = $3",
            &[&channel, &epoch, &i64_of(header.sequence.saturating_add(1))],
        )
        .map_err(db("reading the chain state"))?
        .map(|row| id_of(row.get(0)));
    Ok((state, recorded, successor_claims))
}

/// Where the next return bundle goes: epoch, sequence, the id before it, and the sequence
/// reports the last one carried (`None` before the first).
pub(super) type ReturnPosition = (u64, u64, BundleId, Option<Vec<u8>>);

/// Where the next return bundle goes on `channel`.
pub(super) fn return_position(
    tx: &mut Transaction<'_>,
    channel: ChannelId,
) -> Result<ReturnPosition, InnerError> {
    let last = tx
        .query_opt(
            "SELECT epoch, sequence, bundle_id, reports FROM transfer_return_sent
             WHERE channel = $1 ORDER BY epoch DESC, sequence DESC LIMIT 1",
            &[&i64::from(channel.0)],
        )
        .map_err(db("reading the return chain"))?;
    Ok(match &last {
        Some(row) => {
            let epoch: i64 = row.get(0);
            let sequence: i64 = row.get(1);
            let reports: Vec<u8> = row.get(3);
            (
                epoch.unsigned_abs(),
                sequence.unsigned_abs().saturating_add(1),
                id_of(row.get(2)),
                Some(reports),
            )
        }
        None => (1, 1, BundleId::ZERO, None),
    })
}

/// Publishes every recorded return bundle not yet in the outbox; returns how many.
pub(super) fn publish_recorded(
    client: &mut Client,
    spool: &Spool,
    now: i64,
) -> Result<usize, InnerError> {
    let rows = client
        .query(
            "SELECT bundle_id, file_name FROM transfer_return_sent
             WHERE published_at IS NULL ORDER BY channel, epoch, sequence",
            &[],
        )
        .map_err(db("reading the return chain"))?;
    let mut published = 0;
    for row in rows {
        let id: Vec<u8> = row.get(0);
        let name: String = row.get(1);
        spool::copy_durable(&spool.retained.join(&name), &spool.outbox, &name)?;
        client
            .execute(
                "UPDATE transfer_return_sent SET published_at = $2 WHERE bundle_id = $1",
                &[&id, &now],
            )
            .map_err(db("recording a publication"))?;
        published += 1;
    }
    Ok(published)
}
