//! `import`: submissions, heartbeat and keyset bundles from the inbox, verified, re-checked
//! against the filing rules, judged against their channel's chain and applied to PostgreSQL in
//! one transaction with their ledger row each; a keyset bundle installs the next keyset version.

use std::path::Path;

use bundle_format::chain::{self, Verdict};
use bundle_format::records::{BundleRefusal, Record, ReturnReceipt};
use bundle_format::{BundleId, Header, Kind, VerifiedBundle};
use keys::{ChannelId, Role};
use postgres::{Client, Transaction};

use super::keysets::install_recorded_keysets;
use super::ledger::channel_state;
use super::{InnerError, channel_transaction, db, locked_transaction};
use crate::common::pipeline::{self, Prepared, ReceivingSide, Taken, Verification};
use crate::common::receive::{self, InboxFileReport, Received};
use crate::examine::Refusal;
use crate::keysets::{KeysetReceipt, KeysetStore};
use crate::outcome::FileResult;
use crate::recheck;
use crate::spool::{self, QuarantineReason, Spool};
use bundle_format::encryption::Identities;

/// What `import` is told.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// The channels submissions are accepted from.
    pub channels: Vec<ChannelId>,
    /// Now, Unix seconds.
    pub now: i64,
    /// The age identities encrypted submissions bundles are decrypted with.
    pub identities: Identities,
    /// The largest scan a submission may carry, bytes (`max_scan_bytes`).
    pub max_scan_bytes: usize,
}

/// What happened to one inbox file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportFileReport {
    /// File name as found.
    pub file: String,
    /// Applied, a duplicate, or quarantined.
    pub result: FileResult,
    /// Bundle id, if known.
    pub bundle_id: Option<String>,
    /// Kind, if verified.
    pub kind: Option<String>,
    /// Channel, if known.
    pub channel: Option<u32>,
    /// Sequence, if known.
    pub sequence: Option<u64>,
    /// Submission versions applied now, by outcome name.
    pub outcomes: std::collections::BTreeMap<String, usize>,
    /// Sequence numbers found missing before this bundle (a gap), if any.
    pub gap: Option<(u64, u64)>,
    /// Why it was quarantined.
    pub reason: Option<String>,
    /// For `record.breaks-filing-rule`: the first record and field that break a filing rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filing_rule: Option<crate::recheck::FilingRuleBreach>,
    /// For a duplicate: return bundles published again because the outer side evidently
    /// lacks their acks.
    pub returns_resent: Vec<String>,
    /// For a keyset bundle: the version it carried and whether it was installed.
    pub keyset: Option<KeysetReceipt>,
    /// For a submissions bundle refused as a whole for its signer: whether the refusal was
    /// queued for the return channel, so that its sender sends it again under its current key.
    pub refusal_returned: bool,
    /// The return receipts the bundle carried and what became of each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub receipts: Vec<ReceiptReport>,
}

/// One return receipt an imported bundle carried: how far its sender has applied a return
/// channel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReceiptReport {
    /// The return channel acknowledged.
    pub return_channel: u32,
    /// Its epoch.
    pub epoch: u64,
    /// Every return bundle up to this sequence number was applied outside, the sender says.
    pub through: u64,
    /// `recorded` (the node's mark moved forward, capped at the last bundle sent), `behind`
    /// (the mark stood there already) or `unknown-epoch` (nothing was sent in that epoch).
    pub taken: &'static str,
}

/// What one `import` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// One entry per inbox file, in the order handled.
    pub files: Vec<ImportFileReport>,
}

impl ImportReport {
    /// Files with `result`.
    pub fn count(&self, result: FileResult) -> usize {
        self.files.iter().filter(|f| f.result == result).count()
    }
}

/// Imports every bundle in the inbox, in chain order. Bundles are verified with the newest
/// version in `keysets`; a keyset bundle that carries the next version installs it there, and
/// the bundles after it in the same run are verified with that version.
pub fn import(
    client: &mut Client,
    spool: &Spool,
    keysets: &mut KeysetStore,
    settings: &ImportSettings,
) -> Result<ImportReport, InnerError> {
    import_with_progress(client, spool, keysets, settings, &mut |_, _| {})
}

