//! `return`: the return queue (acks, status changes, certificates) and the sequence state of
//! every incoming channel into a signed return bundle, recorded and marked sent in one
//! transaction and then published; a heartbeat when there is nothing new to say.

use bundle_format::records::{RangeAck, Record};
use bundle_format::{BundleId, BundleSink, BundleWriter, Kind, SealedBundle, WriterConfig};
use keys::{ChannelId, Signer};
use postgres::Client;

use inner::ledger::{ReturnPosition, ReturnSentRow};

use super::ledger::publish_recorded;
use super::{InnerError, locked_transaction};
use crate::common::send::{BundleSummary, write_retained};
use crate::spool::{self, Spool};

/// What `return` is told.
#[derive(Debug, Clone)]
pub struct ReturnSettings {
    /// The return channel.
    pub channel: ChannelId,
    /// The submissions channel of the one intake node this return channel serves: only its
    /// entries and its sequence report go out. `None`: every node's (a shared return channel).
    pub for_channel: Option<ChannelId>,
    /// Lifetime of the bundle, seconds.
    pub validity_seconds: i64,
    /// Most queue entries in one return bundle.
    pub max_entries: usize,
    /// Now, Unix seconds.
    pub now: i64,
    /// Who the return bundles are encrypted to on the medium (the outer's identities, as the
    /// keyset names them); empty: not encrypted.
    pub recipients: Vec<bundle_format::encryption::Recipient>,
}

/// What one `return` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReturnReport {
    /// Bundles written (usually one), as published in the outbox.
    pub written: Vec<BundleSummary>,
    /// Acks carried.
    pub acks: usize,
    /// Status changes carried.
    pub status_changes: usize,
    /// Certificates carried.
    pub certificates: usize,
    /// Certificate revocations carried.
    pub certificate_revocations: usize,
    /// Public register entries and removals carried.
    pub register_records: usize,
    /// Filing passwords carried (each once, to the node of the receipt approved).
    pub filing_passwords: usize,
    /// Approved records (and withdrawals) carried, each to the node of the filing's first
    /// receipt.
    pub approved_records: usize,
    /// Notices of submissions bundles refused as a whole for their signer carried.
    pub bundle_refusals: usize,
    /// Whether the only bundle written is a heartbeat: nothing was pending and the sequence
    /// state is what the last return bundle said.
    pub heartbeat: bool,
    /// Channels whose sequence state was reported, with their missing sequence numbers.
    pub sequence_reports: Vec<(u32, u64, Vec<u64>)>,
    /// Return bundles recorded but not yet published, published now (crash recovery).
    pub recovered: usize,
    /// Return bundles deleted from the retained outbox because every intake node this return
    /// channel serves has acknowledged them with a receipt.
    pub pruned: usize,
    /// Return bundles of this channel still retained after the run.
    pub retained: u64,
}

/// Writes one return bundle with every pending queue entry (up to the limit) and the current
/// sequence state of every channel. When nothing is pending and the sequence state is what the
/// last return bundle said, the bundle is a heartbeat that carries only that state.
pub fn write_return(
    client: &mut Client,
    spool: &Spool,
    signer: &dyn Signer,
    settings: &ReturnSettings,
) -> Result<ReturnReport, InnerError> {
    spool.create_all()?;
    let mut report = ReturnReport {
        recovered: publish_recorded(client, spool, settings.now)?,
        ..ReturnReport::default()
    };
    // One bundle per batch of entries, until the queue is drained.
    let batch = max_entries(settings);
    while write_one_return(client, spool, signer, settings, &mut report)? == batch {}
    report.pruned = prune_acknowledged(client, spool, settings)?;
    report.retained =
        inner::ledger::retained_returns(client, Some(settings.channel))?.unsigned_abs();
    Ok(report)
}

/// Deletes the retained copies of the return bundles every node this channel serves has
/// acknowledged (the one node of `for_channel`, or every node that has sent anything), then
/// records them deleted. A node without a receipt keeps them all; a crash between the two steps
/// leaves rows whose files are gone, which the next run records.
fn prune_acknowledged(
    client: &mut Client,
    spool: &Spool,
    settings: &ReturnSettings,
) -> Result<usize, InnerError> {
    let served = match settings.for_channel {
        Some(channel) => vec![channel],
        None => inner::ledger::sending_channels(client)?,
    };
    let prunable = inner::ledger::prunable_returns(client, settings.channel, &served)?;
    if prunable.is_empty() {
        return Ok(0);
    }
    spool::remove_all_durable(
        &spool.retained,
        prunable.iter().map(|(_, name)| name.as_str()),
    )?;
    let ids: Vec<BundleId> = prunable.iter().map(|(id, _)| *id).collect();
    inner::ledger::record_returns_pruned(client, &ids, settings.now)?;
    tracing::info!(target: "sluice::audit", event = "returns.pruned", channel = settings.channel.0,
        bundles = prunable.len(), "deleted retained return bundles every node has acknowledged");
    Ok(prunable.len())
}

pub(super) fn max_entries(settings: &ReturnSettings) -> usize {
    settings
        .max_entries
        .min(bundle_format::payload::MAX_RECORDS_PER_BUNDLE.saturating_sub(1024))
}

