//! The fixed little-endian bundle header at the start of the signed message `M` (SPEC.md §3).
//!
//! Written and parsed by hand, field by field: no serializer decides this layout. Parsing reads
//! the magic and the format version first and dispatches on the version; unknown versions,
//! kinds, flags and non-zero reserved bytes are errors, never guesses.

use std::fmt;

use keys::{ChannelId, Role};
use sha2::{Digest, Sha256};

use crate::bytes::{Reader, ShortRead};
use crate::records::Record;

/// The 8 magic bytes that open every message (SPEC.md §3.1). The high first byte catches 7-bit
/// channels and the trailing newline catches newline translation.
pub const MAGIC: [u8; 8] = *b"\x89SLUICE\n";
/// Format version 1: the first published format.
pub const FORMAT_VERSION_1: u16 = 1;
/// Format version 3: the version 1 header layout, and content that may also hold the record
/// types of wire version 2 (a range ack). Writers use it only for bundles that hold such a
/// record, so everything else is still written, byte for byte, as version 1. Version 2 is
/// never assigned: the published vector `unknown_version` stands for an unknown version with
/// it, and published vectors never change (SPEC.md §3.2).
pub const FORMAT_VERSION_3: u16 = 3;
/// Format version 4: the version 1 header layout, and content that may also hold the record
/// types of wire version 3 (a bundle refusal). Writers use it only for bundles that hold such
/// a record; everything else keeps the lowest version its records allow (SPEC.md §3.2).
pub const FORMAT_VERSION_4: u16 = 4;
/// Format version 5: the version 1 header layout, content as in version 4, and the flag
/// [`FLAG_ENCRYPTED`]: the payload may be an age file whose plaintext is the zstd frame
/// (SPEC.md §4.5). Writers use it only for encrypted bundles.
pub const FORMAT_VERSION_5: u16 = 5;
/// Format version 6: the version 1 header layout and flags of version 5, and content that may
/// also hold the record types of wire version 4: a return receipt (in submissions and heartbeat
/// bundles), the public register's entries and removals (in return bundles). Writers use it
/// only for bundles that hold such a record (encrypted or not); everything else keeps the
/// lowest version its records allow (SPEC.md §3.2).
pub const FORMAT_VERSION_6: u16 = 6;
/// Format version 7: the version 1 header layout and flags of version 5, and content that may
/// also hold the record types of wire version 5: a submission whose body carries scans
/// (`Submission::ChangeWithScans`, `Submission::NewFilingWithScans`, in submissions bundles)
/// and a filing password (`Record::FilingPassword`, in return bundles). Writers use it only
/// for bundles that hold such a record (encrypted or not); everything else keeps the lowest
/// version its records allow (SPEC.md §3.2).
pub const FORMAT_VERSION_7: u16 = 7;
/// Format version 8: the version 1 header layout and flags of version 5, and content that may
/// also hold the record type of wire version 6: an approved filing's record
/// (`Record::ApprovedRecord`, in return bundles). Writers use it only for bundles that hold
/// one (encrypted or not); everything else keeps the lowest version its records allow
/// (SPEC.md §3.2).
pub const FORMAT_VERSION_8: u16 = 8;
/// Format version 9: the version 1 header layout and flags of version 5, and content that may
/// also hold the submission body of wire version 7: an access provider's check
/// (`Submission::ProviderCheck`, in submissions bundles). Writers use it only for bundles that
/// hold one (encrypted or not); everything else keeps the lowest version its records allow
/// (SPEC.md §3.2).
pub const FORMAT_VERSION_9: u16 = 9;
/// Format version 10: the version 1 header layout and flags of version 5, content as in
/// version 9, and a payload that may be several zstd frames one after the other, each holding
/// a whole number of records (SPEC.md §4), so that one record can be read back by
/// decompressing only its own frame. Writers use it only for a bundle whose content they split
/// into more than one frame; everything else keeps the lowest version its records allow.
pub const FORMAT_VERSION_10: u16 = 10;
/// Format version 11: the version 1 header layout and flags of version 5, a payload as in
/// version 10, and content that may also hold the record type of wire version 8: a range ack
/// with the time its bundle was imported (`Record::ArrivalAck`, in return bundles), which
/// stands for the status changes of the arrivals it acknowledges. Writers use it only for a
/// return bundle that holds one (encrypted or not).
pub const FORMAT_VERSION_11: u16 = 11;
/// Every format version this build reads, in order (2 is never assigned).
pub const FORMAT_VERSIONS: [u16; 10] = [
    FORMAT_VERSION_1,
    FORMAT_VERSION_3,
    FORMAT_VERSION_4,
    FORMAT_VERSION_5,
    FORMAT_VERSION_6,
    FORMAT_VERSION_7,
    FORMAT_VERSION_8,
    FORMAT_VERSION_9,
    FORMAT_VERSION_10,
    FORMAT_VERSION_11,
];
/// Flag bit 0 (version 5 on): the payload is encrypted to the channel's recipients.
pub const FLAG_ENCRYPTED: u16 = 0x0001;
/// Bytes of a version 1 (and version 3) header.
pub const HEADER_V1_BYTES: usize = 160;
/// Format ceiling on a bundle's decompressed content (SPEC.md §4.4). A reader may set a lower
/// limit; none may set a higher one.
pub const MAX_CONTENT_BYTES: u64 = 256 * 1024 * 1024;
/// Format ceiling on a bundle's compressed payload: the content ceiling plus zstd's worst-case
/// expansion and frame overhead, well below signify's 1 GiB file limit.
pub const MAX_PAYLOAD_BYTES: u64 = MAX_CONTENT_BYTES + MAX_CONTENT_BYTES / 128 + 64 * 1024;
/// Format ceiling on an encrypted payload: the largest frame, the longest age header the reader
/// accepts, the 16-byte nonce and a 16-byte tag per 64 KiB chunk of the frame (SPEC.md §4.5).
pub const MAX_ENCRYPTED_PAYLOAD_BYTES: u64 = MAX_PAYLOAD_BYTES
    + crate::encryption::MAX_AGE_HEADER_BYTES as u64
    + 16
    + 16 * MAX_PAYLOAD_BYTES.div_ceil(64 * 1024);

