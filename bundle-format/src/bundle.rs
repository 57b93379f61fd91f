//! Writing and reading whole bundles (SPEC.md §7 and §8).
//!
//! The writer takes records one at a time, fills a part up to a content target, and seals each
//! full part into a bundle file handed to the caller's sink, so memory stays bounded by one part
//! however long the export. The reader verifies the signature over the exact bytes received
//! before it parses anything, then the header, then the payload.

use std::io::{self, Write};

use keys::{ChannelId, KeyId, KeyLookup, Role, Signer};

use crate::encryption::{self, EncryptionError, Identity, Recipient};
use crate::envelope::{self, Envelope, EnvelopeError};
use crate::header::{
    BundleId, FORMAT_VERSION_1, FORMAT_VERSION_5, FORMAT_VERSION_10, HEADER_V1_BYTES, Header,
    HeaderError, Kind, MAX_CONTENT_BYTES, MAX_ENCRYPTED_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES,
};
use crate::payload::{self, EncodeError, MAX_RECORDS_PER_BUNDLE, PayloadError};
use crate::records::{EncodedSubmission, Record};

/// The writer's default content target per part: 64 MiB of uncompressed records.
pub const DEFAULT_PART_CONTENT_BYTES: usize = 64 * 1024 * 1024;
/// Largest bundle file a reader accepts: header, the largest (encrypted) payload and both
/// envelope lines with the longest comment. Well below signify's 1 GiB.
// The payload ceiling is about 258 MiB, which fits a 32-bit usize; `try_from` is not const.
#[allow(clippy::cast_possible_truncation)]
pub const MAX_FILE_BYTES: usize = HEADER_V1_BYTES
    + MAX_ENCRYPTED_PAYLOAD_BYTES as usize
    + envelope::COMMENT_PREFIX.len()
    + envelope::MAX_COMMENT_BYTES
    + 1
    + envelope::SIGNATURE_LINE_CHARS
    + 1;

/// Where one export run starts and what its bundles say (SPEC.md §7.1). Nothing here has a
/// default that could be wrong silently: the caller states the chain position and the times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterConfig {
    /// Kind of every bundle of the run.
    pub kind: Kind,
    /// Channel they travel on.
    pub channel: ChannelId,
    /// The sender's epoch.
    pub epoch: u64,
    /// Sequence number of the first bundle of the run (from 1).
    pub next_sequence: u64,
    /// Id of the bundle before it ([`BundleId::ZERO`] when `next_sequence` is 1).
    pub previous: BundleId,
    /// Creation time written into every header, Unix seconds.
    pub created: i64,
    /// Expiry written into every header, Unix seconds.
    pub expires: i64,
    /// Content bytes after which a part is sealed and a new one started; at most
    /// [`MAX_CONTENT_BYTES`]. [`DEFAULT_PART_CONTENT_BYTES`] is a good value.
    pub part_content_bytes: usize,
    /// Records after which a part is sealed; at most [`MAX_RECORDS_PER_BUNDLE`].
    pub part_records: usize,
}

