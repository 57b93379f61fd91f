//! The records of return bundles, inner to outer (SPEC.md §6.2): acknowledgements of submission
//! versions (entry by entry, or as a range with its members digest and the exceptions only),
//! the inner side's sequence reports, status changes and certificates, and the keyset record of
//! keyset bundles.

use bincode::{Decode, Encode};
use sha2::{Digest, Sha256};

use super::*;

/// The inner side's confirmation that the submission versions of one bundle are stored inside.
///
/// The outer side deletes a version's payload only when an ack names that exact receipt,
/// version and content hash (DESIGN.md invariant 3).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Ack {
    /// Bundle id (SHA-256 of the signed message) of the submissions bundle acknowledged.
    pub bundle_id: Sha256Digest,
    /// Channel the bundle came on.
    pub channel: u32,
    /// Sequence number of the bundle on its channel.
    pub sequence: u64,
    /// One entry per submission version the bundle held.
    pub receipts: Vec<ReceiptAck>,
}

/// The inner side's confirmation of one whole submissions bundle (wire version 2): instead of
/// one entry per version, the number of versions it held and a digest over them
/// ([`members_digest`]), plus an entry for each version whose outcome is not a plain
/// `Applied` (refused, superseded, conflicting, seen before, or applied with a reason).
///
/// The outer side deletes the payloads of the bundle's versions only if the versions it holds
/// for that bundle give the same count and digest; the digest covers every receipt, version and
/// content hash, so this still names each exact version (DESIGN.md invariant 3).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RangeAck {
    /// Bundle id (SHA-256 of the signed message) of the submissions bundle acknowledged.
    pub bundle_id: Sha256Digest,
    /// Channel the bundle came on.
    pub channel: u32,
    /// Sequence number of the bundle on its channel.
    pub sequence: u64,
    /// How many submission versions the bundle held.
    pub members: u64,
    /// [`members_digest`] over the bundle's versions, in bundle order.
    pub members_digest: Sha256Digest,
    /// The versions whose outcome is not a plain `Applied`, in bundle order.
    pub exceptions: Vec<ReceiptAck>,
}

impl RangeAck {
    /// Checks the shape limits: at most [`MAX_ACKED_RECEIPTS`] members and exceptions, and
    /// text fields as everywhere; `members` and `exceptions` name the fields in errors.
    pub(crate) fn check(
        &self,
        members: &'static str,
        exceptions: &'static str,
    ) -> Result<(), ShapeError> {
        at_most(
            &Path::Root(members),
            usize::try_from(self.members).unwrap_or(usize::MAX),
            MAX_ACKED_RECEIPTS,
        )?;
        at_most(
            &Path::Root(exceptions),
            self.exceptions.len(),
            MAX_ACKED_RECEIPTS,
        )?;
        for (i, receipt) in self.exceptions.iter().enumerate() {
            let root = Path::Root(exceptions);
            let at = root.index(i);
            text_field(&at.field("receipt"), &receipt.receipt)?;
            if let Some(reason) = &receipt.reason {
                text_field(&at.field("reason"), reason)?;
            }
        }
        Ok(())
    }

    /// The range form of a per-version ack: its entries' count and digest, and the entries
    /// that are exceptions.
    pub fn of_ack(ack: &Ack) -> RangeAck {
        RangeAck::of_entries(ack.bundle_id, ack.channel, ack.sequence, &ack.receipts)
    }

    /// The range ack of bundle `bundle_id` (`sequence` on `channel`) whose versions had the
    /// outcomes `entries`, in bundle order.
    pub fn of_entries(
        bundle_id: Sha256Digest,
        channel: u32,
        sequence: u64,
        entries: &[ReceiptAck],
    ) -> RangeAck {
        RangeAck {
            bundle_id,
            channel,
            sequence,
            members: entries.len() as u64,
            members_digest: members_digest(
                entries
                    .iter()
                    .map(|entry| (entry.receipt.as_str(), entry.version, &entry.content_hash)),
            ),
            exceptions: entries
                .iter()
                .filter(|entry| entry.is_exception())
                .cloned()
                .collect(),
        }
    }
}

