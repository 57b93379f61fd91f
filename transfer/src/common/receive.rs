//! The receiving side's steps that apply and import share: listing the inbox in chain order,
//! reading and verifying a file (recognising a bundle the ledger holds already although its
//! signer has been revoked since), turning a chain verdict or a keyset refusal into a
//! quarantine reason, quarantining and archiving files. What a side records in its own ledger
//! stays with that side.

use std::path::{Path, PathBuf};

use bundle_format::chain::{ChannelState, Verdict};
use bundle_format::encryption::Identity;
use bundle_format::records::Record;
use bundle_format::{BundleId, Header, Kind, SignedFile, VerifiedBundle};
use keys::keyset::Direction;
use keys::{ChannelId, Keyset, Role};

use crate::examine::{self, Refusal};
use crate::keysets::{KeysetRefusal, KeysetStore};
use crate::spool::{self, QuarantineReason, Spool, SpoolError};

/// The name a file has in the inbox, for reports and reason files.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Hands every bundle file of the inbox to `handle`, in chain order, with the file after it
/// if there is one (for a side that reads ahead), calling `progress(done, total)` after each;
/// returns what `handle` said about each file.
pub(crate) fn each_inbox_file<R, E: From<SpoolError>>(
    spool: &Spool,
    progress: &mut dyn FnMut(usize, usize),
    mut handle: impl FnMut(&Path, Option<&Path>) -> Result<R, E>,
) -> Result<Vec<R>, E> {
    let files = examine::in_chain_order(spool::list_bundles(&spool.inbox)?);
    let total = files.len();
    let mut handled = Vec::with_capacity(total);
    for (done, path) in files.iter().enumerate() {
        let next = files.get(done + 1).map(PathBuf::as_path);
        handled.push(handle(path, next)?);
        progress(done + 1, total);
    }
    Ok(handled)
}

