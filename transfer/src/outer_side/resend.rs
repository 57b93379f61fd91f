//! Publishing retained bundles again: those a crashed export recorded but never published, those
//! unacknowledged past the resend age, those the inner side reports missing, and those it
//! refused for their signer (signed again with the current key first). Orphan files a run wrote
//! without recording them are removed here too.

use keys::{ChannelId, Signer};
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

/// Signs every bundle the inner side refused for its signer again with `signer` (the current
/// key) and publishes it. The signed message stays exactly what it was, so the bundle keeps its
/// id, sequence number, chain link and range, and its ack later names what this store holds. A
/// bundle whose own validity has passed cannot go again this way: it stays refused, its
/// versions waiting with the reason on their status, and the run reports it.
pub(super) fn sign_refused_again(
    host: &OuterHost,
    spool: &Spool,
    signer: &dyn Signer,
    settings: &ExportSettings,
    report: &mut ExportReport,
) -> Result<(), OuterError> {
    let channel = settings.channel;
    let refused = host
        .store
        .read_blocking(|conn| outer::store::refused_bundles_on(conn, channel))?;
    for RetainedBundle {
        id,
        sequence,
        file_name,
    } in refused
    {
        let path = spool.retained.join(&file_name);
        let resealed = std::fs::read(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))
            .and_then(|file| reseal(&file, signer, settings.now));
        let file = match resealed {
            Ok(file) => file,
            Err(why) => {
                tracing::error!(target: "sluice::audit", event = "bundle.not-signed-again",
                    channel = channel.0, sequence, bundle = %id, reason = %why,
                    "a bundle the inner side refused cannot be signed again");
                report.not_signed_again.push((sequence, why));
                continue;
            }
        };
        spool::write_atomic(&spool.retained, &file_name, |f| {
            std::io::Write::write_all(f, &file)
        })?;
        spool::copy_durable(&path, &spool.outbox, &file_name)?;
        let now = settings.now;
        host.store
            .write_blocking(move |conn| outer::store::record_signed_again_on(conn, &id, now))?;
        tracing::warn!(target: "sluice::audit", event = "bundle.signed-again",
            channel = channel.0, sequence, bundle = %id, key = %signer.key_id(),
            "signed a bundle the inner side refused again with the current key");
        report.signed_again.push(sequence);
    }
    Ok(())
}

/// The bundle `file` with its signed message sealed again by `signer`, or why not.
fn reseal(file: &[u8], signer: &dyn Signer, now: i64) -> Result<Vec<u8>, String> {
    let envelope = bundle_format::envelope::open(file, bundle_format::bundle::MAX_FILE_BYTES)
        .map_err(|e| format!("the retained copy does not open: {e}"))?;
    let (header, _) =
        bundle_format::Header::parse(envelope.message, bundle_format::header::MAX_CONTENT_BYTES)
            .map_err(|e| format!("the retained copy's header does not parse: {e}"))?;
    if now > header.expires {
        return Err(format!(
            "its validity ended at {} (Unix seconds); the inner side would refuse it as expired",
            header.expires
        ));
    }
    bundle_format::envelope::seal(signer, &envelope.comment_text(), envelope.message)
        .map_err(|e| format!("signing it again: {e}"))
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
