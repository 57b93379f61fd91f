//! `export`: every pending submission version into signed bundles in the retained outbox, each
//! recorded as one outbox row naming the range of versions it holds (which moves the channel's
//! exported-through mark; nothing is written per version) and then published to the outbox; a
//! heartbeat when nothing is pending.

use bundle_format::records::Record;
use bundle_format::{BundleId, BundleWriter, Header, Kind, SealedBundle, WriterConfig};
use keys::Signer;
use outer::store::ledger::{self, OutboxBundle};
use outer::store::{self, PendingVersion};

use super::resend::{record_publication, recover, resend_due, sign_refused_again};
use super::settings::{ExportReport, ExportSettings};
use super::{BundleSummary, OuterError, OuterHost};
use crate::common::send::write_retained;
use crate::spool::{self, Spool};

/// Exports every pending submission version of the outer store into bundles in the outbox;
/// with nothing pending, writes one heartbeat. Also publishes again what is due.
pub fn export(
    host: &OuterHost,
    spool: &Spool,
    signer: &dyn Signer,
    settings: &ExportSettings,
) -> Result<ExportReport, OuterError> {
    export_with_progress(host, spool, signer, settings, &mut |_, _| {})
}

/// [`export`], calling `progress(versions_done, versions_pending_at_start)` after each bundle.
pub fn export_with_progress(
    host: &OuterHost,
    spool: &Spool,
    signer: &dyn Signer,
    settings: &ExportSettings,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ExportReport, OuterError> {
    spool.create_all()?;
    let mut report = ExportReport::default();
    recover(host, spool, settings.channel, settings.now, &mut report)?;
    sign_refused_again(host, spool, signer, settings, &mut report)?;
    resend_due(host, spool, settings, &mut report)?;
    // Every submissions bundle and the heartbeat also say how far this store has applied the
    // return channel, so that the inner side re-sends only what is missing and stops keeping
    // the rest; read once for the run.
    let receipts: Vec<Record> = host
        .store
        .read_blocking(ledger::return_receipts_on)?
        .into_iter()
        .map(Record::ReturnReceipt)
        .collect();
    let pending = host.store.read_blocking(ledger::pending_version_count_on)?;
    let pending = usize::try_from(pending).unwrap_or(0);
    let limit = settings.records_per_bundle;
    // A reader thread reads the next bundle's versions (from where the last batch ended) while
    // this one compresses, signs, writes and marks the previous bundle; one batch waits at most.
    std::thread::scope(|scope| -> Result<(), OuterError> {
        let (batch_out, batches) = std::sync::mpsc::sync_channel(1);
        let store = host.store();
        scope.spawn(move || {
            let mut after = None;
            loop {
                let batch =
                    store.read_blocking(|conn| store::pending_versions_after(conn, after, limit));
                let last = match &batch {
                    Ok(versions) => versions.last().map(|v| v.seq),
                    Err(_) => None,
                };
                // A closed channel: the export stopped on an error of its own.
                if batch_out.send(batch).is_err() || last.is_none() {
                    return;
                }
                after = last;
            }
        });
        for batch in batches {
            let versions = batch?;
            if versions.is_empty() {
                break;
            }
            write_bundle(
                host,
                spool,
                signer,
                settings,
                Kind::Submissions,
                (&[], &receipts),
                versions,
                &mut report,
            )?;
            progress(report.versions, pending.max(report.versions));
        }
        Ok(())
    })?;
    if report.written.is_empty() {
        write_bundle(
            host,
            spool,
            signer,
            settings,
            Kind::Heartbeat,
            (&[], &receipts),
            Vec::new(),
            &mut report,
        )?;
        report.heartbeat = true;
    }
    Ok(report)
}

pub(super) struct Written {
    id: BundleId,
    header: Header,
    name: String,
    records: usize,
}

/// Writes `leading` records (a keyset bundle's keyset), then `versions`, then `trailing` records
/// (the return receipts) into bundles of `kind`, records them with their version ranges in one
/// transaction, and publishes them.
#[allow(clippy::too_many_arguments)] // each is one thing the bundle needs; a struct would only rename them
pub(super) fn write_bundle(
    host: &OuterHost,
    spool: &Spool,
    signer: &dyn Signer,
    settings: &ExportSettings,
    kind: Kind,
    (leading, trailing): (&[Record], &[Record]),
    versions: Vec<PendingVersion>,
    report: &mut ExportReport,
) -> Result<(), OuterError> {
    let channel = settings.channel;
    let state = host
        .store
        .read_blocking(|conn| ledger::send_state_on(conn, channel))?;
    let config = WriterConfig {
        kind,
        channel,
        epoch: state.epoch,
        next_sequence: state.next_sequence,
        previous: state.previous,
        created: settings.now,
        expires: settings.now.saturating_add(settings.validity_seconds),
        part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
        // The trailing records follow the last version of the batch in the same bundle.
        part_records: settings.records_per_bundle.saturating_add(trailing.len()),
    };
    let mut files: Vec<(String, BundleId)> = Vec::new();
    let retained = spool.retained.clone();
    let sink = |sealed: &SealedBundle<'_>| -> std::io::Result<()> {
        files.push((write_retained(&retained, sealed)?, sealed.id));
        Ok(())
    };
    let recipients = if kind == Kind::Submissions {
        settings.recipients.clone()
    } else {
        Vec::new()
    };
    let mut writer = BundleWriter::new(signer, config, sink)?.encrypt_to(recipients)?;
    for record in leading {
        writer.push(record)?;
    }
    // Which bundle (by sequence) each version went into, in runs: the writer fills one bundle
    // before it starts the next, so each bundle's versions are one range of sequence numbers.
    let mut placed: Vec<(u64, Vec<PendingVersion>)> = Vec::new();
    for pending in versions {
        let sequence = writer.push_submission(&pending.checked()?)?;
        match placed.last_mut() {
            Some((last, members)) if *last == sequence => members.push(pending),
            _ => placed.push((sequence, vec![pending])),
        }
    }
    // After the versions, so that their positions in the bundle are what they were before
    // receipts existed.
    for record in trailing {
        writer.push(record)?;
    }
    let ranges: std::collections::BTreeMap<u64, ledger::VersionRange> = placed
        .iter()
        .filter_map(|(sequence, members)| Some((*sequence, store::range_of(members)?)))
        .collect();
    drop(placed);
    let written = writer.finish()?;
    crate::failpoint::hit("export.after-bundle-written");
    let bundles: Vec<Written> = written
        .iter()
        .zip(files.iter())
        .map(|(w, (name, _))| Written {
            id: w.id,
            header: w.header,
            name: name.clone(),
            records: w.records,
        })
        .collect();
    let expected = state.next_sequence;
    let rows: Vec<OutboxBundle> = bundles
        .iter()
        .map(|b| OutboxBundle {
            id: b.id,
            sequence: b.header.sequence,
            kind: kind.as_str().to_owned(),
            file_name: b.name.clone(),
            records: b.records,
            created: b.header.created,
            range: ranges.get(&b.header.sequence).copied(),
        })
        .collect();
    let marked: usize = ranges
        .values()
        .map(|r| usize::try_from(r.versions).unwrap_or(usize::MAX))
        .sum();
    let epoch = state.epoch;
    let kind_name = kind.as_str();
    let now = settings.now;
    let marked = host.store.write_blocking(move |conn| {
        let current = ledger::send_state_on(conn, channel)?;
        if current.next_sequence != expected {
            return Ok(Err(current.next_sequence));
        }
        ledger::record_bundles_on(conn, channel, epoch, &rows)?;
        Ok(Ok(marked))
    })?;
    let marked = match marked {
        Ok(marked) => marked,
        Err(found) => {
            for b in &bundles {
                spool::remove_durable(&spool.retained.join(&b.name))?;
            }
            return Err(OuterError::ConcurrentExport {
                channel: channel.0,
                expected,
                found,
            });
        }
    };
    report.versions += marked;
    for b in &bundles {
        spool::copy_durable(&spool.retained.join(&b.name), &spool.outbox, &b.name)?;
        crate::failpoint::hit("export.after-outbox-copy");
        record_publication(host, b.id, now)?;
        tracing::info!(target: "sluice::audit", event = "bundle.exported", kind = kind_name,
            channel = channel.0, epoch, sequence = b.header.sequence, bundle = %b.id,
            records = b.records, file = %b.name, "published bundle");
        report.written.push(BundleSummary {
            bundle_id: b.id.to_string(),
            kind: kind_name.to_owned(),
            sequence: b.header.sequence,
            records: b.records,
            file: b.name.clone(),
        });
    }
    Ok(())
}
