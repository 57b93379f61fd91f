//! Publishing retained bundles again: those a crashed export recorded but never published, those
//! unacknowledged past the resend age, and those the inner side reports missing. Orphan files a
//! run wrote without recording them are removed here too.

use keys::ChannelId;
use outer::store::ledger::{self, RetainedBundle};

use super::settings::{ExportReport, ExportSettings};
use super::{OuterError, OuterHost};
use crate::spool::{self, Spool};

/// Publishes recorded bundles that never reached the outbox and removes retained files that no
/// committed bundle owns.
pub(super) fn recover(
    host: &OuterHost,
    spool: &Spool,
    channel: ChannelId,
    now: i64,
    report: &mut ExportReport,
) -> Result<(), OuterError> {
    let (unpublished, known) = host.store.read_blocking(|conn| {
        Ok((
            ledger::unpublished_bundles_on(conn, channel)?,
            ledger::unacknowledged_file_names_on(conn)?,
        ))
    })?;
    for RetainedBundle {
        id,
        sequence,
        file_name,
    } in unpublished
    {
        let path = spool.retained.join(&file_name);
        spool::copy_durable(&path, &spool.outbox, &file_name)?;
        record_publication(host, id, now)?;
        report.republished.push(sequence);
    }
    for path in spool::list_bundles(&spool.retained)? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !known.contains(&name) {
            spool::remove_durable(&path)?;
            report.orphans_removed += 1;
        }
    }
    Ok(())
}

/// Publishes again every unacknowledged bundle last sent more than the resend age ago.
pub(super) fn resend_due(
    host: &OuterHost,
    spool: &Spool,
    settings: &ExportSettings,
    report: &mut ExportReport,
) -> Result<(), OuterError> {
    let cutoff = settings.now.saturating_sub(settings.resend_after_seconds);
    let channel = settings.channel;
    let due = host
        .store
        .read_blocking(|conn| ledger::bundles_due_on(conn, channel, cutoff))?;
    let sent = republish(host, spool, settings.channel, &due, settings.now)?;
    report.republished.extend(sent);
    Ok(())
}

/// Records the first publication of the retained bundle `id` (copied to the outbox at `now`).
pub(super) fn record_publication(
    host: &OuterHost,
    id: bundle_format::BundleId,
    now: i64,
) -> Result<(), OuterError> {
    host.store
        .write_blocking(move |conn| ledger::record_publication_on(conn, &id, now, true))?;
    Ok(())
}

/// Publishes the retained bundles with these sequence numbers (in the channel's current epoch)
/// to the outbox again; returns the sequence numbers actually published.
pub fn republish(
    host: &OuterHost,
    spool: &Spool,
    channel: ChannelId,
    sequences: &[u64],
    now: i64,
) -> Result<Vec<u64>, OuterError> {
    let mut sent = Vec::new();
    for &sequence in sequences {
        let row = host
            .store
            .read_blocking(|conn| ledger::retained_bundle_on(conn, channel, sequence))?;
        let Some(RetainedBundle {
            id,
            file_name: name,
            ..
        }) = row
        else {
            continue;
        };
        let retained = spool.retained.join(&name);
        if !retained.exists() {
            tracing::error!(target: "sluice::audit", event = "bundle.resend-impossible",
                sequence, file = %name, "retained bundle file is missing; it cannot be re-sent");
            continue;
        }
        spool::copy_durable(&retained, &spool.outbox, &name)?;
        host.store
            .write_blocking(move |conn| ledger::record_publication_on(conn, &id, now, false))?;
        tracing::info!(target: "sluice::audit", event = "bundle.republished", channel = channel.0,
            sequence, file = %name, "published a retained bundle again");
        sent.push(sequence);
    }
    Ok(sent)
}