/// The id of a bundle: SHA-256 of its signed message `M` (never of the whole file: the comment
/// line is unsigned and may change in transit).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BundleId(pub [u8; 32]);

impl BundleId {
    /// The all-zero id: the `previous` of the first bundle of an epoch.
    pub const ZERO: BundleId = BundleId([0; 32]);

    /// The id of the bundle whose signed message is `message`.
    pub fn of_message(message: &[u8]) -> BundleId {
        BundleId(Sha256::digest(message).into())
    }
}

impl fmt::Display for BundleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for BundleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BundleId({self})")
    }
}

/// What a bundle carries (SPEC.md §3.3), and so which records it may hold.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// Submission versions, outer→inner. Signed by an `outer-bundle` key.
    Submissions,
    /// Acks, sequence reports, status changes and certificates, inner→outer. Signed by an
    /// `inner-return` key.
    Return,
    /// No records: proves liveness and chain position on either channel.
    Heartbeat,
    /// Exactly one signed keyset document, on either channel.
    Keyset,
}

impl Kind {
    /// Every kind, in wire-code order.
    pub const ALL: [Kind; 4] = [
        Kind::Submissions,
        Kind::Return,
        Kind::Heartbeat,
        Kind::Keyset,
    ];

    /// The kind's wire code (header offset 16).
    pub fn code(self) -> u8 {
        match self {
            Kind::Submissions => 1,
            Kind::Return => 2,
            Kind::Heartbeat => 3,
            Kind::Keyset => 4,
        }
    }

