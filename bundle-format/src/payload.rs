//! The payload: one zstd frame, or from format version 10 several frames one after the other,
//! each holding a whole number of records (SPEC.md §4), whose content is a sequence of
//! length-prefixed bincode records (SPEC.md §5).
//!
//! Decoding never trusts a length it has not bounded: each frame header is parsed by hand and
//! checked (no dictionary, content size present and within the bundle header's, checksum on,
//! window at most 2^23) before the decoder runs into it, the decoder runs with a window cap and
//! into a buffer one byte larger than the declared content, and every record length is capped
//! before any allocation.

use sha2::{Digest, Sha256};
use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};
use zstd::zstd_safe::{CParameter, DParameter};

use crate::bytes::Reader;
use crate::header::{FORMAT_VERSION_10, Kind, MAX_CONTENT_BYTES};
use crate::records::{EncodedSubmission, Record, ShapeError, wire_config};

mod frames;
mod stream;
pub use frames::{FRAME_CONTENT_BYTES, FrameSpan, compress_frames, frame_spans, record_in_frame};
pub use stream::{RecordReader, decode_payload, for_each_record};

/// zstd frame magic number (RFC 8878 §3.1.1), little-endian on the wire.
pub const ZSTD_MAGIC: u32 = 0xFD2F_B528;
/// Largest zstd window a payload may use: log2 of 8 MiB.
pub const MAX_WINDOW_LOG: u32 = 23;
/// Largest zstd window a payload may use, in bytes.
pub const MAX_WINDOW_BYTES: u64 = 1 << MAX_WINDOW_LOG;
/// Most bytes of one encoded record (the `u32` length prefix's bound).
pub const MAX_RECORD_BYTES: u32 = 16 * 1024 * 1024;
/// The bincode decoder's allocation budget for one record. bincode counts both bytes read and
/// the in-memory size of every container it allocates, which can be a few times the wire size.
pub const RECORD_DECODE_BUDGET: usize = 64 * 1024 * 1024;
/// Most records one bundle may hold.
pub const MAX_RECORDS_PER_BUNDLE: usize = 100_000;
/// The zstd level the writer uses.
pub const COMPRESSION_LEVEL: i32 = 3;