/// Why a bundle could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The configuration is inconsistent.
    #[error("writer configuration: {problem}")]
    Config {
        /// What is wrong.
        problem: &'static str,
    },
    /// The record's variant does not belong in this kind of bundle.
    #[error("record {index} ({record}) may not travel in a {kind} bundle")]
    RecordNotAllowed {
        /// Index of the record in the run.
        index: u64,
        /// Variant name.
        record: &'static str,
        /// Bundle kind.
        kind: Kind,
    },
    /// The kind allows fewer records (heartbeat: none; keyset: one).
    #[error("a {kind} bundle holds at most {max} records")]
    TooManyRecords {
        /// Bundle kind.
        kind: Kind,
        /// The limit.
        max: usize,
    },
    /// A keyset run finished without its keyset record.
    #[error("a keyset bundle needs exactly one keyset record; none was written")]
    MissingKeyset,
    /// The record could not be encoded.
    #[error("record {index}: {source}")]
    Encode {
        /// Index of the record in the run.
        index: u64,
        /// What went wrong.
        source: EncodeError,
    },
    /// zstd failed.
    #[error("zstd compression failed: {0}")]
    Compress(#[source] io::Error),
    /// Encrypting a part's payload failed.
    #[error(transparent)]
    Encrypt(EncryptionError),
    /// Signing failed (a comment signify would refuse, or a message too large).
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The sequence number or the part index would overflow.
    #[error("sequence number or part index would overflow")]
    SequenceExhausted,
    /// The caller's sink failed.
    #[error("writing bundle {sequence} to its sink failed: {source}")]
    Sink {
        /// Sequence number of the bundle being written.
        sequence: u64,
        /// The sink's error.
        source: io::Error,
    },
}

/// One finished bundle file, handed to the sink: the envelope lines and the signed message.
#[derive(Debug, Clone, Copy)]
pub struct SealedBundle<'a> {
    /// SHA-256 of `message`.
    pub id: BundleId,
    /// The header written at the start of `message`.
    pub header: Header,
    /// Comment line and signature line.
    pub lines: &'a [u8],
    /// The signed message `M`.
    pub message: &'a [u8],
}

impl SealedBundle<'_> {
    /// Writes the file: the envelope lines then the message.
    pub fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(self.lines)?;
        out.write_all(self.message)
    }

    /// Bytes of the whole file.
    pub fn file_len(&self) -> usize {
        self.lines.len() + self.message.len()
    }

    /// The whole file as one buffer (copies the message; for tests and small bundles).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut file = Vec::with_capacity(self.file_len());
        file.extend_from_slice(self.lines);
        file.extend_from_slice(self.message);
        file
    }
}

/// Receives each bundle file the writer finishes, in sequence order. A closure
/// `FnMut(&SealedBundle) -> io::Result<()>` is a sink.
pub trait BundleSink {
    /// Stores one bundle file (for example: temp file, fsync, rename).
    fn write_bundle(&mut self, bundle: &SealedBundle<'_>) -> io::Result<()>;
}

impl<F> BundleSink for F
where
    F: FnMut(&SealedBundle<'_>) -> io::Result<()>,
{
    fn write_bundle(&mut self, bundle: &SealedBundle<'_>) -> io::Result<()> {
        self(bundle)
    }
}

/// What the writer wrote: one entry per bundle file, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenBundle {
    /// The bundle id.
    pub id: BundleId,
    /// Its header.
    pub header: Header,
    /// Records it holds.
    pub records: usize,
    /// Size of the file.
    pub file_bytes: usize,
}

/// Streams records into one or more signed bundles (SPEC.md §7).
pub struct BundleWriter<'a, S: BundleSink> {
    signer: &'a dyn Signer,
    sink: S,
    config: WriterConfig,
    content: Vec<u8>,
    /// Where each frame of the current part starts in `content`: 0, then the first record
    /// boundary after every [`payload::FRAME_CONTENT_BYTES`] (SPEC.md §4.1).
    frame_starts: Vec<usize>,
    part_records: usize,
    /// The highest format version a record of the current part needs.
    part_format_version: u16,
    records_total: u64,
    part_index: u32,
    sequence: u64,
    previous: BundleId,
    written: Vec<WrittenBundle>,
    /// Who each part's payload is encrypted to; empty: not encrypted.
    recipients: Vec<Recipient>,
}