    /// The kind with wire code `code`, if there is one.
    pub fn from_code(code: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// The kind's name in comments, logs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Submissions => "submissions",
            Kind::Return => "return",
            Kind::Heartbeat => "heartbeat",
            Kind::Keyset => "keyset",
        }
    }

    /// Whether a bundle of this kind may be signed by a key of `role` (SPEC.md §3.3):
    /// submissions only by `outer-bundle`, return only by `inner-return`, heartbeat and keyset
    /// by either channel's bundle key. `root` and `inner-cert` keys never sign bundles.
    pub fn allowed_signer(self, role: Role) -> bool {
        matches!(
            (self, role),
            (Kind::Submissions, Role::OuterBundle)
                | (Kind::Return, Role::InnerReturn)
                | (
                    Kind::Heartbeat | Kind::Keyset,
                    Role::OuterBundle | Role::InnerReturn
                )
        )
    }

    /// Whether a bundle of this kind may hold `record` (SPEC.md §3.3).
    pub fn allows(self, record: &Record) -> bool {
        matches!(
            (self, record),
            (Kind::Submissions, Record::Submission(_))
                | (
                    Kind::Submissions | Kind::Heartbeat,
                    Record::ReturnReceipt(_)
                )
                | (
                    Kind::Return,
                    Record::Ack(_)
                        | Record::SequenceReport(_)
                        | Record::StatusChange(_)
                        | Record::Certificate(_)
                )
                | (
                    Kind::Return,
                    Record::RangeAck(_)
                        | Record::BundleRefusal(_)
                        | Record::CertificateRevocation(_)
                        | Record::RegisterEntry(_)
                        | Record::RegisterRemoval(_)
                        | Record::FilingPassword(_)
                        | Record::ApprovedRecord(_)
                        | Record::ArrivalAck(_)
                )
                | (Kind::Keyset, Record::Keyset(_))
        )
    }

    /// Most records a bundle of this kind and `format_version` may hold, if the kind has its
    /// own limit: a heartbeat none before version 6 and at most
    /// [`crate::records::MAX_RETURN_RECEIPTS`] from it on.
    pub fn max_records(self, format_version: u16) -> Option<usize> {
        match self {
            Kind::Heartbeat if format_version < FORMAT_VERSION_6 => Some(0),
            Kind::Heartbeat => Some(crate::records::MAX_RETURN_RECEIPTS),
            Kind::Keyset => Some(1),
            Kind::Submissions | Kind::Return => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed, checked header (SPEC.md §3.2; versions 1 and 3 to 8 share the layout).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Header {
    /// The format version it was written in (1, 3, 4, 5, 6, 7 or 8): which record types its content
    /// may hold (SPEC.md §6) and which flags it may set.
    pub format_version: u16,
    /// What the bundle carries.
    pub kind: Kind,
    /// The channel it travels on.
    pub channel: ChannelId,
    /// The sender's epoch; sequence numbers restart at 1 in a new epoch.
    pub epoch: u64,
    /// Sequence number on the channel within the epoch, from 1.
    pub sequence: u64,
    /// Id of the bundle with sequence `sequence - 1`; [`BundleId::ZERO`] for sequence 1.
    pub previous: BundleId,
    /// When the sender wrote it, Unix seconds (the sender's clock).
    pub created: i64,
    /// After this instant (Unix seconds) receivers must not apply it.
    pub expires: i64,
    /// Whether the payload is encrypted ([`FLAG_ENCRYPTED`]; version 5 on): an age file whose
    /// plaintext is the zstd frame.
    pub encrypted: bool,
    /// Bytes of the payload after the header: the zstd frame, or the age file holding it.
    pub payload_length: u64,
    /// Bytes of the decompressed content (the length-prefixed records).
    pub content_length: u64,
    /// SHA-256 of the decompressed content.
    pub content_sha256: [u8; 32],
    /// Index of this bundle among the parts of one export run, from 0.
    pub part_index: u32,
    /// `part_index + 1` on the last part of the run, 0 on every part before it.
    pub part_count: u32,
}

/// Why a header was refused. Offsets are from the start of the message `M`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The message ends inside the header.
    #[error(
        "message ends inside the header: {field} at offset {offset} needs {needed} bytes, {available} left"
    )]
    Truncated {
        /// Field being read.
        field: &'static str,
        /// Offset of the field.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// The first 8 bytes are not the Sluice magic.
    #[error(
        "bad magic at offset 0: expected {expected:02x?}, found {found:02x?}; not a Sluice bundle"
    )]
    BadMagic {
        /// The magic bytes expected.
        expected: [u8; 8],
        /// The bytes found.
        found: [u8; 8],
    },
    /// A format version this crate does not know.
    #[error(
        "unsupported format version {found} at offset 8; this build reads versions 1 and 3 to 8"
    )]
    UnsupportedVersion {
        /// The version found.
        found: u16,
    },
    /// A flag bit is set that the header's version does not define (versions 1 to 4 define
    /// none, version 5 only [`FLAG_ENCRYPTED`]).
    #[error(
        "flags at offset 10 are {found:#06x}; format version {version} defines {defined:#06x} only"
    )]
    UnknownFlags {
        /// The flags found.
        found: u16,
        /// The header's format version.
        version: u16,
        /// The flags that version defines.
        defined: u16,
    },
    /// Only submissions and return bundles may be encrypted: heartbeats hold nothing and keyset
    /// bundles must stay readable to install the keys that decrypt.
    #[error("a {kind} bundle cannot be encrypted; only submissions and return bundles are")]
    EncryptedKind {
        /// The bundle kind.
        kind: Kind,
    },
    /// A kind code this crate does not know.
    #[error("unknown bundle kind {found} at offset 16; known kinds are 1 to 4")]
    UnknownKind {
        /// The code found.
        found: u8,
    },
    /// A reserved byte is not zero.
    #[error("reserved byte at offset {offset} is {found:#04x}, must be 0")]
    ReservedNotZero {
        /// Offset of the byte.
        offset: usize,
        /// Its value.
        found: u8,
    },
    /// Sequence numbers start at 1.
    #[error("sequence number at offset 32 is 0; sequences start at 1")]
    ZeroSequence,
    /// The `previous` field contradicts the sequence number.
    #[error(
        "previous bundle id at offset 40 does not fit sequence {sequence}: \
         sequence 1 needs the zero id, later sequences a non-zero id"
    )]
    PreviousMismatch {
        /// The sequence number.
        sequence: u64,
    },
    /// `expires` is before `created`.
    #[error("expires ({expires}, offset 80) is before created ({created}, offset 72)")]
    ExpiresBeforeCreated {
        /// Created, Unix seconds.
        created: i64,
        /// Expires, Unix seconds.
        expires: i64,
    },
    /// The declared payload length is not the number of bytes after the header.
    #[error("payload length at offset 88 says {declared} bytes, {actual} bytes follow the header")]
    PayloadLengthMismatch {
        /// Declared.
        declared: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The declared payload length is over the format ceiling.
    #[error("payload length at offset 88 is {declared} bytes, at most {max} allowed")]
    PayloadTooLarge {
        /// Declared.
        declared: u64,
        /// The limit.
        max: u64,
    },
    /// The declared content length is over the reader's limit.
    #[error("content length at offset 96 is {declared} bytes, at most {max} allowed")]
    ContentTooLarge {
        /// Declared.
        declared: u64,
        /// The limit in force.
        max: u64,
    },
    /// Part index and count contradict each other.
    #[error(
        "part fields at offset 136 are index {index}, count {count}; \
         count must be 0 or index + 1"
    )]
    BadPartFields {
        /// Part index.
        index: u32,
        /// Part count.
        count: u32,
    },
}