/// Why a payload or its records were refused. Offsets in the frame are from the start of the
/// payload (the byte after the header); offsets in the content from the start of the content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The payload ends inside the zstd frame header.
    #[error("payload ends inside the zstd frame header ({field} at payload offset {offset})")]
    FrameHeaderTruncated {
        /// Field being read.
        field: &'static str,
        /// Its offset.
        offset: usize,
    },
    /// The payload starts with a skippable frame, which v1 forbids.
    #[error(
        "payload starts with a skippable zstd frame (magic {magic:#010x}); v1 allows exactly one zstd frame"
    )]
    SkippableFrame {
        /// The magic found.
        magic: u32,
    },
    /// The payload does not start with the zstd magic.
    #[error("payload does not start with the zstd magic: found {found:#010x}")]
    NotZstd {
        /// The four bytes found, little-endian.
        found: u32,
    },
    /// The reserved bit of the frame header descriptor is set.
    #[error("zstd frame header descriptor {descriptor:#04x} has its reserved bit set")]
    FrameReservedBit {
        /// The descriptor byte.
        descriptor: u8,
    },
    /// The frame names a dictionary; v1 uses none.
    #[error("zstd frame names a dictionary (descriptor {descriptor:#04x}); v1 uses none")]
    FrameDictionary {
        /// The descriptor byte.
        descriptor: u8,
    },
    /// The frame does not carry a content checksum.
    #[error("zstd frame has no content checksum; v1 requires one")]
    FrameChecksumMissing,
    /// The frame does not state its content size.
    #[error("zstd frame does not state its content size; v1 requires it")]
    FrameContentSizeMissing,
    /// The frame's content size differs from the bundle header's content length.
    #[error("zstd frame says {frame} content bytes, bundle header says {header}")]
    FrameContentSizeMismatch {
        /// Content size in the frame header.
        frame: u64,
        /// Content length in the bundle header.
        header: u64,
    },
    /// The frame asks for a window larger than 8 MiB.
    #[error("zstd frame needs a {window}-byte window, at most {max} allowed")]
    WindowTooLarge {
        /// The window the frame needs.
        window: u64,
        /// The limit.
        max: u64,
    },
    /// zstd's own content checksum does not match.
    #[error("zstd frame checksum does not match its content")]
    FrameChecksumMismatch,
    /// zstd refused the frame.
    #[error("zstd refused the frame: {detail}")]
    FrameCorrupt {
        /// zstd's error message.
        detail: String,
    },
    /// The frame ends before its last block.
    #[error("zstd frame is truncated after {content_so_far} content bytes")]
    FrameTruncated {
        /// Content bytes produced before input ran out.
        content_so_far: u64,
    },
    /// The content length asked for is over the format ceiling (callers that parsed a header
    /// never see this: the header check comes first).
    #[error("content length {declared} is over the format ceiling of {max} bytes")]
    ContentTooLarge {
        /// Declared.
        declared: u64,
        /// The ceiling.
        max: u64,
    },
    /// The frame decodes to more than the header declared; decoding stopped at the limit.
    #[error("zstd frame decodes to more than the declared {declared} content bytes; stopped there")]
    ContentLongerThanDeclared {
        /// Content length declared in the header.
        declared: u64,
    },
    /// The frame decodes to fewer bytes than the header declared.
    #[error("zstd frame decodes to {found} content bytes, header declared {declared}")]
    ContentShorterThanDeclared {
        /// Declared.
        declared: u64,
        /// Produced.
        found: u64,
    },
    /// Bytes follow the frame (a second frame, a skippable frame, or garbage).
    #[error(
        "{count} bytes follow the zstd frame at payload offset {offset}; v1 allows exactly one frame"
    )]
    TrailingAfterFrame {
        /// Offset of the first byte after the frame.
        offset: usize,
        /// How many bytes follow.
        count: usize,
    },
    /// A record starts in one frame and ends in the next (format version 10: every frame holds
    /// a whole number of records).
    #[error(
        "the zstd frame at payload offset {offset} starts inside a record (content offset {content_offset}); a frame holds whole records"
    )]
    RecordAcrossFrames {
        /// Offset of the frame that starts inside a record.
        offset: usize,
        /// Content bytes before that frame.
        content_offset: u64,
    },
    /// A frame after the first holds no content (format version 10: every frame holds at least
    /// one record).
    #[error(
        "the zstd frame at payload offset {offset} is empty; a frame holds at least one record"
    )]
    EmptyFrame {
        /// Offset of the empty frame.
        offset: usize,
    },
    /// A frame states more content than the header's content length leaves for it.
    #[error(
        "the zstd frame at payload offset {offset} says {frame} content bytes, the header leaves {left}"
    )]
    FrameBeyondContent {
        /// Offset of the frame.
        offset: usize,
        /// Content size the frame states.
        frame: u64,
        /// Content bytes the header's length leaves after the frames before it.
        left: u64,
    },
    /// The content's SHA-256 differs from the header's.
    #[error("content SHA-256 is {found}, header says {expected}")]
    ContentHashMismatch {
        /// Hex of the header's digest.
        expected: String,
        /// Hex of the computed digest.
        found: String,
    },
    /// A record's length prefix is cut off.
    #[error("record {index} at content offset {offset}: length prefix is cut off")]
    RecordLengthTruncated {
        /// Record index.
        index: usize,
        /// Offset of the prefix.
        offset: usize,
    },
    /// A record's length is zero or over the limit.
    #[error("record {index} at content offset {offset}: length {length} is outside 1..={max}")]
    RecordLength {
        /// Record index.
        index: usize,
        /// Offset of the prefix.
        offset: usize,
        /// The length found.
        length: u32,
        /// The limit.
        max: u32,
    },
    /// A record's bytes are cut off.
    #[error("record {index} at content offset {offset}: needs {length} bytes, {available} left")]
    RecordTruncated {
        /// Record index.
        index: usize,
        /// Offset of the record bytes.
        offset: usize,
        /// Declared length.
        length: u32,
        /// Bytes left.
        available: usize,
    },
    /// bincode refused a record (bad tag, bad UTF-8, a length over the budget…).
    #[error("record {index} at content offset {offset}: not a valid v1 record: {detail}")]
    RecordDecode {
        /// Record index.
        index: usize,
        /// Offset of the record bytes.
        offset: usize,
        /// bincode's message.
        detail: String,
    },
    /// A record decodes from fewer bytes than its length prefix says.
    #[error("record {index} at content offset {offset}: {unread} bytes after the record's value")]
    RecordTrailingBytes {
        /// Record index.
        index: usize,
        /// Offset of the record bytes.
        offset: usize,
        /// Bytes the value did not use.
        unread: usize,
    },
    /// A record breaks a shape limit.
    #[error("record {index}: {shape}")]
    RecordShape {
        /// Record index.
        index: usize,
        /// The field and what is wrong.
        shape: ShapeError,
    },
    /// A record of a variant this bundle kind may not hold.
    #[error("record {index} ({record}) may not travel in a {kind} bundle")]
    RecordNotAllowed {
        /// Record index.
        index: usize,
        /// The record's variant name.
        record: &'static str,
        /// The bundle's kind.
        kind: Kind,
    },
    /// A record type of a later wire version than the bundle's format version.
    #[error(
        "record {index} ({record}) needs a newer format version than the bundle's {format_version}"
    )]
    RecordNewerThanFormat {
        /// Record index.
        index: usize,
        /// The record's variant name.
        record: &'static str,
        /// The bundle's format version.
        format_version: u16,
    },
    /// More records than the bundle kind or the format allows.
    #[error("a {kind} bundle may hold at most {max} records")]
    TooManyRecords {
        /// The bundle's kind.
        kind: Kind,
        /// The limit.
        max: usize,
    },
    /// A keyset bundle without its keyset record.
    #[error("a keyset bundle must hold exactly one keyset record, it holds none")]
    MissingKeyset,
}