/// A writer for the next bundles of `kind` on the return channel, starting at `position`
/// (epoch, next sequence number, previous bundle id): created now and valid for the configured
/// time, with at most `part_records` records a part. Each part goes into the retained outbox,
/// its file name noted in `names`.
pub(super) fn return_writer<'a>(
    signer: &'a dyn Signer,
    spool: &Spool,
    settings: &ReturnSettings,
    kind: Kind,
    (epoch, next_sequence, previous): (u64, u64, BundleId),
    part_records: usize,
    names: &'a mut Vec<String>,
) -> Result<BundleWriter<'a, impl BundleSink + 'a>, InnerError> {
    let config = WriterConfig {
        kind,
        channel: settings.channel,
        epoch,
        next_sequence,
        previous,
        created: settings.now,
        expires: settings.now.saturating_add(settings.validity_seconds),
        part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
        part_records,
    };
    let retained = spool.retained.clone();
    let sink = move |sealed: &SealedBundle<'_>| -> std::io::Result<()> {
        names.push(write_retained(&retained, sealed)?);
        Ok(())
    };
    let recipients = if kind == Kind::Return {
        settings.recipients.clone()
    } else {
        Vec::new()
    };
    Ok(BundleWriter::new(signer, config, sink)?.encrypt_to(recipients)?)
}

/// Writes one return bundle; returns how many queue entries it carried.
pub(super) fn write_one_return(
    client: &mut Client,
    spool: &Spool,
    signer: &dyn Signer,
    settings: &ReturnSettings,
    report: &mut ReturnReport,
) -> Result<usize, InnerError> {
    let mut tx = locked_transaction(client)?;
    let pending =
        inner::returns::pending_returns_for(&mut tx, max_entries(settings), settings.for_channel)?;
    let reports_encoded = bincode::encode_to_vec(
        &pending.sequence_reports,
        bundle_format::records::wire_config(),
    )
    .unwrap_or_default();
    let ReturnPosition {
        epoch,
        next_sequence,
        previous,
        last_reports,
    } = inner::ledger::return_position(&mut tx, settings.channel)?;
    let unchanged = last_reports.as_deref() == Some(&reports_encoded[..]);
    if pending.entries.is_empty() && unchanged && !report.written.is_empty() {
        // This run has published already; the queue is drained.
        return Ok(0);
    }
    // With nothing to carry and nothing new to report, the bundle is the return channel's
    // heartbeat: the sequence reports alone, so that the outer side can tell a quiet inner
    // side from a dead one (its `status` shows when the last return bundle was applied).
    report.heartbeat = pending.entries.is_empty() && unchanged;
    let mut names: Vec<String> = Vec::new();
    let mut writer = return_writer(
        signer,
        spool,
        settings,
        Kind::Return,
        (epoch, next_sequence, previous),
        bundle_format::payload::MAX_RECORDS_PER_BUNDLE,
        &mut names,
    )?;
    report.sequence_reports.clear();
    for sequence_report in &pending.sequence_reports {
        writer.push(&Record::SequenceReport(sequence_report.clone()))?;
        report.sequence_reports.push((
            sequence_report.channel,
            sequence_report.epoch,
            sequence_report.missing.clone(),
        ));
    }
    let mut placed: Vec<(i64, u64)> = Vec::with_capacity(pending.entries.len());
    for entry in &pending.entries {
        match &entry.record {
            Record::Ack(_) | Record::ArrivalAck(_) => report.acks += 1,
            Record::StatusChange(_) => report.status_changes += 1,
            Record::Certificate(_) => report.certificates += 1,
            Record::BundleRefusal(_) => report.bundle_refusals += 1,
            Record::CertificateRevocation(_) => report.certificate_revocations += 1,
            Record::RegisterEntry(_) | Record::RegisterRemoval(_) => report.register_records += 1,
            Record::FilingPassword(_) => report.filing_passwords += 1,
            Record::ApprovedRecord(_) => report.approved_records += 1,
            _ => {}
        }
        // An ack goes out in its range form (wire version 2): the bundle's members digest
        // and only the versions that are exceptions, instead of one entry per version. An
        // import queues it so itself, with its time (`ArrivalAck`); an ack queued by an import
        // before that, whose arrivals went out as status changes, is turned into a range ack
        // here.
        let sequence = match &entry.record {
            Record::Ack(ack) => writer.push(&Record::RangeAck(RangeAck::of_ack(ack)))?,
            record => writer.push(record)?,
        };
        placed.push((entry.entry_id, sequence));
    }
    let written = writer.finish()?;
    crate::failpoint::hit("return.after-bundle-written");
    for (bundle, name) in written.iter().zip(names.iter()) {
        let ids: Vec<i64> = placed
            .iter()
            .filter(|(_, sequence)| *sequence == bundle.header.sequence)
            .map(|(id, _)| *id)
            .collect();
        if !ids.is_empty() {
            inner::returns::mark_sent(&mut tx, &ids, bundle.id.0, settings.now)?;
        }
        inner::ledger::record_return_sent(
            &mut tx,
            &ReturnSentRow {
                id: bundle.id,
                channel: settings.channel,
                epoch,
                sequence: bundle.header.sequence,
                file_name: name.clone(),
                entries: bundle.records,
                reports: reports_encoded.clone(),
            },
            settings.now,
        )?;
        report.written.push(BundleSummary {
            bundle_id: bundle.id.to_string(),
            kind: Kind::Return.as_str().into(),
            sequence: bundle.header.sequence,
            records: bundle.records,
            file: name.clone(),
        });
    }
    if let Err(error) = tx.commit() {
        for name in &names {
            spool::remove_durable(&spool.retained.join(name))?;
        }
        return Err(InnerError::Database {
            step: "committing the return bundle",
            source: error,
        });
    }
    publish_recorded(client, spool, settings.now)?;
    for bundle in &report.written {
        tracing::info!(target: "sluice::audit", event = "bundle.returned", bundle = %bundle.bundle_id,
            sequence = bundle.sequence, records = bundle.records, file = %bundle.file,
            "published return bundle");
    }
    Ok(pending.entries.len())
}