impl HeaderError {
    /// A stable, short name of the variant.
    pub fn code(&self) -> &'static str {
        match self {
            HeaderError::Truncated { .. } => "header.truncated",
            HeaderError::BadMagic { .. } => "header.bad-magic",
            HeaderError::UnsupportedVersion { .. } => "header.unsupported-version",
            HeaderError::UnknownFlags { .. } => "header.unknown-flags",
            HeaderError::UnknownKind { .. } => "header.unknown-kind",
            HeaderError::EncryptedKind { .. } => "header.encrypted-kind",
            HeaderError::ReservedNotZero { .. } => "header.reserved-not-zero",
            HeaderError::ZeroSequence => "header.zero-sequence",
            HeaderError::PreviousMismatch { .. } => "header.previous-mismatch",
            HeaderError::ExpiresBeforeCreated { .. } => "header.expires-before-created",
            HeaderError::PayloadLengthMismatch { .. } => "header.payload-length-mismatch",
            HeaderError::PayloadTooLarge { .. } => "header.payload-too-large",
            HeaderError::ContentTooLarge { .. } => "header.content-too-large",
            HeaderError::BadPartFields { .. } => "header.bad-part-fields",
        }
    }
}

impl From<ShortRead> for HeaderError {
    fn from(short: ShortRead) -> Self {
        HeaderError::Truncated {
            field: short.field,
            offset: short.offset,
            needed: short.needed,
            available: short.available,
        }
    }
}