/// [`import`], calling `progress(done, total)` after each file.
///
/// While one file is imported (mostly PostgreSQL's work), the next is read and verified on a
/// thread of its own, its filing rules re-checked, with a copy of the keyset version current
/// then. It is used only if that version is still the current one when its turn comes (a
/// keyset bundle installs the next version: the files after it are verified again with that),
/// and only if it verified: a file refused is read and verified again in its turn, where its
/// refusal may depend on this side's ledger. So at most two bundles are held at once.
pub fn import_with_progress(
    client: &mut Client,
    spool: &Spool,
    keysets: &mut KeysetStore,
    settings: &ImportSettings,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImportReport, InnerError> {
    spool.create_all()?;
    install_recorded_keysets(client, keysets, settings.now)?;
    let files = std::thread::scope(|scope| {
        let mut ahead = None;
        receive::each_inbox_file(spool, progress, |path, next| {
            let verified = ahead.take().and_then(
                |(version, reading): (u64, std::thread::ScopedJoinHandle<'_, _>)| {
                    let verified: Option<(Received, recheck::Rechecker)> = reading
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    verified.filter(|_| version == keysets.version())
                },
            );
            if let Some(next) = next {
                let (next, keyset) = (next.to_owned(), keysets.current().clone());
                let version = keysets.version();
                ahead = Some((
                    version,
                    scope.spawn(move || verify_ahead(&next, &keyset, settings)),
                ));
            }
            import_verified(client, spool, keysets, settings, path, verified)
        })
    })?;
    Ok(ImportReport { files })
}

/// The file at `path` read and verified with `keyset`, its versions re-checked as they were
/// decoded; `None` if it is refused (see [`receive::verify_ahead`]).
fn verify_ahead(
    path: &Path,
    keyset: &keys::Keyset,
    settings: &ImportSettings,
) -> Option<(Received, recheck::Rechecker)> {
    let mut rechecker = recheck::Rechecker::default();
    let received = receive::verify_ahead(
        path,
        keyset,
        Role::OuterBundle,
        &settings.channels,
        settings.now,
        &settings.identities,
        &mut |record| <Importer<'_, '_> as ReceivingSide>::keep(&mut rechecker, record),
    )?;
    Some((received, rechecker))
}

/// Queues a [`BundleRefusal`] for the return channel when `refusal` refuses a submissions
/// bundle of an accepted channel as a whole for its signer (a key revoked, expired or no longer
/// listed by now) and its signature holds under a key a trusted keyset lists for that channel:
/// a bundle its sender really wrote, of which nothing was applied. The sender then signs it
/// again with its current key, so no version stays in transit for good. Anything else (a forged
/// or tampered file) returns nothing: only the quarantine says why. Returns whether a refusal
/// was queued.
///
/// The notice names the bundle by its id, the SHA-256 of its signed message; the outer side acts
/// only on an unacknowledged bundle of its own with that id, and what it does (send the same
/// message again) is harmless even for a notice it did not need.
fn return_signer_refusal(
    client: &mut Client,
    keysets: &KeysetStore,
    settings: &ImportSettings,
    path: &Path,
    refusal: &Refusal,
) -> Result<bool, InnerError> {
    let (Some(header), Some(id)) = (refusal.header.as_deref(), refusal.id) else {
        return Ok(false);
    };
    if !crate::examine::signer_refused_since(refusal)
        || header.kind != Kind::Submissions
        || !settings.channels.contains(&header.channel)
    {
        return Ok(false);
    }
    let Ok(bytes) = crate::examine::read_file(path) else {
        return Ok(false);
    };
    let made_by_its_sender =
        crate::examine::signed_by_a_listed_key(&bytes, keysets, Role::OuterBundle, header.channel)
            && bundle_format::envelope::open(&bytes, bundle_format::bundle::MAX_FILE_BYTES)
                .is_ok_and(|envelope| bundle_format::BundleId::of_message(envelope.message) == id);
    if !made_by_its_sender {
        return Ok(false);
    }
    let notice = BundleRefusal {
        bundle_id: id.0,
        channel: header.channel.0,
        epoch: header.epoch,
        sequence: header.sequence,
        code: within_text_limit(&refusal.code),
        reason: within_text_limit(&refusal.reason),
    };
    let mut tx = channel_transaction(client, header.channel)?;
    inner::returns::queue_bundle_refusal(&mut tx, &notice, settings.now)?;
    tx.commit().map_err(db("queueing a bundle refusal"))?;
    tracing::warn!(target: "sluice::audit", event = "bundle.refusal-returned",
        channel = header.channel.0, sequence = header.sequence, bundle = %id,
        code = %refusal.code, "refused a submissions bundle for its signer; the refusal goes back \
        so that its sender signs it again with its current key");
    Ok(true)
}

/// `text` cut to the wire's text limit at a character boundary, so that a long refusal reason
/// cannot make the return bundle carrying it unwritable.
fn within_text_limit(text: &str) -> String {
    let mut end = text.len().min(bundle_format::records::MAX_TEXT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Verifies, judges and imports one file from wherever it is, then archives or quarantines it.
/// A keyset bundle's keyset is judged against the current version of `keysets` and, if it is
/// the next one, recorded with the bundle's ledger row and installed after the commit.
pub fn import_file(
    client: &mut Client,
    spool: &Spool,
    keysets: &mut KeysetStore,
    settings: &ImportSettings,
    path: &Path,
) -> Result<ImportFileReport, InnerError> {
    import_verified(client, spool, keysets, settings, path, None)
}

/// [`import_file`] for a file `verified` already by [`verify_ahead`], if it was.
fn import_verified(
    client: &mut Client,
    spool: &Spool,
    keysets: &mut KeysetStore,
    settings: &ImportSettings,
    path: &Path,
    verified: Option<(Received, recheck::Rechecker)>,
) -> Result<ImportFileReport, InnerError> {
    let check = Verification {
        role: Role::OuterBundle,
        channels: &settings.channels,
        now: settings.now,
        identities: &settings.identities,
    };
    pipeline::receive_file(
        &mut Importer { client, settings },
        &check,
        spool,
        keysets,
        path,
        verified,
    )
}

/// The inner import as a receiving side: submissions, heartbeat and keyset bundles into
/// PostgreSQL.
struct Importer<'c, 's> {
    client: &'c mut Client,
    settings: &'s ImportSettings,
}

/// The import's transaction, open with its locks from the chain verdict to the commit.
struct Held<'a> {
    tx: Transaction<'a>,
    settings: &'a ImportSettings,
}

/// What the import's checks before the chain verdict keep.
struct Kept {
    /// The submission versions in the bundle.
    count: usize,
    /// The return receipts it carries.
    receipts: Vec<ReturnReceipt>,
}

impl ReceivingSide for Importer<'_, '_> {
    type Report = ImportFileReport;
    type Error = InnerError;
    type Held<'a>
        = Held<'a>
    where
        Self: 'a;
    type Kept = Kept;
    /// The submission versions imported.
    type Committed = usize;

    type Seen = recheck::Rechecker;

    // The filing rules are re-checked as the verification decodes each version. The versions
    // are then read again from the bundle's message by the import
    // (`inner::import::Submissions`): all of them decoded at once would take several times the
    // message's size.
    fn keep(rechecker: &mut recheck::Rechecker, record: &Record) -> bool {
        match record {
            Record::Submission(version) => {
                rechecker.see(version);
                false
            }
            _ => true,
        }
    }

    fn report(name: &str) -> ImportFileReport {
        ImportFileReport {
            file: name.to_owned(),
            ..ImportFileReport::default()
        }
    }

    fn ledger_holds(&mut self, id: &BundleId) -> Result<bool, InnerError> {
        Ok(inner::ledger::inbound_holds(self.client, id)?)
    }

    fn refused(
        &mut self,
        keysets: &KeysetStore,
        path: &Path,
        refusal: &Refusal,
        report: &mut ImportFileReport,
    ) -> Result<(), InnerError> {
        report.refusal_returned =
            return_signer_refusal(self.client, keysets, self.settings, path, refusal)?;
        Ok(())
    }

    fn identified(report: &mut ImportFileReport, bundle: &VerifiedBundle) {
        report.bundle_id = Some(bundle.id.to_string());
        report.kind = Some(bundle.header.kind.to_string());
        report.channel = Some(bundle.header.channel.0);
        report.sequence = Some(bundle.header.sequence);
    }

    fn prepare(
        &mut self,
        received: &Received,
        rechecker: recheck::Rechecker,
    ) -> Result<Result<Prepared<Kept>, Refusal>, InnerError> {
        let (header, id) = (received.bundle.header, received.bundle.id);
        if !matches!(
            header.kind,
            Kind::Submissions | Kind::Heartbeat | Kind::Keyset
        ) {
            return Ok(Err(Refusal {
                code: "kind.not-importable".into(),
                reason: format!(
                    "a {} bundle cannot be imported here; it belongs on the outer host",
                    header.kind
                ),
                header: Some(Box::new(header)),
                id: Some(id),
                filing_rule: None,
            }));
        }
        // The return receipts (read with the records the verification kept: all but
        // submissions).
        let receipts = received
            .bundle
            .records
            .iter()
            .filter_map(|record| match record {
                Record::ReturnReceipt(receipt) => Some(*receipt),
                _ => None,
            })
            .collect();
        // Judged while the verification decoded the versions, before the transaction (no lock
        // held while it runs); acted on after the chain verdict: a bundle imported before is
        // still a duplicate, and a fork or rollback is named for what it is.
        let count = rechecker.seen();
        let breach = rechecker.finish().err();
        Ok(Ok(Prepared {
            kept: Kept { count, receipts },
            unless_duplicate: breach.map(|breach| Refusal {
                code: recheck::BREAKS_FILING_RULE.into(),
                reason: breach.to_string(),
                header: Some(Box::new(header)),
                id: Some(id),
                filing_rule: Some(breach),
            }),
        }))
    }

    fn judge<'a>(
        &'a mut self,
        header: &Header,
        id: BundleId,
    ) -> Result<(Verdict, Held<'a>), InnerError> {
        // A keyset bundle changes what every channel trusts: it is imported alone. Any other
        // bundle changes its own channel's ledger and receipts only.
        let mut tx = if header.kind == Kind::Keyset {
            locked_transaction(self.client)?
        } else {
            channel_transaction(self.client, header.channel)?
        };
        let (state, recorded, successor_claims) = channel_state(&mut tx, header)?;
        let mut verdict = chain::judge(header, id, &state, recorded, self.settings.now);
        if receive::may_apply(&verdict)
            && let Some(claimed) = successor_claims
            && claimed != id
        {
            verdict = Verdict::Fork {
                sequence: header.sequence,
                ours: claimed,
                theirs: id,
            };
        }
        let settings = self.settings;
        Ok((verdict, Held { tx, settings }))
    }

    fn duplicate(
        mut held: Held<'_>,
        spool: &Spool,
        bundle: &VerifiedBundle,
        report: &mut ImportFileReport,
    ) -> Result<(), InnerError> {
        // The outer side sends a bundle again only while it has no ack for it: the return
        // bundle that carried the ack, or one after it, was lost. Publishing the return
        // bundles sent since this one was imported that the node's newest receipt does not
        // cover heals that (the outer side skips any it has as duplicates); the receipt is
        // what keeps a replayed old bundle from re-sending the whole history.
        let header = bundle.header;
        let resend = inner::ledger::returns_to_resend(&mut held.tx, &bundle.id, header.channel)?;
        drop(held);
        for retained in &resend {
            let source = spool.retained.join(retained);
            if source.exists() {
                spool::copy_durable(&source, &spool.outbox, retained)?;
                report.returns_resent.push(retained.clone());
            }
        }
        tracing::info!(target: "sluice::audit", event = "bundle.duplicate", bundle = %bundle.id,
            channel = header.channel.0, sequence = header.sequence, file = %report.file,
            returns_resent = report.returns_resent.len(),
            "bundle imported before; nothing changed");
        Ok(())
    }

    fn gap(report: &mut ImportFileReport, header: &Header, missing: (u64, u64)) {
        report.gap = Some(missing);
        tracing::warn!(target: "sluice::audit", event = "gap.seen", channel = header.channel.0,
            first_missing = missing.0, last_missing = missing.1,
            "bundles missing before this one; applying it and reporting the gap");
    }

    fn apply(
        mut held: Held<'_>,
        _: &Spool,
        name: &str,
        received: Received,
        kept: Kept,
        next: Option<(u64, &[u8])>,
        report: &mut ImportFileReport,
    ) -> Result<Taken<usize>, InnerError> {
        let (header, id) = (received.bundle.header, received.bundle.id);
        let now = held.settings.now;
        let incoming = inner::import::IncomingBundle {
            submissions: submissions_of(&received, kept.count),
            max_scan_bytes: held.settings.max_scan_bytes,
            ..inner::import::IncomingBundle::verified(
                id,
                &header,
                received.bundle.signer,
                &[],
                &received.message,
            )
        };
        let applied = match inner::import::apply_bundle(&mut held.tx, &incoming, now) {
            Ok(applied) => applied,
            Err(inner::import::ApplyError::Fork {
                stored, incoming, ..
            }) => {
                return Ok(Taken::Refused(Refusal {
                    code: "chain.fork".into(),
                    reason: format!(
                        "fork at sequence {}: the ledger holds bundle {stored}, this file is \
                         {incoming}; raise the alarm",
                        header.sequence
                    ),
                    header: Some(Box::new(header)),
                    id: Some(id),
                    filing_rule: None,
                }));
            }
            // What the bundle itself holds and the store cannot take: this file is refused,
            // and the files after it in the run still import.
            Err(
                refused @ (inner::import::ApplyError::OutOfRange { .. }
                | inner::import::ApplyError::TooManySubmissions { .. }),
            ) => {
                return Ok(Taken::Refused(Refusal {
                    code: "bundle.not-storable".into(),
                    reason: refused.to_string(),
                    header: Some(Box::new(header)),
                    id: Some(id),
                    filing_rule: None,
                }));
            }
            Err(other) => return Err(InnerError::Apply(other)),
        };
        let tx = &mut held.tx;
        inner::ledger::record_inbound(
            tx,
            &inner::ledger::InboundRow {
                id,
                channel: header.channel,
                epoch: header.epoch,
                sequence: header.sequence,
                previous: header.previous,
                kind: header.kind.as_str().to_owned(),
                file_name: name.to_owned(),
            },
            now,
        )?;
        for receipt in &kept.receipts {
            let taken =
                inner::ledger::record_return_receipt(tx, header.channel, receipt, &id, now)?;
            if taken == inner::ledger::ReceiptTaken::UnknownEpoch {
                tracing::warn!(target: "sluice::audit", event = "receipt.unknown-epoch",
                    channel = header.channel.0, return_channel = receipt.channel,
                    epoch = receipt.epoch, "a return receipt names an epoch nothing was sent in; \
                    it covers nothing");
            }
            report.receipts.push(ReceiptReport {
                return_channel: receipt.channel,
                epoch: receipt.epoch,
                through: receipt.through,
                taken: taken.as_str(),
            });
        }
        if let Some((version, file)) = next {
            inner::ledger::record_keyset(
                tx,
                version,
                file,
                "received",
                Some((&id, header.channel, header.sequence)),
                now,
            )?;
        }
        held.tx.commit().map_err(db("committing the import"))?;
        crate::failpoint::hit("import.after-commit");
        for ack in &applied.outcomes {
            *report
                .outcomes
                .entry(format!("{:?}", ack.outcome).to_lowercase())
                .or_insert(0) += 1;
        }
        Ok(Taken::Committed(kept.count))
    }

    fn keyset_installed(report: &mut ImportFileReport, receipt: KeysetReceipt) {
        report.keyset = Some(receipt);
    }

    fn committed(
        &mut self,
        count: usize,
        _spool: &Spool,
        bundle: &BundleId,
        header: &Header,
        report: &mut ImportFileReport,
    ) -> Result<(), InnerError> {
        tracing::info!(target: "sluice::audit", event = "bundle.imported", bundle = %bundle,
            kind = header.kind.as_str(), channel = header.channel.0, epoch = header.epoch,
            sequence = header.sequence, submissions = count,
            outcomes = ?report.outcomes, "imported bundle");
        Ok(())
    }

    fn finished(report: &mut ImportFileReport, result: FileResult) {
        report.result = result;
    }
}

/// The submission versions of a received bundle, read from its message (`count` of them, as
/// its verification counted them), or none for a bundle of another kind.
fn submissions_of(received: &Received, count: usize) -> inner::import::Submissions<'_> {
    if received.bundle.header.kind == Kind::Submissions {
        inner::import::Submissions::InMessage {
            message: &received.message,
            header: received.bundle.header,
            count,
        }
    } else {
        inner::import::Submissions::Decoded(&[])
    }
}

impl InboxFileReport for ImportFileReport {
    fn quarantined(&mut self, reason: QuarantineReason, refusal: Refusal) {
        self.result = FileResult::Quarantined;
        self.bundle_id = reason.bundle_id;
        self.channel = reason.channel;
        self.sequence = reason.sequence;
        self.reason = Some(refusal.summary());
        self.filing_rule = refusal.filing_rule.map(|breach| *breach);
    }
}
