//! Publishing retained bundles again: those a crashed export recorded but never published, those
//! unacknowledged past the resend age, and those the inner side reports missing. Orphan files a
//! run wrote without recording them are removed here too.

use std::collections::BTreeSet;

use keys::ChannelId;
use rusqlite::{OptionalExtension, params};

use super::settings::{ExportReport, ExportSettings};
use super::{OuterError, OuterHost, db, u64_of};
use crate::common::i64_of;
use crate::spool::{self, Spool};

/// A recorded bundle not yet in the outbox: id, sequence, file name.
pub(super) type Unpublished = (Vec<u8>, i64, String);

/// Publishes recorded bundles that never reached the outbox and removes retained files that no
/// committed bundle owns.
pub(super) fn recover(
    host: &OuterHost,
    spool: &Spool,
    channel: ChannelId,
    now: i64,
    report: &mut ExportReport,
) -> Result<(), OuterError> {
    let (unpublished, known): (Vec<Unpublished>, BTreeSet<String>) =
        host.store.read_blocking(|conn| {
            let mut stmt = conn
                .prepare(
                    // A bundle acknowledged already needs no publishing (its retained copy is
                    // gone): export was killed after putting it in the outbox and before
                    // recording that, and the carrier took it in between.
                    "SELECT bundle_id, sequence, file_name FROM transfer_outbox
                     WHERE channel = ?1 AND published_at IS NULL AND acknowledged_at IS NULL
                     ORDER BY sequence",
                )
                .map_err(db("reading the outbox index"))?;
            let unpublished = stmt
                .query_map([channel.0], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(db("reading the outbox index"))?;
            let mut stmt = conn
                .prepare("SELECT file_name FROM transfer_outbox WHERE acknowledged_at IS NULL")
                .map_err(db("reading the outbox index"))?;
            let known = stmt
                .query_map([], |row| row.get(0))
                .and_then(|rows| rows.collect::<Result<BTreeSet<String>, _>>())
                .map_err(db("reading the outbox index"))?;
            Ok((unpublished, known))
        })?;
    for (id, sequence, name) in unpublished {
        let path = spool.retained.join(&name);
        spool::copy_durable(&path, &spool.outbox, &name)?;
        record_publication(host, id, now)?;
        report.republished.push(u64_of(sequence));
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
    let channel = settings.channel.0;
    let due: Vec<u64> = host.store.read_blocking(|conn| {
        let mut stmt = conn
            .prepare(
                "SELECT sequence FROM transfer_outbox
                 WHERE channel = ?1 AND acknowledged_at IS NULL AND published_at IS NOT NULL
                   AND last_sent_at < ?2 ORDER BY sequence",
            )
            .map_err(db("reading the outbox index"))?;
        stmt.query_map(params![channel, cutoff], |row| row.get::<_, i64>(0))
            .and_then(|rows| rows.map(|r| r.map(u64_of)).collect::<Result<Vec<_>, _>>())
            .map_err(db("reading the outbox index"))
    })?;
    let sent = republish(host, spool, settings.channel, &due, settings.now)?;
    report.republished.extend(sent);
    Ok(())
}

/// Records the first publication of the retained bundle `id` (copied to the outbox at `now`).
pub(super) fn record_publication(
    host: &OuterHost,
    id: Vec<u8>,
    now: i64,
) -> Result<(), OuterError> {
    host.store.write_blocking(move |conn| {
        conn.execute(
            "UPDATE transfer_outbox SET published_at = ?2, last_sent_at = ?2,
                    send_count = send_count + 1 WHERE bundle_id = ?1",
            params![id, now],
        )
        .map_err(db("recording a publication"))
    })?;
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
        let row: Option<(Vec<u8>, String)> = host.store.read_blocking(|conn| {
            conn.query_row(
                "SELECT o.bundle_id, o.file_name FROM transfer_outbox o
                 JOIN transfer_send_state s ON s.channel = o.channel AND s.epoch = o.epoch
                 WHERE o.channel = ?1 AND o.sequence = ?2 AND o.acknowledged_at IS NULL",
                params![channel.0, i64_of(sequence)],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(db("reading the outbox index"))
        })?;
        let Some((id, name)) = row else { continue };
        let retained = spool.retained.join(&name);
        if !retained.exists() {
            tracing::error!(target: "sluice::audit", event = "bundle.resend-impossible",
                sequence, file = %name, "retained bundle file is missing; it cannot be re-sent");
            continue;
        }
        spool::copy_durable(&retained, &spool.outbox, &name)?;
        host.store.write_blocking(move |conn| {
            conn.execute(
                "UPDATE transfer_outbox SET last_sent_at = ?2, send_count = send_count + 1
                 WHERE bundle_id = ?1",
                params![id, now],
            )
            .map_err(db("recording a publication"))
        })?;
        tracing::info!(target: "sluice::audit", event = "bundle.republished", channel = channel.0,
            sequence, file = %name, "published a retained bundle again");
        sent.push(sequence);
    }
    Ok(sent)
}