fn reserved(reader: &mut Reader<'_>, n: usize, field: &'static str) -> Result<(), HeaderError> {
    let start = reader.position();
    let bytes = reader.take(n, field)?;
    match bytes.iter().position(|&b| b != 0) {
        None => Ok(()),
        Some(i) => Err(HeaderError::ReservedNotZero {
            offset: start + i,
            found: bytes[i],
        }),
    }
}

impl Header {
    /// Parses the header at the start of `message` and returns it with the payload that follows
    /// (SPEC.md §3.4). `max_content_bytes` is the reader's content limit (at most
    /// [`MAX_CONTENT_BYTES`]). Checks every field that can be checked without the payload,
    /// including that `payload_length` is exactly the number of bytes after the header.
    pub fn parse(message: &[u8], max_content_bytes: u64) -> Result<(Header, &[u8]), HeaderError> {
        let (reader, version) = Header::magic_and_version(message)?;
        let (header, payload) = Header::parse_v1(reader, version)?;
        header.check(Some(payload.len()), max_content_bytes)?;
        Ok((header, payload))
    }

    /// §3.4 step 1: the magic and a known format version, before anything else; the reader is
    /// left at the next field.
    fn magic_and_version(message: &[u8]) -> Result<(Reader<'_>, u16), HeaderError> {
        let mut reader = Reader::new(message, 0);
        let found: [u8; 8] = reader.array("magic")?;
        if found != MAGIC {
            return Err(HeaderError::BadMagic {
                expected: MAGIC,
                found,
            });
        }
        match reader.u16("format_version")? {
            version if FORMAT_VERSIONS.contains(&version) => Ok((reader, version)),
            found => Err(HeaderError::UnsupportedVersion { found }),
        }
    }

    /// Parses the header of an *opened* message (SPEC.md §4.5): what a receiver that decrypted
    /// an encrypted bundle keeps, the header exactly as signed followed by the decrypted zstd
    /// frame. For an encrypted header the bytes after it are the frame, whose length the header
    /// does not give (it gives the ciphertext's); they are bounded by [`MAX_PAYLOAD_BYTES`]. For
    /// a header that is not encrypted this is [`Header::parse`].
    pub fn parse_opened(
        message: &[u8],
        max_content_bytes: u64,
    ) -> Result<(Header, &[u8]), HeaderError> {
        let (header, frame) = match Header::parse(message, max_content_bytes) {
            Err(HeaderError::PayloadLengthMismatch { .. }) => {
                let mut reader = Reader::new(message, 0);
                let _magic: [u8; 8] = reader.array("magic")?;
                let version = reader.u16("format_version")?;
                Header::parse_v1(reader, version)?
            }
            other => return other,
        };
        if !header.encrypted {
            // A plain message whose payload length does not match: report that.
            return Header::parse(message, max_content_bytes);
        }
        header.check(None, max_content_bytes)?;
        let frame_len = u64::try_from(frame.len()).unwrap_or(u64::MAX);
        if frame_len > MAX_PAYLOAD_BYTES {
            return Err(HeaderError::PayloadTooLarge {
                declared: frame_len,
                max: MAX_PAYLOAD_BYTES,
            });
        }
        Ok((header, frame))
    }