/// Reads the file at `path` and verifies it with the current keyset of `keysets` for `role` on
/// one of `channels` at `now`. The inner `Err` is the refusal to quarantine it with.
///
/// A file refused because its signer was revoked (or expired, or dropped) since, whose id
/// `in_ledger` says the receiver's ledger holds already, is verified again as of its creation
/// instead: the chain check then sees the duplicate it is rather than quarantining a bundle that
/// was applied. This is what a resend of a bundle signed before a key rotation, or a run stopped
/// after applying a keyset bundle, meets.
///
/// An encrypted payload is decrypted with `identities`. A submissions or return bundle that
/// arrives unencrypted on a channel for which the current keyset names recipients is refused
/// (`bundle.not-encrypted`): its sender was not following the keyset.
///
/// Every record is decoded and checked; the verified bundle keeps only those `keep` says to
/// (the inner import reads a submissions bundle's versions again from its message).
#[allow(clippy::too_many_arguments)] // each is one thing verification needs; a struct would only rename them
pub(crate) fn read_and_verify<E>(
    path: &Path,
    keysets: &KeysetStore,
    role: Role,
    channels: &[ChannelId],
    now: i64,
    identities: &[Identity],
    keep: &mut dyn FnMut(&Record) -> bool,
    in_ledger: impl FnOnce(&BundleId) -> Result<bool, E>,
) -> Result<Result<Received, Refusal>, E> {
    let bytes = match examine::read_file(path) {
        Ok(bytes) => bytes,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let current = keysets.current();
    let (refusal, bytes) =
        match examine::verify_file(bytes, current, role, channels, now, identities) {
            Ok(signed) => return Ok(checked_open(signed, current, identities, keep)),
            Err((refusal, bytes)) => (*refusal, bytes),
        };
    let Some(id) = refusal
        .id
        .filter(|_| examine::signer_refused_since(&refusal))
    else {
        return Ok(Err(refusal));
    };
    if !in_ledger(&id)? {
        return Ok(Err(refusal));
    }
    Ok(
        match examine::verify_recorded(bytes, keysets, role, channels, identities) {
            Ok(signed) => {
                within_ledger_range(&signed).and_then(|()| Received::open(signed, identities, keep))
            }
            Err(_) => Err(refusal),
        },
    )
}

/// [`read_and_verify`] with `keyset` (a copy of the current version, for a thread of its own)
/// when the file verifies at once; `None` for a file it refuses, which is then read and
/// verified again by [`read_and_verify`] itself (that path may ask the receiver's ledger).
pub(crate) fn verify_ahead(
    path: &Path,
    keyset: &Keyset,
    role: Role,
    channels: &[ChannelId],
    now: i64,
    identities: &[Identity],
    keep: &mut dyn FnMut(&Record) -> bool,
) -> Option<Received> {
    let bytes = examine::read_file(path).ok()?;
    let signed = examine::verify_file(bytes, keyset, role, channels, now, identities).ok()?;
    checked_open(signed, keyset, identities, keep).ok()
}

/// What a file whose signature holds under `keyset` must pass before its records are read (its
/// chain position fits a ledger, it is encrypted if `keyset` says so), then its records read.
fn checked_open(
    signed: SignedFile,
    keyset: &Keyset,
    identities: &[Identity],
    keep: &mut dyn FnMut(&Record) -> bool,
) -> Result<Received, Refusal> {
    within_ledger_range(&signed)
        .and_then(|()| encrypted_as_keyset_says(&signed, keyset))
        .and_then(|()| Received::open(signed, identities, keep))
}

/// Refuses a submissions or return bundle that is not encrypted although the keyset names
/// recipients for its direction and channel.
fn encrypted_as_keyset_says(signed: &SignedFile, keyset: &Keyset) -> Result<(), Refusal> {
    let header = signed.header();
    let direction = match header.kind {
        Kind::Submissions => Direction::Inward,
        Kind::Return => Direction::Outward,
        _ => return Ok(()),
    };
    if header.encrypted
        || keyset
            .document()
            .recipients_for(direction, header.channel)
            .is_empty()
    {
        return Ok(());
    }
    Err(Refusal {
        code: "bundle.not-encrypted".into(),
        reason: format!(
            "the {} bundle on channel {} is not encrypted, but keyset version {} names {direction} \
             recipients for that channel: its sender must encrypt it (is the sender's keyset \
             older than this host's?)",
            header.kind,
            header.channel,
            keyset.version()
        ),
        header: Some(Box::new(*header)),
        id: Some(signed.id()),
        filing_rule: None,
    })
}

/// A verified bundle with the message this host keeps of it: the signed message `M`, exactly the
/// bytes verified, or for an encrypted bundle the opened message (its header and the decrypted
/// frame; SPEC.md §4.5). The inner import stores it; the outer side does not need it.
pub(crate) struct Received {
    /// What verification found.
    pub(crate) bundle: VerifiedBundle,
    /// The kept message.
    pub(crate) message: Vec<u8>,
}

impl Received {
    /// Reads the payload of a file whose signature and header were checked (see
    /// [`SignedFile::open`]): the file's bytes become the message, its envelope lines cut off,
    /// or for an encrypted bundle the frame decrypted in place behind the header. The importer
    /// never holds the file and the message side by side.
    fn open(
        signed: SignedFile,
        identities: &[Identity],
        keep: &mut dyn FnMut(&Record) -> bool,
    ) -> Result<Received, Refusal> {
        let header = *signed.header();
        let id = signed.id();
        match signed.open(identities, keep) {
            Ok((bundle, message)) => Ok(Received { bundle, message }),
            Err(error) => Err(Refusal::from_bundle(&error, Some(header), Some(id))),
        }
    }
}

/// Refuses a verified bundle whose epoch or sequence number no ledger can record: both sides
/// keep them in signed 64-bit SQL integers, so a value at or above 2^63 (which only a signer
/// gone wrong would write) would fail every run that met it, or be stored as another number.
fn within_ledger_range(signed: &SignedFile) -> Result<(), Refusal> {
    let header = signed.header();
    let too_large = [("epoch", header.epoch), ("sequence", header.sequence)]
        .into_iter()
        .find(|(_, value)| i64::try_from(*value).is_err());
    let Some((field, value)) = too_large else {
        return Ok(());
    };
    Err(Refusal {
        code: "header.out-of-range".into(),
        reason: format!(
            "the bundle's {field} {value} is larger than the largest a ledger records ({})",
            i64::MAX
        ),
        header: Some(Box::new(*header)),
        id: Some(signed.id()),
        filing_rule: None,
    })
}

/// Whether a chain verdict lets a bundle be applied: the next one, the first of a new epoch, or
/// one after a gap (which is reported). Everything else is a duplicate or is quarantined.
pub(crate) fn may_apply(verdict: &Verdict) -> bool {
    matches!(
        verdict,
        Verdict::Next | Verdict::NewEpoch { .. } | Verdict::Gap { .. }
    )
}

/// The chain state of a channel's ledger: `epoch` (the latest one recorded, if any) and the
/// bundles recorded in it as (sequence, id), ascending. The contiguous run from sequence 1 is
/// what counts; anything after the first hole is a gap still to be healed.
pub(crate) fn contiguous_state(
    epoch: Option<u64>,
    recorded: impl IntoIterator<Item = (u64, BundleId)>,
) -> ChannelState {
    let mut state = ChannelState::EMPTY;
    let Some(epoch) = epoch else {
        return state;
    };
    state.epoch = epoch;
    for (sequence, id) in recorded {
        if sequence != state.highest_contiguous + 1 {
            break;
        }
        state.highest_contiguous += 1;
        state.last_id = id;
    }
    state
}

/// A refusal for a chain verdict that must not be applied.
pub fn chain_refusal(verdict: &Verdict, header: Header, id: BundleId) -> Refusal {
    let (code, reason) = match verdict {
        Verdict::Fork {
            sequence,
            ours,
            theirs,
        } => (
            "chain.fork",
            format!(
                "fork at sequence {sequence}: this host holds bundle {ours}, this file claims {theirs}; \
                 raise the alarm"
            ),
        ),
        Verdict::Expired { expires, now } => (
            "chain.expired",
            format!(
                "bundle expired at {} (now {})",
                keys::time::rfc3339(*expires),
                keys::time::rfc3339(*now)
            ),
        ),
        Verdict::Stale {
            sequence,
            highest_contiguous,
        } => (
            "chain.stale",
            format!(
                "sequence {sequence} is older than everything kept (highest contiguous {highest_contiguous})"
            ),
        ),
        Verdict::Rollback {
            epoch,
            current_epoch,
        } => (
            "chain.rollback",
            format!("bundle is from epoch {epoch}, this host is in epoch {current_epoch}"),
        ),
        other => ("chain.refused", format!("chain verdict {other:?}")),
    };
    Refusal {
        code: code.into(),
        reason,
        header: Some(Box::new(header)),
        id: Some(id),
        filing_rule: None,
    }
}

/// The quarantine reason for a verified keyset bundle whose keyset is not installed.
pub(crate) fn keyset_refusal(refusal: KeysetRefusal, header: Header, id: BundleId) -> Refusal {
    Refusal {
        code: refusal.code.into(),
        reason: refusal.reason,
        header: Some(Box::new(header)),
        id: Some(id),
        filing_rule: None,
    }
}

/// A side's report about one inbox file, which a quarantine fills in.
pub(crate) trait InboxFileReport {
    /// Records that the file was quarantined for `refusal`, with `reason` as written.
    fn quarantined(&mut self, reason: QuarantineReason, refusal: Refusal);
}

/// Quarantines the file at `path` (named `name` in the inbox) with its reason file and audit
/// line, and returns `report` saying so.
pub(crate) fn quarantine<R: InboxFileReport, E: From<SpoolError>>(
    spool: &Spool,
    path: &Path,
    name: &str,
    refusal: Refusal,
    now: i64,
    mut report: R,
) -> Result<R, E> {
    let reason = refusal.quarantine(spool, path, name, now)?;
    report.quarantined(reason, refusal);
    Ok(report)
}

/// Moves a handled file into the archive, under a name not taken there yet.
pub(crate) fn archive(spool: &Spool, path: &Path, name: &str) -> Result<(), SpoolError> {
    let archived = spool::free_name(&spool.archive, name);
    spool::move_durable(path, &spool.archive, &archived)?;
    Ok(())
}