impl<'a, S: BundleSink> BundleWriter<'a, S> {
    /// A writer that signs with `signer` and hands each finished bundle to `sink`.
    pub fn new(signer: &'a dyn Signer, config: WriterConfig, sink: S) -> Result<Self, WriteError> {
        let problem = if config.next_sequence == 0 {
            Some("sequence numbers start at 1")
        } else if (config.next_sequence == 1) != (config.previous == BundleId::ZERO) {
            Some("previous must be the zero id exactly when next_sequence is 1")
        } else if config.expires < config.created {
            Some("expires is before created")
        } else if config.part_content_bytes == 0
            || config.part_content_bytes as u64 > MAX_CONTENT_BYTES
        {
            Some("part_content_bytes must be between 1 and MAX_CONTENT_BYTES")
        } else if config.part_records == 0 || config.part_records > MAX_RECORDS_PER_BUNDLE {
            Some("part_records must be between 1 and MAX_RECORDS_PER_BUNDLE")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(WriteError::Config { problem });
        }
        Ok(BundleWriter {
            signer,
            sink,
            config,
            content: Vec::new(),
            frame_starts: vec![0],
            part_records: 0,
            part_format_version: FORMAT_VERSION_1,
            records_total: 0,
            part_index: 0,
            sequence: config.next_sequence,
            previous: config.previous,
            written: Vec::new(),
            recipients: Vec::new(),
        })
    }

    /// Encrypts the payload of every part to `recipients` (SPEC.md §4.5): the bundles are then
    /// format version 5 with the encrypted flag. No recipients leaves them unencrypted. Only
    /// submissions and return bundles may be encrypted, to 1 to
    /// [`encryption::MAX_RECIPIENTS`] recipients.
    pub fn encrypt_to(mut self, recipients: Vec<Recipient>) -> Result<Self, WriteError> {
        if recipients.is_empty() {
            return Ok(self);
        }
        if !matches!(self.config.kind, Kind::Submissions | Kind::Return) {
            return Err(WriteError::Config {
                problem: "only submissions and return bundles can be encrypted",
            });
        }
        if recipients.len() > encryption::MAX_RECIPIENTS {
            return Err(WriteError::Encrypt(EncryptionError::RecipientCount {
                found: recipients.len(),
            }));
        }
        self.recipients = recipients;
        Ok(self)
    }

    /// Adds one record and returns the sequence number of the bundle it will travel in. Seals
    /// the current part first if the record would take it over its targets.
    pub fn push(&mut self, record: &Record) -> Result<u64, WriteError> {
        let allowed = self.config.kind.allows(record);
        self.append(
            record.kind_name(),
            allowed,
            record.format_version(),
            |content| payload::encode_record(record, content),
        )
    }

    /// Adds a `Record::Submission` whose encoding was stored and checked beforehand, carrying
    /// its bytes verbatim (the bundle is byte for byte what [`BundleWriter::push`] of the
    /// decoded version writes); returns the sequence number of the bundle it will travel in.
    pub fn push_submission(
        &mut self,
        submission: &EncodedSubmission<'_>,
    ) -> Result<u64, WriteError> {
        let allowed = self.config.kind == Kind::Submissions;
        let format_version = submission.format_version();
        self.append("submission", allowed, format_version, |content| {
            payload::encode_submission(submission, content)
        })
    }

    fn append(
        &mut self,
        record: &'static str,
        allowed: bool,
        format_version: u16,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<usize, EncodeError>,
    ) -> Result<u64, WriteError> {
        let kind = self.config.kind;
        let index = self.records_total;
        if !allowed {
            return Err(WriteError::RecordNotAllowed {
                index,
                record,
                kind,
            });
        }
        if let Some(max) = kind.max_records(self.part_format_version.max(format_version))
            && index >= max as u64
        {
            return Err(WriteError::TooManyRecords { kind, max });
        }
        let start = self.content.len();
        let added =
            encode(&mut self.content).map_err(|source| WriteError::Encode { index, source })?;
        let over_bytes = start > 0 && start + added > self.config.part_content_bytes;
        let over_records = self.part_records >= self.config.part_records;
        if over_bytes || over_records {
            let record_bytes = self.content.split_off(start);
            self.seal_part(false)?;
            self.content = record_bytes;
        }
        let record_start = self.content.len() - added;
        let frame_start = self.frame_starts.last().copied().unwrap_or_default();
        if record_start - frame_start >= payload::FRAME_CONTENT_BYTES {
            self.frame_starts.push(record_start);
        }
        self.part_format_version = self.part_format_version.max(format_version);
        self.part_records += 1;
        self.records_total += 1;
        Ok(self.sequence)
    }