    /// Parses a header alone, from the first [`HEADER_V1_BYTES`] bytes of a stored message
    /// whose payload is read apart (a record read back from its own frame, SPEC.md §4.1):
    /// every check of [`Header::parse`] but the payload's length, which is not at hand.
    pub fn parse_alone(head: &[u8], max_content_bytes: u64) -> Result<Header, HeaderError> {
        let (reader, version) = Header::magic_and_version(head)?;
        let (header, _) = Header::parse_v1(reader, version)?;
        header.check(None, max_content_bytes)?;
        Ok(header)
    }

    /// §3.2: the version 1 layout (also that of versions 3 to 10), from offset 10; the field
    /// relations are [`Header::check`]'s.
    fn parse_v1(
        mut reader: Reader<'_>,
        format_version: u16,
    ) -> Result<(Header, &[u8]), HeaderError> {
        let mut fields = reader.sub(HEADER_V1_BYTES - 10, "header")?;
        let flags = fields.u16("flags")?;
        let defined = if format_version >= FORMAT_VERSION_5 {
            FLAG_ENCRYPTED
        } else {
            0
        };
        if flags & !defined != 0 {
            return Err(HeaderError::UnknownFlags {
                found: flags,
                version: format_version,
                defined,
            });
        }
        let encrypted = flags & FLAG_ENCRYPTED != 0;
        let channel = ChannelId(fields.u32("channel")?);
        let kind_code = fields.u8("kind")?;
        let kind =
            Kind::from_code(kind_code).ok_or(HeaderError::UnknownKind { found: kind_code })?;
        if encrypted && !matches!(kind, Kind::Submissions | Kind::Return) {
            return Err(HeaderError::EncryptedKind { kind });
        }
        reserved(&mut fields, 7, "reserved")?;
        let epoch = fields.u64("epoch")?;
        let sequence = fields.u64("sequence")?;
        let previous = BundleId(fields.array("previous")?);
        let created = fields.i64("created")?;
        let expires = fields.i64("expires")?;
        let payload_length = fields.u64("payload_length")?;
        let content_length = fields.u64("content_length")?;
        let content_sha256 = fields.array("content_sha256")?;
        let part_index = fields.u32("part_index")?;
        let part_count = fields.u32("part_count")?;
        reserved(&mut fields, 16, "reserved")?;
        // The sub-reader was cut to the exact header length, so this cannot fail; checking
        // keeps the rule "every parser ends with all()" visible.
        if let Err(trailing) = fields.all() {
            return Err(HeaderError::ReservedNotZero {
                offset: trailing.offset,
                found: 0,
            });
        }
        let header = Header {
            format_version,
            kind,
            channel,
            epoch,
            sequence,
            previous,
            created,
            expires,
            encrypted,
            payload_length,
            content_length,
            content_sha256,
            part_index,
            part_count,
        };
        Ok((header, reader.rest()))
    }

    /// §3.5: relations between fields. `payload_len` is the number of bytes after the header,
    /// `None` for an opened message (whose payload was replaced by its plaintext).
    fn check(&self, payload_len: Option<usize>, max_content_bytes: u64) -> Result<(), HeaderError> {
        if self.sequence == 0 {
            return Err(HeaderError::ZeroSequence);
        }
        if (self.sequence == 1) != (self.previous == BundleId::ZERO) {
            return Err(HeaderError::PreviousMismatch {
                sequence: self.sequence,
            });
        }
        if self.expires < self.created {
            return Err(HeaderError::ExpiresBeforeCreated {
                created: self.created,
                expires: self.expires,
            });
        }
        let max_payload = if self.encrypted {
            MAX_ENCRYPTED_PAYLOAD_BYTES
        } else {
            MAX_PAYLOAD_BYTES
        };
        if self.payload_length > max_payload {
            return Err(HeaderError::PayloadTooLarge {
                declared: self.payload_length,
                max: max_payload,
            });
        }
        if let Some(payload_len) = payload_len {
            let actual = u64::try_from(payload_len).unwrap_or(u64::MAX);
            if self.payload_length != actual {
                return Err(HeaderError::PayloadLengthMismatch {
                    declared: self.payload_length,
                    actual,
                });
            }
        }
        let max = max_content_bytes.min(MAX_CONTENT_BYTES);
        if self.content_length > max {
            return Err(HeaderError::ContentTooLarge {
                declared: self.content_length,
                max,
            });
        }
        let count_ok =
            self.part_count == 0 || Some(self.part_count) == self.part_index.checked_add(1);
        if !count_ok {
            return Err(HeaderError::BadPartFields {
                index: self.part_index,
                count: self.part_count,
            });
        }
        Ok(())
    }

