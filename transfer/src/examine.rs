//! Looking at bundle files without a database: full verification against a keyset (`verify`),
//! a structural completeness check that needs no keys (what carriers use), and a description of
//! what a file holds (`inspect`) that shows no personal data unless asked to.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bundle_format::bundle::{MAX_FILE_BYTES, peek_unverified};
use bundle_format::encryption::Identity;
use bundle_format::header::HEADER_V1_BYTES;
use bundle_format::records::{Record, SubmissionVersion};
use bundle_format::{
    BundleError, BundleId, Expectation, Header, Kind, ReadLimits, SignedFile, VerifiedBundle,
};
use keys::time::rfc3339;
use keys::{ChannelId, KeyId, KeyLookup, Keyset, KeysetFile, Role};

use crate::keysets::{KeysetStore, KeysetSummary, Offer};
use crate::spool::{self, SpoolError};

/// Why a file was refused: a stable code for quarantine reasons and logs, the explanation, and
/// whatever could be learnt about the file before it was refused (unverified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Stable short code, e.g. `envelope.bad-signature`, `chain.fork`, `channel.not-accepted`.
    pub code: String,
    /// What is wrong, in full.
    pub reason: String,
    /// The header, if it parsed (never trust it: it may be what was refused).
    pub header: Option<Box<Header>>,
    /// The bundle id, if the envelope opened.
    pub id: Option<BundleId>,
    /// For [`crate::recheck::BREAKS_FILING_RULE`]: the first record and field that break a
    /// filing rule, and how many more do.
    pub filing_rule: Option<Box<crate::recheck::FilingRuleBreach>>,
}

impl Refusal {
    /// Moves the refused file at `path` into the quarantine directory with its reason file and
    /// writes the audit line; returns the reason as written, for the caller's report.
    pub fn quarantine(
        &self,
        spool: &crate::spool::Spool,
        path: &std::path::Path,
        name: &str,
        now: i64,
    ) -> Result<crate::spool::QuarantineReason, crate::spool::SpoolError> {
        let reason = crate::spool::QuarantineReason {
            original_name: name.to_owned(),
            code: self.code.clone(),
            reason: self.reason.clone(),
            at: now,
            bundle_id: self.id.map(|id| id.to_string()),
            channel: self.header.as_ref().map(|h| h.channel.0),
            sequence: self.header.as_ref().map(|h| h.sequence),
            filing_rule: self.filing_rule.as_deref().cloned(),
        };
        let placed = crate::spool::quarantine(&spool.quarantine, path, &reason)?;
        let breach = self.filing_rule.as_deref();
        tracing::warn!(target: "sluice::audit", event = "bundle.quarantined", file = %name,
            code = %self.code, to = %placed.display(),
            record = breach.map(|b| b.record as u64), receipt = breach.map(|b| b.receipt.as_str()),
            version = breach.map(|b| b.version), field = breach.map(|b| b.field.as_str()),
            rule = breach.map(|b| b.rule.as_str()),
            other_breaches = breach.map(|b| b.other_breaches as u64),
            "quarantined: {}", self.reason);
        Ok(reason)
    }

    /// The refusal as one line for reports: the explanation and its code.
    pub fn summary(&self) -> String {
        format!("{} ({})", self.reason, self.code)
    }

    pub(crate) fn from_bundle(
        error: &BundleError,
        header: Option<Header>,
        id: Option<BundleId>,
    ) -> Refusal {
        let header = header.map(Box::new);
        Refusal {
            code: error.code().to_owned(),
            reason: error.to_string(),
            header,
            id,
            filing_rule: None,
        }
    }

    fn from_spool(error: &SpoolError) -> Refusal {
        let code = match error {
            SpoolError::TooLarge { .. } => "file.too-large",
            SpoolError::NotRegular { .. } => "file.not-regular",
            _ => "file.unreadable",
        };
        Refusal {
            code: code.to_owned(),
            reason: error.to_string(),
            header: None,
            id: None,
            filing_rule: None,
        }
    }
}

/// Reads a bundle file under the format's size ceiling.
pub fn read_file(path: &Path) -> Result<Vec<u8>, Refusal> {
    spool::read_bounded(path, MAX_FILE_BYTES as u64).map_err(|e| Refusal::from_spool(&e))
}