    /// Seals the last part and returns what was written. A run with no records writes one
    /// bundle without records (a heartbeat, or an empty submissions bundle).
    pub fn finish(mut self) -> Result<Vec<WrittenBundle>, WriteError> {
        if self.config.kind == Kind::Keyset && self.records_total == 0 {
            return Err(WriteError::MissingKeyset);
        }
        self.seal_part(true)?;
        Ok(self.written)
    }

    fn seal_part(&mut self, last: bool) -> Result<(), WriteError> {
        // Content of more than one frame's worth is written as format version 10, a frame per
        // piece; anything smaller stays one frame, byte for byte as before.
        let framed = self.frame_starts.len() > 1;
        let mut frame = payload::compress_frames(&self.content, &self.frame_starts)
            .map_err(WriteError::Compress)?;
        let encrypted = !self.recipients.is_empty();
        if encrypted {
            frame = encryption::encrypt(&frame, &self.recipients).map_err(WriteError::Encrypt)?;
        }
        let content_sha256 = sha2::Digest::finalize(
            <sha2::Sha256 as sha2::Digest>::new_with_prefix(&self.content),
        )
        .into();
        let part_count = if last {
            self.part_index
                .checked_add(1)
                .ok_or(WriteError::SequenceExhausted)?
        } else {
            0
        };
        let mut format_version = if encrypted {
            self.part_format_version.max(FORMAT_VERSION_5)
        } else {
            self.part_format_version
        };
        if framed {
            format_version = format_version.max(FORMAT_VERSION_10);
        }
        let header = Header {
            format_version,
            kind: self.config.kind,
            channel: self.config.channel,
            epoch: self.config.epoch,
            sequence: self.sequence,
            previous: self.previous,
            created: self.config.created,
            expires: self.config.expires,
            encrypted,
            payload_length: frame.len() as u64,
            content_length: self.content.len() as u64,
            content_sha256,
            part_index: self.part_index,
            part_count,
        };
        let mut message = Vec::with_capacity(HEADER_V1_BYTES + frame.len());
        message.extend_from_slice(&header.encode());
        message.extend_from_slice(&frame);
        drop(frame);
        let comment = format!(
            "sluice {} bundle, channel {}, epoch {}, sequence {}, part {}",
            header.kind, header.channel, header.epoch, header.sequence, header.part_index
        );
        let lines = envelope::signature_lines(self.signer, &comment, &message)?;
        let sealed = SealedBundle {
            id: BundleId::of_message(&message),
            header,
            lines: &lines,
            message: &message,
        };
        self.sink
            .write_bundle(&sealed)
            .map_err(|source| WriteError::Sink {
                sequence: header.sequence,
                source,
            })?;
        self.written.push(WrittenBundle {
            id: sealed.id,
            header,
            records: self.part_records,
            file_bytes: sealed.file_len(),
        });
        self.previous = sealed.id;
        self.content.clear();
        self.frame_starts = vec![0];
        self.part_records = 0;
        self.part_format_version = FORMAT_VERSION_1;
        if !last {
            self.sequence = self
                .sequence
                .checked_add(1)
                .ok_or(WriteError::SequenceExhausted)?;
            self.part_index = self
                .part_index
                .checked_add(1)
                .ok_or(WriteError::SequenceExhausted)?;
        }
        Ok(())
    }
}