impl PayloadError {
    /// A stable, short name of the variant.
    pub fn code(&self) -> &'static str {
        match self {
            PayloadError::FrameHeaderTruncated { .. } => "payload.frame-header-truncated",
            PayloadError::SkippableFrame { .. } => "payload.skippable-frame",
            PayloadError::NotZstd { .. } => "payload.not-zstd",
            PayloadError::FrameReservedBit { .. } => "payload.frame-reserved-bit",
            PayloadError::FrameDictionary { .. } => "payload.frame-dictionary",
            PayloadError::FrameChecksumMissing => "payload.frame-checksum-missing",
            PayloadError::FrameContentSizeMissing => "payload.frame-content-size-missing",
            PayloadError::FrameContentSizeMismatch { .. } => "payload.frame-content-size-mismatch",
            PayloadError::WindowTooLarge { .. } => "payload.window-too-large",
            PayloadError::FrameChecksumMismatch => "payload.frame-checksum-mismatch",
            PayloadError::FrameCorrupt { .. } => "payload.frame-corrupt",
            PayloadError::FrameTruncated { .. } => "payload.frame-truncated",
            PayloadError::ContentTooLarge { .. } => "payload.content-too-large",
            PayloadError::ContentLongerThanDeclared { .. } => {
                "payload.content-longer-than-declared"
            }
            PayloadError::ContentShorterThanDeclared { .. } => {
                "payload.content-shorter-than-declared"
            }
            PayloadError::TrailingAfterFrame { .. } => "payload.trailing-after-frame",
            PayloadError::RecordAcrossFrames { .. } => "payload.record-across-frames",
            PayloadError::EmptyFrame { .. } => "payload.empty-frame",
            PayloadError::FrameBeyondContent { .. } => "payload.frame-beyond-content",
            PayloadError::ContentHashMismatch { .. } => "payload.content-hash-mismatch",
            PayloadError::RecordLengthTruncated { .. } => "payload.record-length-truncated",
            PayloadError::RecordLength { .. } => "payload.record-length",
            PayloadError::RecordTruncated { .. } => "payload.record-truncated",
            PayloadError::RecordDecode { .. } => "payload.record-decode",
            PayloadError::RecordTrailingBytes { .. } => "payload.record-trailing-bytes",
            PayloadError::RecordShape { .. } => "payload.record-shape",
            PayloadError::RecordNotAllowed { .. } => "payload.record-not-allowed",
            PayloadError::RecordNewerThanFormat { .. } => "payload.record-newer-than-format",
            PayloadError::TooManyRecords { .. } => "payload.too-many-records",
            PayloadError::MissingKeyset => "payload.missing-keyset",
        }
    }
}