    /// Whether this is the last part of its export run.
    pub fn is_last_part(&self) -> bool {
        self.part_count != 0
    }

    /// The 160 bytes of this header in the version 1 layout (SPEC.md §3.2), with its format
    /// version.
    pub fn encode(&self) -> [u8; HEADER_V1_BYTES] {
        let mut out = [0u8; HEADER_V1_BYTES];
        let mut put = |offset: usize, bytes: &[u8]| {
            out[offset..offset + bytes.len()].copy_from_slice(bytes);
        };
        put(0, &MAGIC);
        put(8, &self.format_version.to_le_bytes());
        let flags = if self.encrypted { FLAG_ENCRYPTED } else { 0 };
        put(10, &flags.to_le_bytes());
        put(12, &self.channel.0.to_le_bytes());
        put(16, &[self.kind.code()]);
        put(24, &self.epoch.to_le_bytes());
        put(32, &self.sequence.to_le_bytes());
        put(40, &self.previous.0);
        put(72, &self.created.to_le_bytes());
        put(80, &self.expires.to_le_bytes());
        put(88, &self.payload_length.to_le_bytes());
        put(96, &self.content_length.to_le_bytes());
        put(104, &self.content_sha256);
        put(136, &self.part_index.to_le_bytes());
        put(140, &self.part_count.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            format_version: FORMAT_VERSION_1,
            kind: Kind::Submissions,
            channel: ChannelId(7),
            epoch: 3,
            sequence: 42,
            previous: BundleId([9; 32]),
            created: 1_800_000_000,
            expires: 1_800_086_400,
            encrypted: false,
            payload_length: 5,
            content_length: 0,
            content_sha256: [1; 32],
            part_index: 2,
            part_count: 3,
        }
    }

    fn message(header: &Header) -> Vec<u8> {
        let mut m = header.encode().to_vec();
        m.extend_from_slice(&[0xAA; 5]);
        m
    }

    #[test]
    fn header_round_trips_and_returns_the_payload() {
        let header = sample();
        let m = message(&header);
        let (parsed, payload) = Header::parse(&m, MAX_CONTENT_BYTES).unwrap();
        assert_eq!(parsed, header);
        assert_eq!(payload, &[0xAA; 5]);
        assert_eq!(parsed.encode().as_slice(), &m[..HEADER_V1_BYTES]);
    }

    #[test]
    fn every_field_sits_at_its_spec_offset() {
        let m = message(&sample());
        assert_eq!(&m[0..8], b"\x89SLUICE\n");
        assert_eq!(u16::from_le_bytes([m[8], m[9]]), 1);
        assert_eq!(u32::from_le_bytes(m[12..16].try_into().unwrap()), 7);
        assert_eq!(m[16], 1);
        assert_eq!(u64::from_le_bytes(m[32..40].try_into().unwrap()), 42);
        assert_eq!(u32::from_le_bytes(m[136..140].try_into().unwrap()), 2);
        assert_eq!(u32::from_le_bytes(m[140..144].try_into().unwrap()), 3);
    }

    fn patched(offset: usize, bytes: &[u8]) -> HeaderError {
        let mut m = message(&sample());
        m[offset..offset + bytes.len()].copy_from_slice(bytes);
        Header::parse(&m, MAX_CONTENT_BYTES).unwrap_err()
    }