/// The header and id of a file, **unverified**: for names, ordering and display only.
pub fn peek(file: &[u8]) -> Result<(Header, BundleId), Refusal> {
    let (envelope, header) = peek_unverified(file, &ReadLimits::default())
        .map_err(|e| Refusal::from_bundle(&e, None, None))?;
    Ok((header, BundleId::of_message(envelope.message)))
}

/// Sorts bundle files by the (unverified) channel, epoch and sequence their headers name, so
/// a run applies them in chain order; files whose header does not parse come first (they are
/// quarantined without touching anything).
pub fn in_chain_order(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut keyed: Vec<(Option<ChainPosition>, PathBuf)> = paths
        .into_iter()
        .map(|path| {
            let position = read_file(&path)
                .ok()
                .and_then(|bytes| peek(&bytes).ok())
                .map(|(h, _)| (h.channel.0, h.epoch, h.sequence, h.part_index));
            (position, path)
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, path)| path).collect()
}

/// Channel, epoch, sequence and part, in that order.
type ChainPosition = (u32, u64, u64, u32);

/// The role whose keys may sign a bundle of `kind` received by a host that expects `role` for
/// its incoming channel. Heartbeats and keysets are signed by the channel's own bundle key.
pub fn signer_role_for(kind: Kind, channel_role: Role) -> Role {
    match kind {
        Kind::Submissions => Role::OuterBundle,
        Kind::Return => Role::InnerReturn,
        _ => channel_role,
    }
}

/// Verifies a file completely: signature by a key the keyset allows for `role` on the header's
/// channel at `at`, the channel being one of `channels`, the header, and every record.
///
/// The header is peeked at first, unverified, to learn its channel. When that header is
/// unusable (it does not parse, or names a channel not accepted here) the refusal still comes
/// from the signature if the signature does not hold: a tampered file is named as tampered, not
/// for whatever its altered header happens to say. The header's own reason is given only for a
/// file whose signature is valid.
///
/// An encrypted payload is decrypted with the first of `identities` that opens it, after the
/// signature and the header were checked.
pub fn verify_bytes(
    file: &[u8],
    keys: &dyn KeyLookup,
    role: Role,
    channels: &[ChannelId],
    at: i64,
    identities: &[Identity],
) -> Result<VerifiedBundle, Refusal> {
    verify_bytes_keeping(file, keys, role, channels, at, identities, &mut |_| true)
}

/// [`verify_bytes`], keeping in the verified bundle only the records `keep` says to: every
/// record is decoded and checked all the same (`bundle_format::read_bundle_keeping`).
pub fn verify_bytes_keeping(
    file: &[u8],
    keys: &dyn KeyLookup,
    role: Role,
    channels: &[ChannelId],
    at: i64,
    identities: &[Identity],
    keep: &mut dyn FnMut(&Record) -> bool,
) -> Result<VerifiedBundle, Refusal> {
    let expect = expectation(file, keys, role, channels, at, identities)?;
    bundle_format::read_bundle_keeping(
        file,
        keys,
        &expect,
        &ReadLimits::default(),
        identities,
        keep,
    )
    .map_err(|e| refusal_of(&e, file))
}

/// [`verify_bytes`] for a file the caller hands over: the envelope, the signature and the
/// header are checked here, the payload by [`SignedFile::open`] afterwards, in the file's own
/// buffer (a receiver keeping the message never holds two copies of it). On a refusal the file
/// is handed back untouched, with the reason.
pub fn verify_file(
    file: Vec<u8>,
    keys: &dyn KeyLookup,
    role: Role,
    channels: &[ChannelId],
    at: i64,
    identities: &[Identity],
) -> Result<SignedFile, (Box<Refusal>, Vec<u8>)> {
    let expect = match expectation(&file, keys, role, channels, at, identities) {
        Ok(expect) => expect,
        Err(refusal) => return Err((Box::new(refusal), file)),
    };
    bundle_format::check_signed(file, keys, &expect, &ReadLimits::default()).map_err(
        |(error, file)| {
            let refusal = refusal_of(&error, &file);
            (Box::new(refusal), file)
        },
    )
}