/// What the reader needs to know about the bundle it expects (SPEC.md §8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// The role of the key that must have signed it: `outer-bundle` on an inner importer,
    /// `inner-return` on an outer applier.
    pub role: Role,
    /// The channel the bundle arrived on.
    pub channel: ChannelId,
    /// Now on the reader's clock, Unix seconds (the key's validity window is checked at this
    /// instant).
    pub at: i64,
}

/// The reader's limits; each may be lowered, none raised above the format's ceiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest file accepted, checked before anything is parsed.
    pub max_file_bytes: usize,
    /// Largest declared content accepted (capped at [`MAX_CONTENT_BYTES`]).
    pub max_content_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_file_bytes: MAX_FILE_BYTES,
            max_content_bytes: MAX_CONTENT_BYTES,
        }
    }
}

/// A bundle whose signature, header and payload were all checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBundle {
    /// SHA-256 of the signed message.
    pub id: BundleId,
    /// The header.
    pub header: Header,
    /// The key that signed it.
    pub signer: KeyId,
    /// The unsigned comment line's text (for display; never trust it).
    pub comment: String,
    /// The records, in order.
    pub records: Vec<Record>,
    /// For an encrypted bundle, the decrypted payload (the zstd frame): with the header it makes
    /// the opened message a receiver keeps (SPEC.md §4.5). `None` for a bundle not encrypted.
    pub opened_frame: Option<Vec<u8>>,
}

impl VerifiedBundle {
    /// The message a receiver keeps: the signed message `message` itself, or for an encrypted
    /// bundle its header followed by the decrypted frame (SPEC.md §4.5).
    pub fn opened_message(&self, message: &[u8]) -> Vec<u8> {
        match &self.opened_frame {
            None => message.to_vec(),
            Some(frame) => {
                let mut opened = Vec::with_capacity(HEADER_V1_BYTES + frame.len());
                opened.extend_from_slice(&message[..HEADER_V1_BYTES.min(message.len())]);
                opened.extend_from_slice(frame);
                opened
            }
        }
    }
}

/// Why a bundle was refused. Each layer's variants are distinct; [`BundleError::code`] names
/// them stably for quarantine reasons and logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The envelope or its signature.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The header.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// The header names another channel than the one the bundle arrived on.
    #[error("bundle is for channel {found}, it arrived on channel {expected}")]
    ChannelMismatch {
        /// The channel the reader expected.
        expected: ChannelId,
        /// The channel in the header.
        found: ChannelId,
    },
    /// A key of this role may not sign bundles of this kind (e.g. a return key signed a
    /// submissions bundle).
    #[error("a key of role {role} may not sign a {kind} bundle")]
    KindNotAllowedForSigner {
        /// The bundle kind.
        kind: Kind,
        /// The signer's role.
        role: Role,
    },
    /// The payload or its records.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The encrypted payload could not be decrypted.
    #[error(transparent)]
    Encryption(#[from] EncryptionError),
}

impl BundleError {
    /// A stable, short name of the variant, e.g. `payload.window-too-large`.
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::Envelope(e) => e.code(),
            BundleError::Header(e) => e.code(),
            BundleError::ChannelMismatch { .. } => "bundle.channel-mismatch",
            BundleError::KindNotAllowedForSigner { .. } => "bundle.kind-not-allowed-for-signer",
            BundleError::Payload(e) => e.code(),
            BundleError::Encryption(e) => e.code(),
        }
    }
}

/// Verifies and decodes one bundle file (SPEC.md §8): signature over the exact bytes first,
/// then the header, then the payload and its records. An encrypted bundle is refused
/// (`encryption.no-identity`); [`read_bundle_with`] reads those.
pub fn read_bundle(
    file: &[u8],
    keys: &dyn KeyLookup,
    expect: &Expectation,
    limits: &ReadLimits,
) -> Result<VerifiedBundle, BundleError> {
    read_bundle_with(file, keys, expect, limits, &[])
}

