//! `apply`: return bundles from the inbox, verified, judged against the return channel's chain
//! and applied to the outer store in one transaction with their ledger row each; keyset bundles
//! install the next keyset version. Whatever the inner side reports missing is published again.

use std::path::Path;

use bundle_format::Kind;
use bundle_format::chain::{self, Verdict};
use keys::{ChannelId, Role};

use outer::store::ledger::{self, KeysetOrigin, ReturnLedgerRow};

use super::keysets::install_recorded_keysets;
use super::ledger::{RangeFallback, apply_return_records, return_state};
use super::resend::republish;
use super::{OuterError, OuterHost};
use crate::common::receive::{self, InboxFileReport, chain_refusal};
use crate::examine::Refusal;
use crate::keysets::{KeysetReceipt, KeysetStore, Offer};
use crate::outcome::FileResult;
use crate::spool::{self, QuarantineReason, Spool};
use bundle_format::encryption::Identities;

/// What `apply` is told.
#[derive(Debug, Clone)]
pub struct ApplySettings {
    /// This host's submissions channel (acks and sequence reports for it are applied).
    pub channel: ChannelId,
    /// The channel return bundles arrive on.
    pub return_channel: ChannelId,
    /// Now, Unix seconds.
    pub now: i64,
    /// The age identities encrypted return bundles are decrypted with.
    pub identities: Identities,
}

/// What happened to one return bundle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApplyFileReport {
    /// The file name as found in the inbox.
    pub file: String,
    /// Applied, a duplicate, or quarantined.
    pub result: FileResult,
    /// Bundle id, if known.
    pub bundle_id: Option<String>,
    /// Sequence number, if known.
    pub sequence: Option<u64>,
    /// Versions whose payload was deleted by acks in it.
    pub payloads_deleted: usize,
    /// Ack entries that named nothing stored here (nothing was deleted for them).
    pub ack_mismatches: usize,
    /// Range acks that did not match this store's range for their bundle, with why and
    /// whether the bundle's retained copy stood in for them entry by entry.
    pub range_fallbacks: Vec<RangeFallback>,
    /// Status changes applied.
    pub status_changes: usize,
    /// Certificates stored.
    pub certificates: usize,
    /// Certificates revoked inside and no longer served here.
    pub certificates_revoked: usize,
    /// Public register entries stored (filings approved or changed inside).
    pub register_entries: usize,
    /// Filings removed from the public register (cancelled or revoked inside).
    pub register_removals: usize,
    /// Filing passwords stored (as a hash, and until their owner has seen them).
    pub filing_passwords: usize,
    /// Approved records stored or withdrawn (for filings whose first receipt this node
    /// issued).
    pub approved_records: usize,
    /// Bundles re-published because the inner side reported them missing.
    pub republished: Vec<u64>,
    /// This host's bundles the inner side refused as a whole for their signer, by sequence:
    /// their versions wait again, with the reason on their status, until the next export signs
    /// them again with the current key.
    pub bundles_refused: Vec<u64>,
    /// Why it was quarantined.
    pub reason: Option<String>,
    /// For a keyset bundle: the version it carried and whether it was installed.
    pub keyset: Option<KeysetReceipt>,
}

/// What one `apply` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplyReport {
    /// One entry per inbox file, in the order handled.
    pub files: Vec<ApplyFileReport>,
}

impl ApplyReport {
    /// Files with `result`.
    pub fn count(&self, result: FileResult) -> usize {
        self.files.iter().filter(|f| f.result == result).count()
    }
}

/// Applies every return bundle in the inbox, in chain order. Bundles are verified with the
/// newest version in `keysets`; a keyset bundle that carries the next version installs it
/// there, and the bundles after it in the same run are verified with that version.
pub fn apply(
    host: &OuterHost,
    spool: &Spool,
    keysets: &mut KeysetStore,
    settings: &ApplySettings,
) -> Result<ApplyReport, OuterError> {
    apply_with_progress(host, spool, keysets, settings, &mut |_, _| {})
}