/// A range ack that also says when the bundle's versions arrived inside (wire version 8): the
/// time the inner side imported the bundle. Every version the import accepted (an `Applied`
/// member, or an exception of outcome `Conflict`) entered review then, in the state both sides
/// decide from its record with `filing::arrival::entry_state`; the inner side sends no status
/// change for those arrivals, and the outer side shows each such version's receipt that state
/// from this time on (with the conflict's reason for a conflicting one).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ArrivalAck {
    /// The bundle's range ack.
    pub ack: RangeAck,
    /// When the inner side imported the bundle, Unix seconds.
    pub imported_at: i64,
}

/// The members digest of a submissions bundle (SPEC.md §6.3): SHA-256 over the tag
/// `sluice members v1` and a zero byte, then for each version in bundle order its receipt id
/// (`u64` byte length, little-endian, then the UTF-8 bytes), its version (`u32` little-endian)
/// and its 32-byte content hash.
pub fn members_digest<'a>(
    members: impl IntoIterator<Item = (&'a str, u32, &'a Sha256Digest)>,
) -> Sha256Digest {
    let mut digest = MembersDigest::new();
    for (receipt, version, content_hash) in members {
        digest.add(receipt, version, content_hash);
    }
    digest.finish()
}

/// [`members_digest`] fed one version at a time, for a reader that streams the members.
#[derive(Clone, Debug)]
pub struct MembersDigest(Sha256);

impl MembersDigest {
    /// An empty digest (of a bundle without versions, until versions are added).
    pub fn new() -> MembersDigest {
        MembersDigest(Sha256::new_with_prefix(b"sluice members v1\0"))
    }

    /// Adds the next version of the bundle.
    pub fn add(&mut self, receipt: &str, version: u32, content_hash: &Sha256Digest) {
        self.0.update((receipt.len() as u64).to_le_bytes());
        self.0.update(receipt.as_bytes());
        self.0.update(version.to_le_bytes());
        self.0.update(content_hash);
    }

    /// The digest of the versions added.
    pub fn finish(self) -> Sha256Digest {
        self.0.finalize().into()
    }
}

impl Default for MembersDigest {
    fn default() -> MembersDigest {
        MembersDigest::new()
    }
}

/// The inner side's notice that it refused a whole submissions bundle for its signer (wire
/// version 3, SPEC.md §6.3): the signature holds, but under a key that was revoked or expired
/// by the time the bundle arrived, so nothing of it was applied. The outer side puts the
/// bundle's versions back to waiting, with `reason` on their status, and sends them again
/// under its current key.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct BundleRefusal {
    /// Bundle id (SHA-256 of the signed message) of the submissions bundle refused.
    pub bundle_id: Sha256Digest,
    /// Channel the bundle came on.
    pub channel: u32,
    /// Its epoch.
    pub epoch: u64,
    /// Its sequence number on the channel.
    pub sequence: u64,
    /// The refusal's stable code, e.g. `envelope.key-revoked`.
    pub code: String,
    /// The refusal, as the inner side's quarantine recorded it.
    pub reason: String,
}

/// The inner side's notice that a certificate it issued no longer holds (wire version 3,
/// SPEC.md §6.3): the filing was cancelled, or revoked by the authority. The outer side stops
/// serving the certificate and its receipt's status says revoked. A certificate issued later
/// for the same filing number (a [`CertificateRecord`]) takes its place again.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CertificateRevocation {
    /// The filing number the certificate was issued under.
    pub filing_number: String,
    /// The receipt whose approval issued the revoked certificate (the outer side holds the
    /// certificate under it).
    pub receipt: String,
    /// When it was revoked, Unix seconds.
    pub revoked_at: i64,
    /// Why, e.g. `filing-cancelled`.
    pub reason: String,
}

