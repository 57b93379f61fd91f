//! What import, return and `publish-keyset` share on top of the inner database's ledger
//! functions ([`inner::ledger`]): the chain state of an incoming channel and publishing recorded
//! return bundles.

use bundle_format::BundleId;
use bundle_format::Header;
use bundle_format::chain::ChannelState;
use postgres::{Client, Transaction};

use super::InnerError;
use crate::common::receive::contiguous_state;
use crate::spool::{self, Spool};

/// The chain state of `header`'s channel, the bundle recorded at its place, and the
/// predecessor the bundle after it names (if that one arrived first).
pub(super) fn channel_state(
    tx: &mut Transaction<'_>,
    header: &Header,
) -> Result<(ChannelState, Option<BundleId>, Option<BundleId>), InnerError> {
    let chain = inner::ledger::inbound_chain(tx, header.channel, header.epoch, header.sequence)?;
    let state = contiguous_state(chain.epoch, chain.imported.iter().copied());
    Ok((state, chain.recorded, chain.successor_claims))
}

/// Publishes every recorded return bundle not yet in the outbox; returns how many.
pub(super) fn publish_recorded(
    client: &mut Client,
    spool: &Spool,
    now: i64,
) -> Result<usize, InnerError> {
    let rows = inner::ledger::unpublished_returns(client)?;
    let mut published = 0;
    for (id, name) in rows {
        spool::copy_durable(&spool.retained.join(&name), &spool.outbox, &name)?;
        inner::ledger::record_return_published(client, &id, now)?;
        published += 1;
    }
    Ok(published)
}