/// What the zstd frame header says (RFC 8878 §3.1.1), after the v1 checks of SPEC.md §4.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Window the decoder needs, in bytes.
    pub window: u64,
    /// Content size the frame states.
    pub content_size: u64,
}

/// Parses and checks the zstd frame header at the start of `payload` (SPEC.md §4.2).
pub fn frame_info(payload: &[u8]) -> Result<FrameInfo, PayloadError> {
    let mut reader = Reader::new(payload, 0);
    let short = |e: crate::bytes::ShortRead| PayloadError::FrameHeaderTruncated {
        field: e.field,
        offset: e.offset,
    };
    let magic = reader.u32("magic").map_err(short)?;
    if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
        return Err(PayloadError::SkippableFrame { magic });
    }
    if magic != ZSTD_MAGIC {
        return Err(PayloadError::NotZstd { found: magic });
    }
    let descriptor = reader.u8("frame header descriptor").map_err(short)?;
    let fcs_flag = descriptor >> 6;
    let single_segment = descriptor & 0x20 != 0;
    let reserved = descriptor & 0x08 != 0;
    let checksum = descriptor & 0x04 != 0;
    let dictionary_flag = descriptor & 0x03;
    if reserved {
        return Err(PayloadError::FrameReservedBit { descriptor });
    }
    if dictionary_flag != 0 {
        return Err(PayloadError::FrameDictionary { descriptor });
    }
    if !checksum {
        return Err(PayloadError::FrameChecksumMissing);
    }
    let window_descriptor = if single_segment {
        None
    } else {
        Some(reader.u8("window descriptor").map_err(short)?)
    };
    let content_size = match (fcs_flag, single_segment) {
        (0, false) => return Err(PayloadError::FrameContentSizeMissing),
        (0, true) => u64::from(reader.u8("frame content size").map_err(short)?),
        (1, _) => u64::from(reader.u16("frame content size").map_err(short)?) + 256,
        (2, _) => u64::from(reader.u32("frame content size").map_err(short)?),
        _ => reader.u64("frame content size").map_err(short)?,
    };
    let window = match window_descriptor {
        // RFC 8878 §3.1.1.1.2: with a single segment the window is the content size.
        None => content_size,
        Some(byte) => {
            let exponent = u32::from(byte >> 3);
            let mantissa = u64::from(byte & 0x07);
            let base = 1u64 << (10 + exponent);
            base + (base / 8) * mantissa
        }
    };
    if window > MAX_WINDOW_BYTES {
        return Err(PayloadError::WindowTooLarge {
            window,
            max: MAX_WINDOW_BYTES,
        });
    }
    Ok(FrameInfo {
        window,
        content_size,
    })
}

/// Compresses `content` into one zstd frame with its content size and checksum set and a window
/// of at most 2^23 bytes (SPEC.md §4.1).
pub fn compress(content: &[u8]) -> std::io::Result<Vec<u8>> {
    compressor()?.compress(content)
}