/// [`read_bundle`] for a reader holding age identities: an encrypted payload is decrypted with
/// the first of `identities` that opens it, after the signature and the header were checked
/// and before anything is decompressed (SPEC.md §4.5).
pub fn read_bundle_with(
    file: &[u8],
    keys: &dyn KeyLookup,
    expect: &Expectation,
    limits: &ReadLimits,
    identities: &[Identity],
) -> Result<VerifiedBundle, BundleError> {
    read_bundle_keeping(file, keys, expect, limits, identities, &mut |_| true)
}

/// [`read_bundle_with`], keeping in [`VerifiedBundle::records`] only the records `keep` says
/// to. Every record is still decoded and checked, but the others are dropped as soon as they
/// are, so a receiver that reads them again from the message one at a time
/// ([`payload::RecordReader`]) never holds them all decoded (SPEC.md §8).
pub fn read_bundle_keeping(
    file: &[u8],
    keys: &dyn KeyLookup,
    expect: &Expectation,
    limits: &ReadLimits,
    identities: &[Identity],
    keep: &mut dyn FnMut(&Record) -> bool,
) -> Result<VerifiedBundle, BundleError> {
    let signed = Signed::check(file, keys, expect, limits)?;
    let payload = &file[signed.payload_offset..];
    let opened_frame = if signed.header.encrypted {
        Some(encryption::decrypt(payload, identities, MAX_PAYLOAD_BYTES)?)
    } else {
        None
    };
    let records = decode_records(
        opened_frame.as_deref().unwrap_or(payload),
        &signed.header,
        keep,
    )?;
    Ok(signed.verified(records, opened_frame))
}

/// A bundle file held whole whose envelope, signature and header were checked
/// ([`check_signed`]); [`SignedFile::open`] reads its payload. What a receiver that keeps the
/// message uses: the file's own buffer becomes the message, so an import never holds two
/// copies of a bundle (SPEC.md §8).
pub struct SignedFile {
    file: Vec<u8>,
    signed: Signed,
}

impl std::fmt::Debug for SignedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedFile")
            .field("id", &self.signed.id)
            .field("header", &self.signed.header)
            .field("file_bytes", &self.file.len())
            .finish_non_exhaustive()
    }
}

/// Checks a bundle file's envelope, its signature over the exact bytes and its header, as
/// [`read_bundle_keeping`] does first, and keeps the file for [`SignedFile::open`]. On a
/// refusal the file is handed back untouched with the reason.
pub fn check_signed(
    file: Vec<u8>,
    keys: &dyn KeyLookup,
    expect: &Expectation,
    limits: &ReadLimits,
) -> Result<SignedFile, (BundleError, Vec<u8>)> {
    match Signed::check(&file, keys, expect, limits) {
        Ok(signed) => Ok(SignedFile { file, signed }),
        Err(error) => Err((error, file)),
    }
}

impl SignedFile {
    /// The verified header.
    pub fn header(&self) -> &Header {
        &self.signed.header
    }

    /// SHA-256 of the signed message.
    pub fn id(&self) -> BundleId {
        self.signed.id
    }

    /// The file, as it was read.
    pub fn into_file(self) -> Vec<u8> {
        self.file
    }

    /// Reads the payload: decrypts an encrypted one with the first of `identities` that opens
    /// it, decodes and checks every record (keeping those `keep` says to), and returns the
    /// verified bundle with the message a receiver keeps: the signed message, or for an
    /// encrypted bundle the opened message (its header and the decrypted frame, SPEC.md §4.5).
    /// Either is made in the file's own buffer: the envelope lines are cut off, or the frame is
    /// decrypted over the ciphertext it replaces.
    pub fn open(
        self,
        identities: &[Identity],
        keep: &mut dyn FnMut(&Record) -> bool,
    ) -> Result<(VerifiedBundle, Vec<u8>), BundleError> {
        let SignedFile { mut file, signed } = self;
        let header_len = signed.payload_offset - signed.message_offset;
        let message = if signed.header.encrypted {
            file.copy_within(signed.message_offset..signed.payload_offset, 0);
            encryption::decrypt_in_place(
                file,
                signed.payload_offset,
                header_len,
                identities,
                MAX_PAYLOAD_BYTES,
            )?
        } else {
            file.drain(..signed.message_offset);
            file
        };
        let records = decode_records(&message[header_len..], &signed.header, keep)?;
        Ok((signed.verified(records, None), message))
    }
}