/// The refusal for a bundle error met while reading `file`, with its (unverified) header and id.
fn refusal_of(error: &BundleError, file: &[u8]) -> Refusal {
    match peek(file) {
        Ok((header, id)) => Refusal::from_bundle(error, Some(header), Some(id)),
        Err(_) => Refusal::from_bundle(error, None, None),
    }
}

/// What reading `file` must expect: the channel its (unverified) header names, if this host
/// accepts it. A file whose header is unusable, or names a channel not accepted, is refused
/// with what its signature says (see [`signature_first`]).
fn expectation(
    file: &[u8],
    keys: &dyn KeyLookup,
    role: Role,
    channels: &[ChannelId],
    at: i64,
    identities: &[Identity],
) -> Result<Expectation, Refusal> {
    let (header, id) = match peek(file) {
        Ok(peeked) => peeked,
        Err(unverified) => {
            return Err(signature_first(
                file, keys, role, channels, at, identities, unverified,
            ));
        }
    };
    if !channels.contains(&header.channel) {
        let not_accepted = Refusal {
            code: "channel.not-accepted".into(),
            reason: format!(
                "bundle names channel {}, this host accepts channels {}",
                header.channel,
                join(channels)
            ),
            header: Some(Box::new(header)),
            id: Some(id),
            filing_rule: None,
        };
        // Signed by a key of that channel: the channel really is one this host does not take.
        let signed_for_its_channel =
            bundle_format::envelope::open(file, MAX_FILE_BYTES).is_ok_and(|envelope| {
                envelope
                    .verify(keys, role, Some(header.channel), at)
                    .is_ok()
            });
        if signed_for_its_channel {
            return Err(not_accepted);
        }
        return Err(signature_first(
            file,
            keys,
            role,
            channels,
            at,
            identities,
            not_accepted,
        ));
    }
    Ok(Expectation {
        role,
        channel: header.channel,
        at,
    })
}

/// The refusal for a file whose unverified header is unusable (`unverified` says why): verified
/// as if it had arrived on each accepted channel in turn, the first channel whose key's
/// signature holds decides (what the signed bytes say is wrong with them); if none does, the
/// envelope's reason, a signature that does not match preferred to a key refused.
fn signature_first(
    file: &[u8],
    keys: &dyn KeyLookup,
    role: Role,
    channels: &[ChannelId],
    at: i64,
    identities: &[Identity],
    unverified: Refusal,
) -> Refusal {
    let mut envelope_refusal: Option<BundleError> = None;
    for &channel in channels {
        let expect = Expectation { role, channel, at };
        let limits = ReadLimits::default();
        // Only the refusal counts here: no record is kept.
        match bundle_format::read_bundle_keeping(
            file,
            keys,
            &expect,
            &limits,
            identities,
            &mut |_| false,
        ) {
            // Cannot happen for a header that failed to parse or names another channel; the
            // unverified reason is still true.
            Ok(_) => return unverified,
            Err(error @ BundleError::Envelope(_)) => {
                let bad_signature = matches!(
                    error,
                    BundleError::Envelope(
                        bundle_format::envelope::EnvelopeError::BadSignature { .. }
                    )
                );
                if envelope_refusal.is_none() || bad_signature {
                    envelope_refusal = Some(error);
                }
                if bad_signature {
                    break;
                }
            }
            Err(signed) => {
                return Refusal::from_bundle(&signed, unverified.header.map(|h| *h), unverified.id);
            }
        }
    }
    match envelope_refusal {
        Some(error) => Refusal::from_bundle(&error, unverified.header.map(|h| *h), unverified.id),
        None => unverified,
    }
}

/// Whether a refusal says the signer's key is revoked, expired or no longer listed: what a
/// bundle signed before a key rotation meets when it is delivered again afterwards.
pub fn signer_refused_since(refusal: &Refusal) -> bool {
    matches!(
        refusal.code.as_str(),
        "envelope.key-revoked" | "envelope.key-expired" | "envelope.key-unknown"
    )
}

