//! The one receiving pipeline: what becomes of an inbox file on either side, written once over a
//! small trait each side implements ([`ReceivingSide`]: the inner import, the outer apply).
//!
//! Every file goes the same way: it is read and verified with the current keyset (a refusal
//! quarantines it, after the side has had its say), the side checks what it can before taking
//! its ledger (a refusal found here waits for the chain verdict: a bundle received before is a
//! duplicate whatever else is wrong with it), the chain verdict is taken from the side's ledger,
//! and then the bundle is either archived as a duplicate, quarantined, or applied in one
//! transaction with its ledger row (and, for a keyset bundle, the next keyset version it
//! carries, which is installed only after the commit). What differs (which transaction, what is
//! applied, what a duplicate sends again, what is done after the commit) is the side's.

use std::path::Path;

use bundle_format::chain::Verdict;
use bundle_format::encryption::Identity;
use bundle_format::records::Record;
use bundle_format::{BundleId, Header, Kind, VerifiedBundle};
use keys::{ChannelId, Role};

use super::receive::{self, InboxFileReport, Received, chain_refusal, may_apply};
use crate::examine::Refusal;
use crate::keysets::{KeysetReceipt, KeysetStore, KeysetStoreError, Offer};
use crate::outcome::FileResult;
use crate::spool::{Spool, SpoolError};

/// What the pipeline needs to know of a side to verify its files.
pub(crate) struct Verification<'a> {
    /// The role whose keys sign what arrives here.
    pub(crate) role: Role,
    /// The channels accepted.
    pub(crate) channels: &'a [ChannelId],
    /// Now, Unix seconds.
    pub(crate) now: i64,
    /// The age identities encrypted payloads are opened with.
    pub(crate) identities: &'a [Identity],
}

/// What a side's checks before the chain verdict found.
pub(crate) struct Prepared<P> {
    /// What the side keeps for applying the bundle.
    pub(crate) kept: P,
    /// A refusal that quarantines the bundle only if the chain verdict would let it apply.
    pub(crate) unless_duplicate: Option<Refusal>,
}

/// What applying a bundle came to.
pub(crate) enum Taken<C> {
    /// Committed; `C` is what the side still does with it after the commit.
    Committed(C),
    /// Another run recorded the bundle between the chain verdict and the transaction.
    RecordedMeanwhile,
    /// The store cannot take what the bundle holds; nothing was written.
    Refused(Refusal),
}

/// One receiving side as the pipeline sees it.
pub(crate) trait ReceivingSide {
    /// The side's report of one file.
    type Report: InboxFileReport;
    /// Why a run stops (not a refusal of a file: those quarantine it).
    type Error: From<SpoolError> + From<KeysetStoreError>;
    /// What the side holds between the chain verdict and applying the bundle (the inner side:
    /// its open transaction with the locks taken).
    type Held<'a>
    where
        Self: 'a;
    /// What the side's checks before the chain verdict keep for applying the bundle.
    type Kept;
    /// What the side does after the commit.
    type Committed;

    /// What the side learns of a bundle's records while its verification decodes them, each
    /// once (the inner side: the filing rules' re-check).
    type Seen: Default;

    /// Sees each record of a bundle whose signature holds as its verification decodes it, in
    /// bundle order; returns whether the verified bundle keeps it in memory.
    fn keep(seen: &mut Self::Seen, record: &Record) -> bool;
    /// An empty report for the file named `name`.
    fn report(name: &str) -> Self::Report;
    /// Whether the side's chain ledger holds bundle `id`.
    fn ledger_holds(&mut self, id: &BundleId) -> Result<bool, Self::Error>;
    /// Said of a file refused before it verified, before it is quarantined.
    fn refused(
        &mut self,
        keysets: &KeysetStore,
        path: &Path,
        refusal: &Refusal,
        report: &mut Self::Report,
    ) -> Result<(), Self::Error>;
    /// Notes the verified bundle's identity in `report`.
    fn identified(report: &mut Self::Report, bundle: &VerifiedBundle);
    /// The side's checks before the chain verdict; the `Err` inside quarantines the file at
    /// once.
    fn prepare(
        &mut self,
        received: &Received,
        seen: Self::Seen,
    ) -> Result<Result<Prepared<Self::Kept>, Refusal>, Self::Error>;
    /// Takes the side's ledger and judges `header` against it.
    fn judge<'a>(
        &'a mut self,
        header: &Header,
        id: BundleId,
    ) -> Result<(Verdict, Self::Held<'a>), Self::Error>;
    /// A duplicate: what the side does besides archiving it.
    fn duplicate(
        held: Self::Held<'_>,
        spool: &Spool,
        bundle: &VerifiedBundle,
        report: &mut Self::Report,
    ) -> Result<(), Self::Error>;
    /// A bundle applied after a gap in its chain.
    fn gap(report: &mut Self::Report, header: &Header, missing: (u64, u64));
    /// Applies the bundle in one transaction with its ledger row and, for a keyset bundle, the
    /// next keyset version it carries (`next`: its version and file).
    #[allow(clippy::too_many_arguments)] // each is one thing applying needs
    fn apply(
        held: Self::Held<'_>,
        spool: &Spool,
        name: &str,
        received: Received,
        kept: Self::Kept,
        next: Option<(u64, &[u8])>,
        report: &mut Self::Report,
    ) -> Result<Taken<Self::Committed>, Self::Error>;
    /// Notes the keyset a keyset bundle carried (installed, or trusted already).
    fn keyset_installed(report: &mut Self::Report, receipt: KeysetReceipt);
    /// What the side does after the commit (and after the keyset's install), before the file
    /// is archived.
    fn committed(
        &mut self,
        committed: Self::Committed,
        spool: &Spool,
        bundle: &BundleId,
        header: &Header,
        report: &mut Self::Report,
    ) -> Result<(), Self::Error>;
    /// Marks `report` as the given result.
    fn finished(report: &mut Self::Report, result: FileResult);
}