/// What checking a bundle's envelope, signature and header found, without the file.
struct Signed {
    id: BundleId,
    header: Header,
    signer: KeyId,
    comment: String,
    /// Where the signed message starts in the file.
    message_offset: usize,
    /// Where the payload starts in the file.
    payload_offset: usize,
}

impl Signed {
    /// Signature over the exact bytes first, then the header, its channel and whether the
    /// signer may sign its kind (SPEC.md §8 steps 1 to 4).
    fn check(
        file: &[u8],
        keys: &dyn KeyLookup,
        expect: &Expectation,
        limits: &ReadLimits,
    ) -> Result<Signed, BundleError> {
        let opened = envelope::open(file, limits.max_file_bytes.min(MAX_FILE_BYTES))?;
        opened.verify(keys, expect.role, Some(expect.channel), expect.at)?;
        let (header, payload) = Header::parse(opened.message, limits.max_content_bytes)?;
        if header.channel != expect.channel {
            return Err(BundleError::ChannelMismatch {
                expected: expect.channel,
                found: header.channel,
            });
        }
        if !header.kind.allowed_signer(expect.role) {
            return Err(BundleError::KindNotAllowedForSigner {
                kind: header.kind,
                role: expect.role,
            });
        }
        Ok(Signed {
            id: BundleId::of_message(opened.message),
            header,
            signer: opened.key_id,
            comment: opened.comment_text().into_owned(),
            message_offset: opened.message_offset,
            payload_offset: file.len() - payload.len(),
        })
    }

    fn verified(self, records: Vec<Record>, opened_frame: Option<Vec<u8>>) -> VerifiedBundle {
        VerifiedBundle {
            id: self.id,
            header: self.header,
            signer: self.signer,
            comment: self.comment,
            records,
            opened_frame,
        }
    }
}

/// Decodes and checks every record of `frame` as it is decompressed (the content is never
/// held whole, SPEC.md §8), keeping those `keep` says to.
fn decode_records(
    frame: &[u8],
    header: &Header,
    keep: &mut dyn FnMut(&Record) -> bool,
) -> Result<Vec<Record>, BundleError> {
    let mut records = Vec::new();
    payload::for_each_record(
        frame,
        header.content_length,
        &header.content_sha256,
        header.kind,
        header.format_version,
        |_, record| {
            if keep(&record) {
                records.push(record);
            }
        },
    )?;
    Ok(records)
}

/// Reads a whole bundle file from `source`, refusing (with `InvalidData`) one longer than
/// `max_bytes` without reading more than one byte past the limit.
pub fn read_file_limited(source: &mut dyn io::Read, max_bytes: usize) -> io::Result<Vec<u8>> {
    let mut file = Vec::new();
    let limit = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    io::Read::read_to_end(&mut io::Read::take(source, limit), &mut file)?;
    if file.len() > max_bytes {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bundle file is larger than {max_bytes} bytes"),
        ));
    }
    Ok(file)
}

/// Opens a bundle and parses its header **without verifying the signature**, for display
/// (`inspect`) and for choosing a quarantine name. Never act on what this returns.
pub fn peek_unverified<'f>(
    file: &'f [u8],
    limits: &ReadLimits,
) -> Result<(Envelope<'f>, Header), BundleError> {
    let opened = envelope::open(file, limits.max_file_bytes.min(MAX_FILE_BYTES))?;
    let (header, _) = Header::parse(opened.message, limits.max_content_bytes)?;
    Ok((opened, header))
}