/// Whether `file`'s signature holds under a key that some trusted keyset version lists for
/// `role` on `channel`, whatever that key's validity window or revocation says now: the file was
/// made by the holder of a key once trusted for that channel. Never use it to accept anything:
/// the import uses it only to decide whether to tell a sender that its bundle was refused for
/// its signer.
pub fn signed_by_a_listed_key(
    file: &[u8],
    keysets: &KeysetStore,
    role: Role,
    channel: ChannelId,
) -> bool {
    struct EverListed<'a>(&'a KeysetStore);
    impl keys::KeyLookup for EverListed<'_> {
        fn verifying_key(
            &self,
            key_id: keys::KeyId,
            role: Role,
            channel: Option<ChannelId>,
            _at: i64,
        ) -> Result<ed25519_dalek::VerifyingKey, keys::KeyRejection> {
            self.0
                .newest_first()
                .filter_map(|keyset| keyset.document().entry(key_id))
                .find(|entry| {
                    entry.role == role && channel.is_some_and(|c| entry.channels.contains(&c))
                })
                .map(|entry| entry.public_key.verifying_key())
                .ok_or(keys::KeyRejection::UnknownKey { key_id })
        }
    }
    bundle_format::envelope::open(file, MAX_FILE_BYTES).is_ok_and(|envelope| {
        envelope
            .verify(&EverListed(keysets), role, Some(channel), 0)
            .is_ok()
    })
}

/// Verifies a file as of the time its header says it was created, with each trusted keyset
/// version from the newest down. Only for a bundle whose id the receiver's ledger already
/// holds (it was verified when it was applied): a copy delivered again after its signer was
/// revoked is then recognised as the duplicate it is, and the signature is still checked
/// against the key the keyset gave that signer. Never use it to accept anything new.
pub fn verify_recorded(
    file: Vec<u8>,
    keysets: &KeysetStore,
    role: Role,
    channels: &[ChannelId],
    identities: &[Identity],
) -> Result<SignedFile, Refusal> {
    let (header, _) = peek(&file)?;
    let mut file = file;
    let mut last = None;
    for keyset in keysets.newest_first() {
        match verify_file(file, keyset, role, channels, header.created, identities) {
            Ok(signed) => return Ok(signed),
            Err((refusal, returned)) => {
                last = Some(*refusal);
                file = returned;
            }
        }
    }
    Err(last.unwrap_or_else(|| Refusal {
        code: "key.unknown".into(),
        reason: "no keyset is trusted".into(),
        header: Some(Box::new(header)),
        id: None,
        filing_rule: None,
    }))
}

fn join(channels: &[ChannelId]) -> String {
    let names: Vec<String> = channels.iter().map(ToString::to_string).collect();
    names.join(", ")
}

/// Checks that a file is a whole bundle without any key: the envelope opens, the header parses,
/// and the payload decompresses to exactly the declared content with the declared SHA-256. Of
/// an encrypted payload, which needs the receiver's identity to read, a carrier can know only
/// that its length is the header's and that it opens with a whole age header.
/// What carriers use to tell a complete file from a partial or damaged one. The records are not
/// decoded: the content hash already proves the content is the one the header was written for,
/// and judging the records (and the signature) is the importer's work, which quarantines with a
/// reason; decoding them here made carrying cost as much as importing.
pub fn check_complete(file: &[u8]) -> Result<(Header, BundleId), Refusal> {
    let (header, id) = peek(file)?;
    let checked = if header.encrypted {
        peek_unverified(file, &ReadLimits::default()).and_then(|(envelope, _)| {
            let payload = envelope.message.get(HEADER_V1_BYTES..).unwrap_or_default();
            Ok(bundle_format::encryption::check_shape(payload)?)
        })
    } else {
        content(file, &header, &[]).map(drop)
    };
    checked.map_err(|e| Refusal::from_bundle(&e, Some(header), Some(id)))?;
    Ok((header, id))
}