/// The inner side's outcome for one submission version.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ReceiptAck {
    /// Receipt id.
    pub receipt: String,
    /// Version acknowledged.
    pub version: u32,
    /// Content hash as received; must equal the outer side's before it deletes anything.
    pub content_hash: Sha256Digest,
    /// What the import did with it.
    pub outcome: ImportOutcome,
    /// Machine-readable reason code for outcomes other than `Applied`, e.g. `domain-conflict`.
    pub reason: Option<String>,
}

impl ReceiptAck {
    /// Whether a range ack must name this entry: anything but `Applied` without a reason.
    pub fn is_exception(&self) -> bool {
        self.outcome != ImportOutcome::Applied || self.reason.is_some()
    }
}

/// What importing one submission version did. In every case the version is stored inside for
/// audit, so every outcome lets the outer side delete that version's payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub enum ImportOutcome {
    /// Stored and applied to the filing records.
    Applied,
    /// This exact version was stored before; nothing changed.
    AlreadyApplied,
    /// A newer version of the receipt was stored before; this one is kept for audit only.
    Superseded,
    /// Stored, but it conflicts with a record inside (e.g. a domain filed by another subject);
    /// the authority must resolve it.
    Conflict,
    /// Stored, but failed a rule re-checked at import; it goes back to the submitter.
    Rejected,
}

/// The receiver's view of one channel's sequence numbers (DESIGN.md invariant 5).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SequenceReport {
    /// The channel reported on (the channel the submissions came on).
    pub channel: u32,
    /// The sender's epoch the numbers belong to.
    pub epoch: u64,
    /// Every sequence number up to and including this one has been received.
    pub highest_contiguous: u64,
    /// Sequence numbers above `highest_contiguous` not yet received, ascending.
    pub missing: Vec<u64>,
}

/// A receipt's status changed inside.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StatusChange {
    /// Monotonic id of the review event inside; the outer side ignores ids it has seen.
    pub event_id: u64,
    /// Receipt id.
    pub receipt: String,
    /// The version the state refers to.
    pub version: u32,
    /// The new state.
    pub state: ReviewState,
    /// When it changed inside, Unix seconds.
    pub at: i64,
    /// The reviewer's reason, for returns and rejections.
    pub reason: Option<String>,
    /// The filing number, once approved.
    pub filing_number: Option<String>,
}

/// Review states of the filing manuals, plus the two states imports produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub enum ReviewState {
    /// Stored inside, not yet in a review queue.
    Delivered,
    /// The access provider must check the submission first.
    AwaitingProviderCheck,
    /// The content needs a pre-approval that has not been confirmed.
    AwaitingPreApproval,
    /// Waiting for the regional authority's review.
    AwaitingRegionalReview,
    /// Sent back to the access provider for changes.
    ReturnedToProvider,
    /// Sent back to the submitter for changes.
    ReturnedToSubmitter,
    /// Approved; a filing number is assigned.
    Approved,
    /// Rejected.
    Rejected,
    /// The filing (or part of it) was cancelled.
    Cancelled,
    /// The submitter withdrew it before review.
    Withdrawn,
}

/// A signed electronic certificate for an approved filing, on its way to the outer side where
/// the site owner downloads it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CertificateRecord {
    /// The subject's filing number.
    pub filing_number: String,
    /// The receipt whose approval issued it.
    pub receipt: String,
    /// Issue time, Unix seconds.
    pub issued_at: i64,
    /// Expiry, Unix seconds: one year after the last approval.
    pub expires_at: i64,
    /// Filing number of the certificate this one replaces, if any.
    pub supersedes: Option<String>,
    /// The certificate itself: a signify embedded-signature document signed by an
    /// `inner-cert` key, published by the site owner at `/cert/bazs.cert`.
    pub document: Vec<u8>,
}

/// A signed keyset carried across the gap verbatim (SPEC.md §6.3).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct KeysetRecord {
    /// The whole keyset file exactly as `sluice-keys keyset sign` wrote it: the signed document
    /// followed by its `signature` lines (`keys/KEYSET.md`). Not parsed by this crate.
    pub document: Vec<u8>,
}