/// Verifies, judges and applies the file at `path` for `side`, then archives or quarantines it.
/// A keyset bundle's keyset is judged against the current version of `keysets` and, if it is
/// the next one, recorded with the bundle's ledger row and installed after the commit.
///
/// `ahead` is the file verified already, with what the side saw of its records, by
/// [`receive::verify_ahead`] with the keyset version that is still current.
pub(crate) fn receive_file<S: ReceivingSide>(
    side: &mut S,
    check: &Verification<'_>,
    spool: &Spool,
    keysets: &mut KeysetStore,
    path: &Path,
    ahead: Option<(Received, S::Seen)>,
) -> Result<S::Report, S::Error> {
    let name = receive::file_name(path);
    let mut report = S::report(&name);
    let now = check.now;
    let (received, seen) = match ahead {
        Some((received, seen)) => (Ok(received), seen),
        None => {
            let mut seen = S::Seen::default();
            let received = receive::read_and_verify(
                path,
                keysets,
                check.role,
                check.channels,
                now,
                check.identities,
                &mut |record| S::keep(&mut seen, record),
                |id| side.ledger_holds(id),
            )?;
            (received, seen)
        }
    };
    let received = match received {
        Ok(received) => received,
        Err(refusal) => {
            side.refused(keysets, path, &refusal, &mut report)?;
            return receive::quarantine(spool, path, &name, refusal, now, report);
        }
    };
    let header = received.bundle.header;
    let id = received.bundle.id;
    S::identified(&mut report, &received.bundle);
    let prepared = match side.prepare(&received, seen)? {
        Ok(prepared) => prepared,
        Err(refusal) => return receive::quarantine(spool, path, &name, refusal, now, report),
    };
    // A keyset bundle's keyset is judged before the ledger is taken too, and acted on after
    // the chain verdict, like the side's own checks.
    let offer = match header.kind {
        Kind::Keyset => Some(crate::keysets::judge_carried(
            keysets,
            &received.bundle.records,
            now,
        )),
        _ => None,
    };

    let (verdict, held) = side.judge(&header, id)?;
    match &verdict {
        Verdict::Duplicate => {
            S::duplicate(held, spool, &received.bundle, &mut report)?;
            receive::archive(spool, path, &name)?;
            S::finished(&mut report, FileResult::Duplicate);
            return Ok(report);
        }
        verdict if may_apply(verdict) => {}
        other => {
            drop(held);
            let refusal = chain_refusal(other, header, id);
            return receive::quarantine(spool, path, &name, refusal, now, report);
        }
    }
    if let Some(refusal) = prepared.unless_duplicate {
        drop(held);
        return receive::quarantine(spool, path, &name, refusal, now, report);
    }
    // A keyset that would not be installed quarantines its bundle, which then takes no place
    // in the chain (the sender's next bundle reports the gap, operators see the reason).
    let offer = match offer.transpose() {
        Ok(offer) => offer,
        Err(refusal) => {
            drop(held);
            let refusal = receive::keyset_refusal(refusal, header, id);
            return receive::quarantine(spool, path, &name, refusal, now, report);
        }
    };
    if let Verdict::Gap { missing } = &verdict {
        S::gap(&mut report, &header, (*missing.start(), *missing.end()));
    }
    let next = offer.as_ref().and_then(|(offer, file)| match offer {
        Offer::Next(next) => Some((next.version(), file.as_slice())),
        Offer::AlreadyTrusted { .. } => None,
    });
    let committed = match S::apply(
        held,
        spool,
        &name,
        received,
        prepared.kept,
        next,
        &mut report,
    )? {
        Taken::Committed(committed) => committed,
        Taken::RecordedMeanwhile => {
            receive::archive(spool, path, &name)?;
            S::finished(&mut report, FileResult::Duplicate);
            return Ok(report);
        }
        Taken::Refused(refusal) => {
            return receive::quarantine(spool, path, &name, refusal, now, report);
        }
    };
    if let Some((offer, _)) = offer {
        let receipt = crate::keysets::install_offer(keysets, offer, &id)?;
        S::keyset_installed(&mut report, receipt);
    }
    side.committed(committed, spool, &id, &header, &mut report)?;
    receive::archive(spool, path, &name)?;
    S::finished(&mut report, FileResult::Applied);
    Ok(report)
}