/// Decompresses the content of a file whose header is `header`, unverified, checking its
/// declared length and SHA-256.
/// An encrypted payload is decrypted with `identities` first (unverified too; age still
/// authenticates what it decrypts).
fn content(file: &[u8], header: &Header, identities: &[Identity]) -> Result<Vec<u8>, BundleError> {
    let (envelope, _) = peek_unverified(file, &ReadLimits::default())?;
    let payload = envelope.message.get(HEADER_V1_BYTES..).unwrap_or_default();
    let opened;
    let frame = if header.encrypted {
        opened = bundle_format::encryption::decrypt(
            payload,
            identities,
            bundle_format::header::MAX_PAYLOAD_BYTES,
        )?;
        opened.as_slice()
    } else {
        payload
    };
    Ok(bundle_format::payload::decompress_version(
        frame,
        header.content_length,
        &header.content_sha256,
        header.format_version,
    )?)
}

/// The submission versions of a bundle this host wrote itself (its retained copy), read
/// without verifying the signature: the file never left this host. Used where the outer store's
/// own record of a bundle's range does not match an ack, to apply the ack entry by entry.
pub(crate) fn own_submissions(file: &[u8]) -> Result<Vec<SubmissionVersion>, BundleError> {
    let (_, header) = peek_unverified(file, &ReadLimits::default())?;
    Ok(content_records(file, &header, &[])?
        .into_iter()
        .filter_map(|record| match record {
            Record::Submission(version) => Some(version),
            _ => None,
        })
        .collect())
}

/// Decompresses and decodes the records of a file whose header is `header`, unverified.
fn content_records(
    file: &[u8],
    header: &Header,
    identities: &[Identity],
) -> Result<Vec<Record>, BundleError> {
    let content = content(file, header, identities)?;
    Ok(bundle_format::payload::decode_records_of_version(
        &content,
        header.kind,
        header.format_version,
    )?)
}

/// What `inspect` shows about one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Inspection {
    /// Bundle id (SHA-256 of the signed message).
    pub bundle_id: String,
    /// The unsigned comment line.
    pub comment: String,
    /// Key number in the signature line (unverified).
    pub signer_key_id: String,
    /// Bundle kind.
    pub kind: String,
    /// Channel.
    pub channel: u32,
    /// Sender's epoch.
    pub epoch: u64,
    /// Sequence number.
    pub sequence: u64,
    /// Id of the bundle before it.
    pub previous: String,
    /// Creation time, RFC 3339.
    pub created: String,
    /// Expiry, RFC 3339.
    pub expires: String,
    /// Part index and count (0 while more parts follow).
    pub part: (u32, u32),
    /// Whether the payload is encrypted on the medium.
    pub encrypted: bool,
    /// Compressed payload bytes (encrypted, when it is).
    pub payload_bytes: u64,
    /// Uncompressed content bytes.
    pub content_bytes: u64,
    /// Records by kind; empty if the payload did not decode.
    pub records: BTreeMap<String, usize>,
    /// Why the payload did not decode, if it did not.
    pub payload_problem: Option<String>,
    /// For a keyset bundle: the keyset it carries (version, threshold, keys, who signed it),
    /// unverified.
    pub keyset: Option<KeysetSummary>,
    /// For a keyset bundle whose keyset does not parse: why.
    pub keyset_problem: Option<String>,
}

/// The keyset a keyset bundle's records carry, described, or why it does not parse; nothing for
/// other records.
fn carried_keyset(records: &[Record]) -> (Option<KeysetSummary>, Option<String>) {
    let Some(document) = records.iter().find_map(|record| match record {
        Record::Keyset(keyset) => Some(&keyset.document),
        _ => None,
    }) else {
        return (None, None);
    };
    match KeysetFile::parse(document) {
        Ok(file) => (Some(KeysetSummary::of(&file)), None),
        Err(error) => (None, Some(format!("{error} (keyset.malformed)"))),
    }
}