/// The compressor of every frame: [`COMPRESSION_LEVEL`], the format's window, a checksum and
/// the content size in the frame header, no dictionary id.
fn compressor() -> std::io::Result<zstd::bulk::Compressor<'static>> {
    let mut compressor = zstd::bulk::Compressor::new(COMPRESSION_LEVEL)?;
    compressor.set_parameter(CParameter::WindowLog(MAX_WINDOW_LOG))?;
    compressor.set_parameter(CParameter::ChecksumFlag(true))?;
    compressor.set_parameter(CParameter::ContentSizeFlag(true))?;
    compressor.set_parameter(CParameter::DictIdFlag(false))?;
    Ok(compressor)
}

/// The checks before any decoding (SPEC.md §4.2, §4.3): the content the header declares is
/// within the format's ceiling, and the first frame declares the same content size (before
/// format version 10) or at most that, and some of it if there is any (from version 10, where
/// more frames may follow).
fn check_declared(
    payload: &[u8],
    content_length: u64,
    format_version: u16,
) -> Result<(), PayloadError> {
    if content_length > MAX_CONTENT_BYTES {
        return Err(PayloadError::ContentTooLarge {
            declared: content_length,
            max: MAX_CONTENT_BYTES,
        });
    }
    let info = frame_info(payload)?;
    if format_version < FORMAT_VERSION_10 {
        if info.content_size != content_length {
            return Err(PayloadError::FrameContentSizeMismatch {
                frame: info.content_size,
                header: content_length,
            });
        }
    } else if info.content_size > content_length {
        return Err(PayloadError::FrameBeyondContent {
            offset: 0,
            frame: info.content_size,
            left: content_length,
        });
    } else if info.content_size == 0 && content_length > 0 {
        return Err(PayloadError::EmptyFrame { offset: 0 });
    }
    Ok(())
}

/// Decompresses the single frame of `payload` into exactly `content_length` bytes whose SHA-256
/// is `content_sha256` (SPEC.md §4.3): [`decompress_version`] for a bundle before format
/// version 10.
pub fn decompress(
    payload: &[u8],
    content_length: u64,
    content_sha256: &[u8; 32],
) -> Result<Vec<u8>, PayloadError> {
    decompress_version(
        payload,
        content_length,
        content_sha256,
        crate::header::FORMAT_VERSION_1,
    )
}

/// Decompresses the frames of the payload of a bundle of `format_version` (one before version
/// 10, one or more from it) into exactly `content_length` bytes whose SHA-256 is
/// `content_sha256` (SPEC.md §4.3). Never produces more than `content_length + 1` bytes.
pub fn decompress_version(
    payload: &[u8],
    content_length: u64,
    content_sha256: &[u8; 32],
    format_version: u16,
) -> Result<Vec<u8>, PayloadError> {
    check_declared(payload, content_length, format_version)?;
    let corrupt = |e: std::io::Error| ZstdErrors { content_length }.map(e);
    let declared =
        usize::try_from(content_length).map_err(|_| PayloadError::ContentLongerThanDeclared {
            declared: content_length,
        })?;
    let mut decoder = Decoder::new().map_err(corrupt)?;
    decoder
        .set_parameter(DParameter::WindowLogMax(MAX_WINDOW_LOG))
        .map_err(corrupt)?;
    // One byte more than declared, so that a frame that would produce more is caught at once.
    let mut out = vec![0u8; declared.saturating_add(1)];
    let mut input = InBuffer::around(payload);
    let mut output = OutBuffer::around(out.as_mut_slice());
    // Where each frame but the last ended: payload offset and content bytes before it.
    let mut frame_ends = Vec::new();
    loop {
        let (in_before, out_before) = (input.pos(), output.pos());
        let hint = decoder.run(&mut input, &mut output).map_err(corrupt)?;
        if output.pos() > declared {
            return Err(PayloadError::ContentLongerThanDeclared {
                declared: content_length,
            });
        }
        if hint == 0 {
            let (end, produced) = (input.pos(), output.pos() as u64);
            // Whether the frame ended between records is checked once the content is whole.
            if !frames::next_frame(payload, end, produced, content_length, format_version, true)? {
                break;
            }
            frame_ends.push((end, produced));
            continue;
        }
        if input.pos() == in_before && output.pos() == out_before {
            return Err(PayloadError::FrameTruncated {
                content_so_far: output.pos() as u64,
            });
        }
    }
    let produced = output.pos();
    if produced != declared {
        return Err(PayloadError::ContentShorterThanDeclared {
            declared: content_length,
            found: produced as u64,
        });
    }
    out.truncate(produced);
    frames::check_frame_ends(&out, &frame_ends)?;
    let digest: [u8; 32] = Sha256::digest(&out).into();
    if &digest != content_sha256 {
        return Err(PayloadError::ContentHashMismatch {
            expected: hex::encode(content_sha256),
            found: hex::encode(digest),
        });
    }
    Ok(out)
}