/// [`apply`], calling `progress(done, total)` after each file.
pub fn apply_with_progress(
    host: &OuterHost,
    spool: &Spool,
    keysets: &mut KeysetStore,
    settings: &ApplySettings,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ApplyReport, OuterError> {
    spool.create_all()?;
    install_recorded_keysets(host, keysets, settings.now)?;
    let files = receive::each_inbox_file(spool, progress, |path| {
        apply_file(host, spool, keysets, settings, path)
    })?;
    Ok(ApplyReport { files })
}

/// Verifies, judges and applies one return bundle file from wherever it is, then archives or
/// quarantines it. A keyset bundle's keyset is judged against the current version of
/// `keysets` and, if it is the next one, recorded with the bundle's ledger row and installed
/// after the commit.
pub fn apply_file(
    host: &OuterHost,
    spool: &Spool,
    keysets: &mut KeysetStore,
    settings: &ApplySettings,
    path: &Path,
) -> Result<ApplyFileReport, OuterError> {
    let name = receive::file_name(path);
    let mut file_report = ApplyFileReport {
        file: name.clone(),
        result: FileResult::default(),
        bundle_id: None,
        sequence: None,
        payloads_deleted: 0,
        ack_mismatches: 0,
        range_fallbacks: Vec::new(),
        status_changes: 0,
        certificates: 0,
        certificates_revoked: 0,
        register_entries: 0,
        register_removals: 0,
        filing_passwords: 0,
        approved_records: 0,
        republished: Vec::new(),
        bundles_refused: Vec::new(),
        reason: None,
        keyset: None,
    };
    let received = receive::read_and_verify(
        path,
        keysets,
        Role::InnerReturn,
        &[settings.return_channel],
        settings.now,
        &settings.identities,
        &mut |_| true,
        |id| {
            host.store
                .read_blocking(|conn| ledger::return_ledger_holds_on(conn, id))
                .map_err(OuterError::from)
        },
    )?;
    let verified = match received {
        Ok(received) => received.bundle,
        Err(refusal) => {
            return receive::quarantine(spool, path, &name, refusal, settings.now, file_report);
        }
    };
    let header = verified.header;
    file_report.bundle_id = Some(verified.id.to_string());
    file_report.sequence = Some(header.sequence);
    let (state, recorded) = host
        .store
        .read_blocking(|conn| return_state(conn, settings.return_channel, &header))?;
    let verdict = chain::judge(&header, verified.id, &state, recorded, settings.now);
    match verdict {
        Verdict::Duplicate => {
            receive::archive(spool, path, &name)?;
            tracing::info!(target: "sluice::audit", event = "bundle.duplicate", bundle = %verified.id,
                sequence = header.sequence, file = %name, "return bundle applied before; nothing changed");
            file_report.result = FileResult::Duplicate;
            return Ok(file_report);
        }
        verdict if receive::may_apply(&verdict) => {}
        other => {
            let refusal = chain_refusal(&other, header, verified.id);
            return receive::quarantine(spool, path, &name, refusal, settings.now, file_report);
        }
    }
    let row = ReturnLedgerRow {
        id: verified.id,
        channel: settings.return_channel,
        epoch: header.epoch,
        sequence: header.sequence,
        previous: header.previous,
        file_name: name.clone(),
    };
    if header.kind == Kind::Keyset {
        return apply_keyset_file(
            host,
            spool,
            keysets,
            settings.now,
            path,
            verified,
            row,
            file_report,
        );
    }
    let records = verified.records;
    let channel = settings.channel;
    let now = settings.now;
    let retained = spool.retained.clone();
    let written = header.created;
    let applied = host.store.write_blocking(move |conn| {
        apply_return_records(conn, &records, channel, &row, &retained, (written, now))
    })?;
    let Some(applied) = applied else {
        // Another apply recorded it between the chain check and this transaction.
        receive::archive(spool, path, &name)?;
        file_report.result = FileResult::Duplicate;
        return Ok(file_report);
    };
    file_report.payloads_deleted = applied.payloads_deleted;
    file_report.ack_mismatches = applied.mismatched.len();
    file_report.range_fallbacks = applied.fallbacks;
    file_report.status_changes = applied.status_changes;
    file_report.certificates = applied.certificates;
    file_report.certificates_revoked = applied.certificates_revoked;
    file_report.register_entries = applied.register_entries;
    file_report.register_removals = applied.register_removals;
    file_report.filing_passwords = applied.filing_passwords;
    file_report.approved_records = applied.approved_records;
    for refused in &applied.refused {
        tracing::warn!(target: "sluice::audit", event = "bundle.refused-inside", channel = channel.0,
            sequence = refused.sequence, receipts = refused.receipts,
            "the inner side refused a bundle for its signer; its versions wait to go out again \
             under the current key");
        file_report.bundles_refused.push(refused.sequence);
    }
    for (receipt, version) in &applied.mismatched {
        tracing::warn!(target: "sluice::audit", event = "ack.mismatch", receipt = %receipt,
            version, "ack names a version or hash not stored here; nothing deleted");
    }
    crate::failpoint::hit("apply.after-commit");
    // Files move only after the commit: an acknowledged bundle's retained copy goes, and what
    // the inner side reports missing goes out again.
    for retained in &applied.acknowledged_files {
        let retained = spool.retained.join(retained);
        if retained.exists() {
            spool::remove_durable(&retained)?;
        }
    }
    if !applied.missing.is_empty() {
        tracing::warn!(target: "sluice::audit", event = "gap.reported", channel = channel.0,
            missing = ?applied.missing, "inner side reports bundles missing; publishing them again");
        file_report.republished = republish(host, spool, channel, &applied.missing, now)?;
    }
    receive::archive(spool, path, &name)?;
    tracing::info!(target: "sluice::audit", event = "bundle.applied", bundle = %verified.id,
        channel = header.channel.0, sequence = header.sequence,
        payloads_deleted = file_report.payloads_deleted, status_changes = file_report.status_changes,
        certificates = file_report.certificates,
        certificates_revoked = file_report.certificates_revoked,
        register_entries = file_report.register_entries,
        register_removals = file_report.register_removals,
        filing_passwords = file_report.filing_passwords,
        approved_records = file_report.approved_records, "applied return bundle");
    file_report.result = FileResult::Applied;
    Ok(file_report)
}

/// Applies a verified keyset bundle whose chain verdict allows it: judges its keyset, records
/// the ledger row (and the keyset, if it is the next version) in one transaction, installs the
/// keyset after the commit, then archives the file. A refused keyset quarantines the bundle and
/// records nothing.
#[allow(clippy::too_many_arguments)] // apply_file's state, handed over whole
pub(super) fn apply_keyset_file(
    host: &OuterHost,
    spool: &Spool,
    keysets: &mut KeysetStore,
    now: i64,
    path: &Path,
    verified: bundle_format::VerifiedBundle,
    row: ReturnLedgerRow,
    mut file_report: ApplyFileReport,
) -> Result<ApplyFileReport, OuterError> {
    let header = verified.header;
    let name = row.file_name.clone();
    let offer = match crate::keysets::judge_carried(keysets, &verified.records, now) {
        Ok(offer) => offer,
        Err(refusal) => {
            let refusal = receive::keyset_refusal(refusal, header, verified.id);
            return receive::quarantine(spool, path, &name, refusal, now, file_report);
        }
    };
    let next = match &offer.0 {
        Offer::Next(next) => Some((next.version(), offer.1.clone())),
        Offer::AlreadyTrusted { .. } => None,
    };
    let recorded = host.store.write_blocking(move |conn| {
        if ledger::return_ledger_holds_on(conn, &row.id)? {
            return Ok(false);
        }
        ledger::record_return_on(conn, &row, now)?;
        if let Some((version, file)) = &next {
            ledger::record_keyset_on(
                conn,
                *version,
                file,
                KeysetOrigin::Received,
                Some((&row.id, row.channel, row.sequence)),
                now,
            )?;
        }
        Ok(true)
    })?;
    if recorded {
        crate::failpoint::hit("apply.after-commit");
        file_report.keyset = Some(crate::keysets::install_offer(
            keysets,
            offer.0,
            &verified.id,
        )?);
    }
    receive::archive(spool, path, &name)?;
    if recorded {
        tracing::info!(target: "sluice::audit", event = "bundle.applied", bundle = %verified.id,
            kind = "keyset", channel = header.channel.0, sequence = header.sequence,
            "applied keyset bundle");
        file_report.result = FileResult::Applied;
    } else {
        // Another apply recorded it between the chain check and this transaction.
        file_report.result = FileResult::Duplicate;
    }
    Ok(file_report)
}

impl InboxFileReport for ApplyFileReport {
    fn quarantined(&mut self, reason: QuarantineReason, refusal: Refusal) {
        self.result = FileResult::Quarantined;
        self.bundle_id = reason.bundle_id;
        self.sequence = reason.sequence;
        self.reason = Some(refusal.summary());
    }
}