/// Describes a file without verifying its signature (say so when showing it). Records are
/// returned only for `--show-records`; the caller decides. An encrypted payload is read with
/// `identities`; without one that opens it, the description says why the records are missing.
pub fn inspect(file: &[u8], identities: &[Identity]) -> Result<(Inspection, Vec<Record>), Refusal> {
    let (envelope, header) = peek_unverified(file, &ReadLimits::default())
        .map_err(|e| Refusal::from_bundle(&e, None, None))?;
    let id = BundleId::of_message(envelope.message);
    let signer: KeyId = envelope.key_id;
    let comment = envelope.comment_text().into_owned();
    let (records, problem) = match content_records(file, &header, identities) {
        Ok(records) => (records, None),
        Err(error) => (Vec::new(), Some(format!("{} ({})", error, error.code()))),
    };
    let mut counts = BTreeMap::new();
    for record in &records {
        *counts.entry(record.kind_name().to_owned()).or_insert(0) += 1;
    }
    let (keyset, keyset_problem) = carried_keyset(&records);
    Ok((
        Inspection {
            bundle_id: id.to_string(),
            comment,
            signer_key_id: signer.to_string(),
            kind: header.kind.to_string(),
            channel: header.channel.0,
            epoch: header.epoch,
            sequence: header.sequence,
            previous: header.previous.to_string(),
            created: rfc3339(header.created),
            expires: rfc3339(header.expires),
            part: (header.part_index, header.part_count),
            encrypted: header.encrypted,
            payload_bytes: header.payload_length,
            content_bytes: header.content_length,
            records: counts,
            payload_problem: problem,
            keyset,
            keyset_problem,
        },
        records,
    ))
}

/// The result of `verify` on one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    /// The file.
    pub file: String,
    /// Whether everything checked out.
    pub ok: bool,
    /// Bundle id, if the envelope opened.
    pub bundle_id: Option<String>,
    /// Signer key number, when verified.
    pub signer_key_id: Option<String>,
    /// Signer role, when verified.
    pub signer_role: Option<String>,
    /// Kind, channel, sequence and times, when verified.
    pub kind: Option<String>,
    /// Channel.
    pub channel: Option<u32>,
    /// Epoch.
    pub epoch: Option<u64>,
    /// Sequence number.
    pub sequence: Option<u64>,
    /// Creation time, RFC 3339.
    pub created: Option<String>,
    /// Expiry, RFC 3339.
    pub expires: Option<String>,
    /// Records by kind.
    pub records: BTreeMap<String, usize>,
    /// Refusal code, when not ok.
    pub code: Option<String>,
    /// Refusal reason, when not ok.
    pub reason: Option<String>,
    /// For a keyset bundle: the keyset it carries.
    pub keyset: Option<KeysetSummary>,
    /// For a keyset bundle: what receiving it would do here, judged against the keyset trusted
    /// now: `next version: would be installed`, `already trusted`, or the refusal and its code.
    pub keyset_judgement: Option<String>,
    /// Whether the payload is encrypted on the medium, when the header was read.
    pub encrypted: Option<bool>,
    /// Set when the signature and header were verified but the encrypted content could not be
    /// read (no identity given): why.
    pub content_not_read: Option<String>,
}

impl Verification {
    /// Fills in what the (verified) header says.
    fn describe(&mut self, header: &Header) {
        self.encrypted = Some(header.encrypted);
        self.kind = Some(header.kind.to_string());
        self.channel = Some(header.channel.0);
        self.epoch = Some(header.epoch);
        self.sequence = Some(header.sequence);
        self.created = Some(rfc3339(header.created));
        self.expires = Some(rfc3339(header.expires));
    }
}

/// What `verify` could check of a file that verified.
enum Checked {
    /// Everything, records included, with the signer's role.
    Read(VerifiedBundle, Role),
    /// Its signature and header: an encrypted payload and no identity to read it with.
    NotRead(Header, BundleId),
}

/// The refusal `verify` gives a file whose header cannot be read (`error`): when the envelope
/// opens and its signer is in the keyset, the signature is checked first with that key's role
/// (on its first channel), so a tampered file is named for its signature, as import names it
/// (see [`verify_bytes`]); the header's reason stands only when the signature holds.
fn header_unreadable(file: &[u8], keyset: &Keyset, at: i64, error: &BundleError) -> Refusal {
    let unverified = Refusal::from_bundle(error, None, None);
    let Ok(envelope) = bundle_format::envelope::open(file, MAX_FILE_BYTES) else {
        return unverified;
    };
    let Some(entry) = keyset.document().entry(envelope.key_id) else {
        return unverified;
    };
    let channel = entry.channels.first().copied();
    match envelope.verify(keyset, entry.role, channel, at) {
        Ok(_) => unverified,
        Err(signature) => Refusal::from_bundle(
            &BundleError::Envelope(signature),
            None,
            Some(BundleId::of_message(envelope.message)),
        ),
    }
}