/// Names libzstd's errors for a frame that declares `content_length` bytes.
#[derive(Clone, Copy)]
struct ZstdErrors {
    content_length: u64,
}

impl ZstdErrors {
    // libzstd reports errors only by name; these two names are the ones with a variant of
    // their own. The output buffer is never larger than the declared length plus one, so "too
    // small" means the frame expands beyond what it (and the header) declared. The test vectors
    // pin both.
    fn map(self, e: std::io::Error) -> PayloadError {
        let detail = e.to_string();
        if detail.contains("checksum") {
            PayloadError::FrameChecksumMismatch
        } else if detail.contains("Destination buffer is too small") {
            PayloadError::ContentLongerThanDeclared {
                declared: self.content_length,
            }
        } else {
            PayloadError::FrameCorrupt { detail }
        }
    }
}

/// Appends one record to `content` as a `u32` length prefix and its bincode encoding
/// (SPEC.md §5.1), after checking its shape limits. Returns the bytes appended.
pub fn encode_record(record: &Record, content: &mut Vec<u8>) -> Result<usize, EncodeError> {
    record.check().map_err(EncodeError::Shape)?;
    let start = content.len();
    content.extend_from_slice(&[0; 4]);
    let written = bincode::encode_into_std_write(record, content, wire_config())
        .map_err(|e| EncodeError::Bincode(e.to_string()));
    let length = written.and_then(|n| {
        u32::try_from(n)
            .ok()
            .filter(|&n| n <= MAX_RECORD_BYTES)
            .ok_or(EncodeError::TooLarge {
                length: n,
                max: MAX_RECORD_BYTES,
            })
    });
    match length {
        Ok(length) => {
            content[start..start + 4].copy_from_slice(&length.to_le_bytes());
            Ok(content.len() - start)
        }
        Err(e) => {
            content.truncate(start);
            Err(e)
        }
    }
}

/// Appends a `Record::Submission` carrying `submission`'s bytes verbatim: the `u32` length
/// prefix, the variant index 0 (§6.3) and the checked encoding. Byte for byte what
/// [`encode_record`] writes for the decoded version. Returns the bytes appended.
pub fn encode_submission(
    submission: &EncodedSubmission<'_>,
    content: &mut Vec<u8>,
) -> Result<usize, EncodeError> {
    const SUBMISSION_VARIANT: u32 = 0;
    let bytes = submission.bytes();
    let length = bytes
        .len()
        .checked_add(4)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n <= MAX_RECORD_BYTES)
        .ok_or(EncodeError::TooLarge {
            length: bytes.len().saturating_add(4),
            max: MAX_RECORD_BYTES,
        })?;
    content.reserve(bytes.len() + 8);
    content.extend_from_slice(&length.to_le_bytes());
    content.extend_from_slice(&SUBMISSION_VARIANT.to_le_bytes());
    content.extend_from_slice(bytes);
    Ok(bytes.len() + 8)
}