    #[test]
    fn each_bad_field_gets_its_own_error() {
        assert!(matches!(patched(0, b"X"), HeaderError::BadMagic { .. }));
        assert_eq!(
            patched(8, &[2, 0]),
            HeaderError::UnsupportedVersion { found: 2 }
        );
        assert_eq!(
            patched(10, &[0, 1]),
            HeaderError::UnknownFlags {
                found: 0x100,
                version: 1,
                defined: 0
            }
        );
        // The encrypted flag is version 5's; a version 1 header may not set it.
        assert_eq!(
            patched(10, &[1, 0]),
            HeaderError::UnknownFlags {
                found: 1,
                version: 1,
                defined: 0
            }
        );
        assert_eq!(patched(16, &[0]), HeaderError::UnknownKind { found: 0 });
        assert_eq!(patched(16, &[5]), HeaderError::UnknownKind { found: 5 });
        assert_eq!(
            patched(20, &[1]),
            HeaderError::ReservedNotZero {
                offset: 20,
                found: 1
            }
        );
        assert_eq!(
            patched(159, &[7]),
            HeaderError::ReservedNotZero {
                offset: 159,
                found: 7
            }
        );
        assert_eq!(patched(32, &0u64.to_le_bytes()), HeaderError::ZeroSequence);
        assert_eq!(
            patched(32, &1u64.to_le_bytes()),
            HeaderError::PreviousMismatch { sequence: 1 }
        );
        assert!(matches!(
            patched(80, &0i64.to_le_bytes()),
            HeaderError::ExpiresBeforeCreated { .. }
        ));
        assert_eq!(
            patched(88, &(u64::MAX).to_le_bytes()),
            HeaderError::PayloadTooLarge {
                declared: u64::MAX,
                max: MAX_PAYLOAD_BYTES
            }
        );
        assert_eq!(
            patched(88, &6u64.to_le_bytes()),
            HeaderError::PayloadLengthMismatch {
                declared: 6,
                actual: 5
            }
        );
        assert_eq!(
            patched(96, &(u64::MAX - 1).to_le_bytes()),
            HeaderError::ContentTooLarge {
                declared: u64::MAX - 1,
                max: MAX_CONTENT_BYTES
            }
        );
        assert_eq!(
            patched(136, &u32::MAX.to_le_bytes()),
            HeaderError::BadPartFields {
                index: u32::MAX,
                count: 3
            }
        );
    }

    #[test]
    fn version_is_checked_before_the_rest_of_the_header() {
        // A version 2 header may be any length; a short one must say "version", not "truncated".
        let mut m = MAGIC.to_vec();
        m.extend_from_slice(&2u16.to_le_bytes());
        assert_eq!(
            Header::parse(&m, MAX_CONTENT_BYTES).unwrap_err(),
            HeaderError::UnsupportedVersion { found: 2 }
        );
    }

    #[test]
    fn truncated_header_names_the_field() {
        let m = message(&sample());
        let err = Header::parse(&m[..100], MAX_CONTENT_BYTES).unwrap_err();
        assert_eq!(
            err,
            HeaderError::Truncated {
                field: "header",
                offset: 10,
                needed: 150,
                available: 90
            }
        );
    }

    #[test]
    fn reader_limit_below_the_ceiling_applies() {
        let mut header = sample();
        header.content_length = 1000;
        let m = message(&header);
        assert_eq!(
            Header::parse(&m, 999).unwrap_err(),
            HeaderError::ContentTooLarge {
                declared: 1000,
                max: 999
            }
        );
    }

    #[test]
    fn bundle_id_is_sha256_of_the_message_in_hex() {
        let id = BundleId::of_message(b"abc");
        assert_eq!(
            id.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn kinds_admit_only_their_signers() {
        assert!(Kind::Submissions.allowed_signer(Role::OuterBundle));
        assert!(!Kind::Submissions.allowed_signer(Role::InnerReturn));
        assert!(!Kind::Return.allowed_signer(Role::OuterBundle));
        assert!(Kind::Heartbeat.allowed_signer(Role::InnerReturn));
        for kind in Kind::ALL {
            assert!(!kind.allowed_signer(Role::Root));
            assert!(!kind.allowed_signer(Role::InnerCert));
            assert_eq!(Kind::from_code(kind.code()), Some(kind));
        }
    }
}