/// Verifies one file against the current keyset of `keysets` at `at`, on whatever channel its
/// header names (the keyset decides whether the signer may sign for it). The signer's role is
/// the one the keyset gives its key; the kind must allow it. A keyset bundle's keyset is also
/// judged as the receiving side would judge it.
///
/// An encrypted bundle is decrypted with `identities`; given none, its signature and header
/// are still verified and the result says its content was not read.
pub fn verify_path(
    path: &Path,
    keysets: &KeysetStore,
    at: i64,
    identities: &[Identity],
) -> Verification {
    let keyset = keysets.current();
    let mut result = Verification {
        file: path.display().to_string(),
        ok: false,
        bundle_id: None,
        signer_key_id: None,
        signer_role: None,
        kind: None,
        channel: None,
        epoch: None,
        sequence: None,
        created: None,
        expires: None,
        records: BTreeMap::new(),
        code: None,
        reason: None,
        keyset: None,
        keyset_judgement: None,
        encrypted: None,
        content_not_read: None,
    };
    let outcome = read_file(path).and_then(|file| {
        let (envelope, header) = peek_unverified(&file, &ReadLimits::default())
            .map_err(|e| header_unreadable(&file, keyset, at, &e))?;
        let role = keyset
            .document()
            .entry(envelope.key_id)
            .map(|entry| entry.role)
            .ok_or_else(|| Refusal {
                code: "key.unknown".into(),
                reason: format!("key {} is not in the keyset", envelope.key_id),
                header: Some(Box::new(header)),
                id: Some(BundleId::of_message(envelope.message)),
                filing_rule: None,
            })?;
        let role = signer_role_for(header.kind, role);
        match verify_bytes(&file, keyset, role, &[header.channel], at, identities) {
            Ok(verified) => Ok(Checked::Read(verified, role)),
            // Decryption comes after the signature and the header were checked: both hold.
            Err(refusal)
                if header.encrypted
                    && identities.is_empty()
                    && refusal.code == "encryption.no-identity" =>
            {
                Ok(Checked::NotRead(
                    header,
                    BundleId::of_message(envelope.message),
                ))
            }
            Err(refusal) => Err(refusal),
        }
    });
    match outcome {
        Ok(Checked::NotRead(header, id)) => {
            result.ok = true;
            result.bundle_id = Some(id.to_string());
            result.describe(&header);
            result.content_not_read = Some(
                "the payload is encrypted and no identity was given (--age-identity): \
                 signature and header verified, content not read"
                    .to_owned(),
            );
        }
        Ok(Checked::Read(verified, role)) => {
            let header = verified.header;
            result.ok = true;
            result.describe(&header);
            result.bundle_id = Some(verified.id.to_string());
            result.signer_key_id = Some(verified.signer.to_string());
            result.signer_role = Some(role.to_string());
            for record in &verified.records {
                *result
                    .records
                    .entry(record.kind_name().to_owned())
                    .or_insert(0) += 1;
            }
            if header.kind == Kind::Keyset {
                result.keyset = carried_keyset(&verified.records).0;
                result.keyset_judgement = Some(
                    match crate::keysets::judge_carried(keysets, &verified.records, at) {
                        Ok((Offer::Next(_), _)) => format!(
                            "next version: would be installed on top of version {}",
                            keysets.version()
                        ),
                        Ok((Offer::AlreadyTrusted { version }, _)) => {
                            format!(
                                "version {version} is trusted already: receiving it changes nothing"
                            )
                        }
                        Err(refusal) => format!("{} ({})", refusal.reason, refusal.code),
                    },
                );
            }
        }
        Err(refusal) => {
            result.bundle_id = refusal.id.map(|id| id.to_string());
            result.code = Some(refusal.code);
            result.reason = Some(refusal.reason);
        }
    }
    result
}