/// Why a record could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The record breaks a shape limit.
    #[error("record breaks a shape limit: {0}")]
    Shape(ShapeError),
    /// The encoded record is over the per-record limit.
    #[error("record encodes to {length} bytes, at most {max} allowed; split it")]
    TooLarge {
        /// Encoded size.
        length: usize,
        /// The limit.
        max: u32,
    },
    /// bincode could not encode the record.
    #[error("bincode could not encode the record: {0}")]
    Bincode(String),
}

/// Decodes the records of a format version 1 bundle of `kind` from its decompressed content
/// (SPEC.md §5.2).
pub fn decode_records(content: &[u8], kind: Kind) -> Result<Vec<Record>, PayloadError> {
    decode_records_of_version(content, kind, crate::header::FORMAT_VERSION_1)
}

/// Decodes the records of a bundle of `kind` and `format_version` (SPEC.md §5.2): a record
/// type newer than the bundle's format version is refused like one its kind may not hold.
pub fn decode_records_of_version(
    content: &[u8],
    kind: Kind,
    format_version: u16,
) -> Result<Vec<Record>, PayloadError> {
    let mut reader = Reader::new(content, 0);
    let mut records = Vec::new();
    let max = max_records(kind, format_version);
    while reader.remaining() > 0 {
        let index = records.len();
        if index >= max {
            return Err(PayloadError::TooManyRecords { kind, max });
        }
        let prefix_at = reader.position();
        let length =
            reader
                .u32("record length")
                .map_err(|_| PayloadError::RecordLengthTruncated {
                    index,
                    offset: prefix_at,
                })?;
        if length == 0 || length > MAX_RECORD_BYTES {
            return Err(PayloadError::RecordLength {
                index,
                offset: prefix_at,
                length,
                max: MAX_RECORD_BYTES,
            });
        }
        let offset = reader.position();
        let available = reader.remaining();
        let bytes =
            reader
                .take(length as usize, "record")
                .map_err(|_| PayloadError::RecordTruncated {
                    index,
                    offset,
                    length,
                    available,
                })?;
        let record = decode_one(bytes, index, offset, kind, format_version)?;
        records.push(record);
    }
    if kind == Kind::Keyset && records.is_empty() {
        return Err(PayloadError::MissingKeyset);
    }
    Ok(records)
}

/// Most records a bundle of `kind` and `format_version` may hold.
fn max_records(kind: Kind, format_version: u16) -> usize {
    kind.max_records(format_version)
        .unwrap_or(MAX_RECORDS_PER_BUNDLE)
        .min(MAX_RECORDS_PER_BUNDLE)
}

/// Decodes one record from exactly `bytes` (its length prefix already checked) and checks its
/// shape, its format version and that `kind` may hold it (SPEC.md §5.2). bincode runs under
/// [`RECORD_DECODE_BUDGET`], so a list or text whose claimed length would take more is refused
/// before anything is allocated for it.
fn decode_one(
    bytes: &[u8],
    index: usize,
    offset: usize,
    kind: Kind,
    format_version: u16,
) -> Result<Record, PayloadError> {
    let config = wire_config().with_limit::<RECORD_DECODE_BUDGET>();
    let (record, used): (Record, usize) =
        bincode::decode_from_slice(bytes, config).map_err(|e| PayloadError::RecordDecode {
            index,
            offset,
            detail: e.to_string(),
        })?;
    if used != bytes.len() {
        return Err(PayloadError::RecordTrailingBytes {
            index,
            offset,
            unread: bytes.len() - used,
        });
    }
    record
        .check()
        .map_err(|shape| PayloadError::RecordShape { index, shape })?;
    if record.format_version() > format_version {
        return Err(PayloadError::RecordNewerThanFormat {
            index,
            record: record.kind_name(),
            format_version,
        });
    }
    if !kind.allows(&record) {
        return Err(PayloadError::RecordNotAllowed {
            index,
            record: record.kind_name(),
            kind,
        });
    }
    Ok(record)
}
