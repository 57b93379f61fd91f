//! `apply`: return bundles from the inbox, verified, judged against the return channel's chain
//! and applied to the outer store in one transaction with their ledger row each; keyset bundles
//! install the next keyset version. Whatever the inner side reports missing is published again.

use std::path::Path;

use bundle_format::chain::{self, Verdict};
use bundle_format::records::Record;
use bundle_format::{BundleId, Header, Kind, VerifiedBundle};
use keys::{ChannelId, Role};

use outer::store::ledger::{self, KeysetOrigin, ReturnLedgerRow};

use super::keysets::install_recorded_keysets;
use super::ledger::{RangeFallback, apply_return_records, return_state};
use super::resend::republish;
use super::{OuterError, OuterHost};
use crate::common::pipeline::{self, Prepared, ReceivingSide, Taken, Verification};
use crate::common::receive::{self, InboxFileReport, Received};
use crate::examine::Refusal;
use crate::keysets::{KeysetReceipt, KeysetStore};
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
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplyFileReport {
    /// The file name as found in the inbox.
    pub file: String,
    /// Applied, a duplicate, or quarantined.
    pub result: FileResult,
    /// Bundle id, if known.
    pub bundle_id: Option<String>,
    /// Sequence number, if known.
    pub sequence: Option<u64>,
    /// Versions whose payload was deleted by acks in it, or, for a version kept for the access
    /// provider's check after its ack, by a status change in it that moved the receipt past the
    /// check.
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
    let files = receive::each_inbox_file(spool, progress, |path, _| {
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
    let channels = [settings.return_channel];
    let check = Verification {
        role: Role::InnerReturn,
        channels: &channels,
        now: settings.now,
        identities: &settings.identities,
    };
    pipeline::receive_file(
        &mut Applier { host, settings },
        &check,
        spool,
        keysets,
        path,
        None,
    )
}

/// The outer apply as a receiving side: return and keyset bundles into the outer store. Its
/// store is written by one writer thread, so nothing is held between the chain verdict and the
/// write: the write checks the ledger again and says when another run recorded the bundle
/// meanwhile.
#[derive(Clone, Copy)]
struct Applier<'h> {
    host: &'h OuterHost,
    settings: &'h ApplySettings,
}

/// What an applied bundle leaves to do after the commit.
enum Committed {
    /// A keyset bundle: nothing but its audit line.
    Keyset,
    /// A return bundle: the retained copies its acks free and the bundles the inner side
    /// reports missing.
    Return {
        acknowledged_files: Vec<String>,
        missing: Vec<u64>,
    },
}

impl<'h> ReceivingSide for Applier<'h> {
    type Report = ApplyFileReport;
    type Error = OuterError;
    type Held<'a>
        = Applier<'h>
    where
        Self: 'a;
    type Kept = ();
    type Committed = Committed;

    type Seen = ();

    fn keep((): &mut (), _: &Record) -> bool {
        true
    }

    fn report(name: &str) -> ApplyFileReport {
        ApplyFileReport {
            file: name.to_owned(),
            ..ApplyFileReport::default()
        }
    }

    fn ledger_holds(&mut self, id: &BundleId) -> Result<bool, OuterError> {
        self.host
            .store
            .read_blocking(|conn| ledger::return_ledger_holds_on(conn, id))
            .map_err(OuterError::from)
    }

    fn refused(
        &mut self,
        _: &KeysetStore,
        _: &Path,
        _: &Refusal,
        _: &mut ApplyFileReport,
    ) -> Result<(), OuterError> {
        Ok(())
    }

    fn identified(report: &mut ApplyFileReport, bundle: &VerifiedBundle) {
        report.bundle_id = Some(bundle.id.to_string());
        report.sequence = Some(bundle.header.sequence);
    }

    fn prepare(
        &mut self,
        _: &Received,
        (): (),
    ) -> Result<Result<Prepared<()>, Refusal>, OuterError> {
        Ok(Ok(Prepared {
            kept: (),
            unless_duplicate: None,
        }))
    }

    fn judge<'a>(
        &'a mut self,
        header: &Header,
        id: BundleId,
    ) -> Result<(Verdict, Applier<'h>), OuterError> {
        let channel = self.settings.return_channel;
        let (state, recorded) = self
            .host
            .store
            .read_blocking(|conn| return_state(conn, channel, header))?;
        let verdict = chain::judge(header, id, &state, recorded, self.settings.now);
        Ok((verdict, *self))
    }

    fn duplicate(
        _: Applier<'h>,
        _: &Spool,
        bundle: &VerifiedBundle,
        report: &mut ApplyFileReport,
    ) -> Result<(), OuterError> {
        tracing::info!(target: "sluice::audit", event = "bundle.duplicate", bundle = %bundle.id,
            sequence = bundle.header.sequence, file = %report.file,
            "return bundle applied before; nothing changed");
        Ok(())
    }

    fn gap(_: &mut ApplyFileReport, _: &Header, _: (u64, u64)) {}

    fn apply(
        held: Applier<'h>,
        spool: &Spool,
        name: &str,
        received: Received,
        (): (),
        next: Option<(u64, &[u8])>,
        report: &mut ApplyFileReport,
    ) -> Result<Taken<Committed>, OuterError> {
        let Applier { host, settings } = held;
        let verified = received.bundle;
        let header = verified.header;
        let row = ReturnLedgerRow {
            id: verified.id,
            channel: settings.return_channel,
            epoch: header.epoch,
            sequence: header.sequence,
            previous: header.previous,
            file_name: name.to_owned(),
        };
        let now = settings.now;
        if header.kind == Kind::Keyset {
            let next = next.map(|(version, file)| (version, file.to_vec()));
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
            if !recorded {
                return Ok(Taken::RecordedMeanwhile);
            }
            crate::failpoint::hit("apply.after-commit");
            return Ok(Taken::Committed(Committed::Keyset));
        }
        let records = verified.records;
        let channel = settings.channel;
        let retained = spool.retained.clone();
        let written = header.created;
        let applied = host.store.write_blocking(move |conn| {
            apply_return_records(conn, &records, channel, &row, &retained, (written, now))
        })?;
        let Some(applied) = applied else {
            return Ok(Taken::RecordedMeanwhile);
        };
        report.payloads_deleted = applied.payloads_deleted;
        report.ack_mismatches = applied.mismatched.len();
        report.range_fallbacks = applied.fallbacks;
        report.status_changes = applied.status_changes;
        report.certificates = applied.certificates;
        report.certificates_revoked = applied.certificates_revoked;
        report.register_entries = applied.register_entries;
        report.register_removals = applied.register_removals;
        report.filing_passwords = applied.filing_passwords;
        report.approved_records = applied.approved_records;
        for refused in &applied.refused {
            tracing::warn!(target: "sluice::audit", event = "bundle.refused-inside", channel = channel.0,
                sequence = refused.sequence, receipts = refused.receipts,
                "the inner side refused a bundle for its signer; its versions wait to go out again \
                 under the current key");
            report.bundles_refused.push(refused.sequence);
        }
        for (receipt, version) in &applied.mismatched {
            tracing::warn!(target: "sluice::audit", event = "ack.mismatch", receipt = %receipt,
                version, "ack names a version or hash not stored here; nothing deleted");
        }
        crate::failpoint::hit("apply.after-commit");
        Ok(Taken::Committed(Committed::Return {
            acknowledged_files: applied.acknowledged_files,
            missing: applied.missing,
        }))
    }

    fn keyset_installed(report: &mut ApplyFileReport, receipt: KeysetReceipt) {
        report.keyset = Some(receipt);
    }

    fn committed(
        &mut self,
        committed: Committed,
        spool: &Spool,
        bundle: &BundleId,
        header: &Header,
        report: &mut ApplyFileReport,
    ) -> Result<(), OuterError> {
        let (acknowledged_files, missing) = match committed {
            Committed::Keyset => {
                tracing::info!(target: "sluice::audit", event = "bundle.applied", bundle = %bundle,
                    kind = "keyset", channel = header.channel.0, sequence = header.sequence,
                    "applied keyset bundle");
                return Ok(());
            }
            Committed::Return {
                acknowledged_files,
                missing,
            } => (acknowledged_files, missing),
        };
        // Files move only after the commit: an acknowledged bundle's retained copy goes, and
        // what the inner side reports missing goes out again.
        for retained in &acknowledged_files {
            let retained = spool.retained.join(retained);
            if retained.exists() {
                spool::remove_durable(&retained)?;
            }
        }
        let channel = self.settings.channel;
        if !missing.is_empty() {
            tracing::warn!(target: "sluice::audit", event = "gap.reported", channel = channel.0,
                missing = ?missing, "inner side reports bundles missing; publishing them again");
            report.republished = republish(self.host, spool, channel, &missing, self.settings.now)?;
        }
        tracing::info!(target: "sluice::audit", event = "bundle.applied", bundle = %bundle,
            channel = header.channel.0, sequence = header.sequence,
            payloads_deleted = report.payloads_deleted, status_changes = report.status_changes,
            certificates = report.certificates,
            certificates_revoked = report.certificates_revoked,
            register_entries = report.register_entries,
            register_removals = report.register_removals,
            filing_passwords = report.filing_passwords,
            approved_records = report.approved_records, "applied return bundle");
        Ok(())
    }

    fn finished(report: &mut ApplyFileReport, result: FileResult) {
        report.result = result;
    }
}

impl InboxFileReport for ApplyFileReport {
    fn quarantined(&mut self, reason: QuarantineReason, refusal: Refusal) {
        self.result = FileResult::Quarantined;
        self.bundle_id = reason.bundle_id;
        self.sequence = reason.sequence;
        self.reason = Some(refusal.summary());
    }
}
