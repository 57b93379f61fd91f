//! Decompressing the payload and decoding its records in one pass (SPEC.md §4.3 and §5.2).
//!
//! The content is never held whole: the frames are decompressed a chunk at a time, each chunk is
//! hashed and appended to a carry buffer, and every record that is complete in that buffer is
//! decoded and handed over at once. The buffer holds at most one record and one chunk, so memory
//! follows what the caller keeps of the records, not the content length the header claims
//! (a header claiming 256 MiB of content makes nothing of that size be allocated).
//!
//! The refusals are those of [`super::decompress`] followed by
//! [`super::decode_records_of_version`], in the same order: a record that does not decode stops
//! the decoding of records, but the frame is still decompressed to its end and checked, so a
//! frame or digest problem is named before a record problem, as when the content was
//! decompressed first (a property test compares the two on mutated frames and contents). One
//! difference remains possible: libzstd names some corruptions by how much room it was given,
//! so a corrupt frame of more than one chunk of content may be refused as
//! `payload.frame-corrupt` where the whole-content decoder says
//! `payload.content-longer-than-declared`, or the other way round; it is refused either way.

use sha2::{Digest, Sha256};
use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};
use zstd::zstd_safe::DParameter;

use super::{
    MAX_RECORD_BYTES, MAX_WINDOW_LOG, PayloadError, ZstdErrors, check_declared, decode_one,
    frames::next_frame, max_records,
};
use crate::header::Kind;
use crate::records::Record;

/// Content bytes decompressed at a time.
pub(super) const CHUNK_BYTES: usize = 1 << 20;

/// Decompresses the frames of `payload` (one before format version 10), which must hold exactly `content_length` bytes
/// whose SHA-256 is `content_sha256`, and decodes the records of a bundle of `kind` and
/// `format_version` from it as they come (SPEC.md §4.3, §5.2). The same checks and refusals as
/// [`super::decompress`] then [`super::decode_records_of_version`], without holding the content.
pub fn decode_payload(
    payload: &[u8],
    content_length: u64,
    content_sha256: &[u8; 32],
    kind: Kind,
    format_version: u16,
) -> Result<Vec<Record>, PayloadError> {
    let mut records = Vec::new();
    for_each_record(
        payload,
        content_length,
        content_sha256,
        kind,
        format_version,
        |_, record| records.push(record),
    )?;
    Ok(records)
}

/// [`decode_payload`], handing each record to `each` with its index instead of collecting them.
/// Records are handed over before the frame's checksum and the content digest are checked: a
/// caller must act on them only when this returns `Ok`.
pub fn for_each_record(
    payload: &[u8],
    content_length: u64,
    content_sha256: &[u8; 32],
    kind: Kind,
    format_version: u16,
    mut each: impl FnMut(usize, Record),
) -> Result<usize, PayloadError> {
    let (mut decoder, corrupt) = bounded_decoder(payload, content_length, format_version)?;
    let mut splitter = Splitter::new(kind, format_version);
    let mut hasher = Sha256::new();
    let mut chunk = vec![0u8; CHUNK_BYTES];
    let mut input = InBuffer::around(payload);
    let mut produced: u64 = 0;
    loop {
        let in_before = input.pos();
        let room = chunk_room(content_length, produced);
        let (hint, written) = run_chunk(&mut decoder, &mut input, &mut chunk[..room], corrupt)?;
        produced += written as u64;
        if produced > content_length {
            return Err(PayloadError::ContentLongerThanDeclared {
                declared: content_length,
            });
        }
        let bytes = &chunk[..written];
        hasher.update(bytes);
        splitter.feed(bytes, &mut each);
        if hint == 0 {
            if next_frame(
                payload,
                input.pos(),
                produced,
                content_length,
                format_version,
                splitter.at_record_start(),
            )? {
                continue;
            }
            break;
        }
        if input.pos() == in_before && written == 0 {
            return Err(PayloadError::FrameTruncated {
                content_so_far: produced,
            });
        }
    }
    if produced != content_length {
        return Err(PayloadError::ContentShorterThanDeclared {
            declared: content_length,
            found: produced,
        });
    }
    let digest: [u8; 32] = hasher.finalize().into();
    if &digest != content_sha256 {
        return Err(PayloadError::ContentHashMismatch {
            expected: hex::encode(content_sha256),
            found: hex::encode(digest),
        });
    }
    splitter.finish()
}

/// The checks before any decoding, then a decoder held to the format's window (SPEC.md §4.2,
/// §4.3), with the namer of its errors for a frame of `content_length` bytes.
fn bounded_decoder(
    payload: &[u8],
    content_length: u64,
    format_version: u16,
) -> Result<(Decoder<'static>, ZstdErrors), PayloadError> {
    check_declared(payload, content_length, format_version)?;
    let corrupt = ZstdErrors { content_length };
    let mut decoder = Decoder::new().map_err(|e| corrupt.map(e))?;
    decoder
        .set_parameter(DParameter::WindowLogMax(MAX_WINDOW_LOG))
        .map_err(|e| corrupt.map(e))?;
    Ok((decoder, corrupt))
}

/// Runs `decoder` on `input` into `chunk` once: libzstd's hint (0 once a frame has ended) and
/// the content bytes it wrote.
pub(super) fn run_chunk(
    decoder: &mut Decoder<'static>,
    input: &mut InBuffer<'_>,
    chunk: &mut [u8],
    corrupt: ZstdErrors,
) -> Result<(usize, usize), PayloadError> {
    let mut output = OutBuffer::around(chunk);
    let hint = decoder
        .run(input, &mut output)
        .map_err(|e| corrupt.map(e))?;
    Ok((hint, output.pos()))
}

/// How much of the chunk buffer the decoder may fill: never more than one byte past the
/// declared content, as `decompress` allows, so that libzstd meets a frame that runs over in the
/// same way (and names it the same) whether the content is decompressed whole or in chunks.
pub(super) fn chunk_room(content_length: u64, produced: u64) -> usize {
    let left = content_length.saturating_sub(produced).saturating_add(1);
    usize::try_from(left).map_or(CHUNK_BYTES, |left| left.min(CHUNK_BYTES))
}

/// Cuts the content into records as it arrives (SPEC.md §5.1) and decodes each complete one.
struct Splitter {
    kind: Kind,
    format_version: u16,
    max: usize,
    /// Content not yet decoded: the rest of the last chunk and the start of a record.
    pending: Vec<u8>,
    /// Offset in the content of `pending[0]`.
    base: usize,
    /// Index of the next record.
    index: usize,
    /// The first refusal of a record; no record is decoded after it.
    failed: Option<PayloadError>,
}

impl Splitter {
    fn new(kind: Kind, format_version: u16) -> Splitter {
        Splitter {
            kind,
            format_version,
            max: max_records(kind, format_version),
            pending: Vec::new(),
            base: 0,
            index: 0,
            failed: None,
        }
    }

    fn feed(&mut self, bytes: &[u8], each: &mut impl FnMut(usize, Record)) {
        if self.failed.is_some() {
            return;
        }
        self.pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(result) = self.next_record(start) {
            match result {
                Ok((record, used)) => {
                    each(self.index, record);
                    self.index += 1;
                    start += used;
                }
                Err(refusal) => {
                    self.failed = Some(refusal);
                    self.pending = Vec::new();
                    return;
                }
            }
        }
        // What is left is less than one record; its bytes move to the front.
        self.pending.drain(..start);
        self.base += start;
    }

    /// The record starting at `pending[start]` and the bytes it takes, if it is complete.
    fn next_record(&self, start: usize) -> Option<Result<(Record, usize), PayloadError>> {
        let available = &self.pending[start..];
        if available.is_empty() {
            return None;
        }
        if self.index >= self.max {
            return Some(Err(PayloadError::TooManyRecords {
                kind: self.kind,
                max: self.max,
            }));
        }
        let prefix: [u8; 4] = available.get(..4)?.try_into().ok()?;
        let length = u32::from_le_bytes(prefix);
        let prefix_at = self.base + start;
        if length == 0 || length > MAX_RECORD_BYTES {
            return Some(Err(PayloadError::RecordLength {
                index: self.index,
                offset: prefix_at,
                length,
                max: MAX_RECORD_BYTES,
            }));
        }
        let bytes = available.get(4..4 + length as usize)?;
        Some(
            decode_one(
                bytes,
                self.index,
                prefix_at + 4,
                self.kind,
                self.format_version,
            )
            .map(|record| (record, 4 + length as usize)),
        )
    }

    /// Whether the content fed so far ends with a whole record.
    fn at_record_start(&self) -> bool {
        self.pending.is_empty()
    }

    /// The number of records, or why the content's records are refused.
    fn finish(self) -> Result<usize, PayloadError> {
        if let Some(refusal) = self.failed {
            return Err(refusal);
        }
        let index = self.index;
        let offset = self.base;
        match self.pending.len() {
            0 => {}
            1..4 => return Err(PayloadError::RecordLengthTruncated { index, offset }),
            available => {
                let mut prefix = [0u8; 4];
                prefix.copy_from_slice(&self.pending[..4]);
                return Err(PayloadError::RecordTruncated {
                    index,
                    offset: offset + 4,
                    length: u32::from_le_bytes(prefix),
                    available: available - 4,
                });
            }
        }
        if self.kind == Kind::Keyset && index == 0 {
            return Err(PayloadError::MissingKeyset);
        }
        Ok(index)
    }
}

/// The records of a payload that was verified before, read one at a time: for a receiver that
/// keeps the verified message and reads its records again in several passes instead of
/// holding them all decoded. Every check of [`for_each_record`] is made again, but a refusal
/// is reported when it is met (a record refused before a frame problem behind it), and a
/// record is handed out before the frame's checksum and the content digest are checked at the
/// end: the caller acts on what it read only once the reader has returned `None`.
pub struct RecordReader<'a> {
    payload: &'a [u8],
    format_version: u16,
    consumed: usize,
    content_length: u64,
    content_sha256: [u8; 32],
    decoder: Decoder<'static>,
    chunk: Vec<u8>,
    produced: u64,
    /// The content's SHA-256 so far; `None` when the reader was told the digest was checked
    /// before ([`RecordReader::verified_before`]).
    hasher: Option<Sha256>,
    splitter: Splitter,
    /// The records decoded from the last chunk and not yet handed out, in order.
    ready: std::collections::VecDeque<(usize, Record)>,
    /// The frames ended so far, where each lies and the first record it holds.
    frames: Vec<super::frames::FrameSpan>,
    /// Payload offset and first record of the frame being read.
    frame_start: (usize, usize),
    frame_done: bool,
    finished: bool,
}

impl<'a> RecordReader<'a> {
    /// A reader of the records in `payload`, the frame of a bundle of `kind` and
    /// `format_version` whose header declares `content_length` bytes of content with SHA-256
    /// `content_sha256`.
    pub fn new(
        payload: &'a [u8],
        content_length: u64,
        content_sha256: &[u8; 32],
        kind: Kind,
        format_version: u16,
    ) -> Result<RecordReader<'a>, PayloadError> {
        let (decoder, _) = bounded_decoder(payload, content_length, format_version)?;
        Ok(RecordReader {
            payload,
            format_version,
            consumed: 0,
            content_length,
            content_sha256: *content_sha256,
            decoder,
            chunk: vec![0u8; CHUNK_BYTES],
            produced: 0,
            hasher: Some(Sha256::new()),
            splitter: Splitter::new(kind, format_version),
            ready: std::collections::VecDeque::new(),
            frames: Vec::new(),
            frame_start: (0, 0),
            frame_done: false,
            finished: false,
        })
    }

    /// A reader of records read again from a payload whose content this process read whole
    /// before and found to have its header's SHA-256 (an importer holding a verified message
    /// reads its records at each of several passes): every check of [`RecordReader::new`] is
    /// made again but the content digest, which is not computed. Never for a payload that was
    /// not verified in this process.
    pub fn verified_before(
        payload: &'a [u8],
        content_length: u64,
        kind: Kind,
        format_version: u16,
    ) -> Result<RecordReader<'a>, PayloadError> {
        let mut reader =
            RecordReader::new(payload, content_length, &[0; 32], kind, format_version)?;
        reader.hasher = None;
        Ok(reader)
    }

    /// Decompresses the next chunk and decodes the records it completes.
    fn advance(&mut self) -> Result<(), PayloadError> {
        let corrupt = ZstdErrors {
            content_length: self.content_length,
        };
        let mut input = InBuffer::around(&self.payload[self.consumed..]);
        let room = chunk_room(self.content_length, self.produced);
        let (hint, written) = run_chunk(
            &mut self.decoder,
            &mut input,
            &mut self.chunk[..room],
            corrupt,
        )?;
        let read = input.pos();
        self.consumed += read;
        self.produced += written as u64;
        if self.produced > self.content_length {
            return Err(PayloadError::ContentLongerThanDeclared {
                declared: self.content_length,
            });
        }
        let bytes = &self.chunk[..written];
        if let Some(hasher) = &mut self.hasher {
            hasher.update(bytes);
        }
        let ready = &mut self.ready;
        self.splitter
            .feed(bytes, &mut |index, record| ready.push_back((index, record)));
        if let Some(refusal) = self.splitter.failed.take() {
            return Err(refusal);
        }
        if hint == 0 {
            // The frame ended on a record boundary (checked below before anything follows);
            // every record it completed was decoded above.
            let (offset, first_record) = self.frame_start;
            self.frames.push(super::frames::FrameSpan {
                payload_offset: offset,
                payload_length: self.consumed - offset,
                first_record,
            });
            self.frame_start = (self.consumed, self.splitter.index);
            self.frame_done = !next_frame(
                self.payload,
                self.consumed,
                self.produced,
                self.content_length,
                self.format_version,
                self.splitter.at_record_start(),
            )?;
        } else if read == 0 && written == 0 {
            return Err(PayloadError::FrameTruncated {
                content_so_far: self.produced,
            });
        }
        Ok(())
    }

    /// Where each frame read so far lies in the payload and which record it starts with: once
    /// the reader has returned `None` (no refusal), every frame of the payload, as
    /// [`super::frame_spans`] finds them, without decompressing the payload a second time.
    pub fn frames(&self) -> &[super::frames::FrameSpan] {
        &self.frames
    }

    /// The checks made once the last frame has ended.
    fn finish(&mut self) -> Result<(), PayloadError> {
        if self.produced != self.content_length {
            return Err(PayloadError::ContentShorterThanDeclared {
                declared: self.content_length,
                found: self.produced,
            });
        }
        if let Some(hasher) = self.hasher.take() {
            let digest: [u8; 32] = hasher.finalize().into();
            if digest != self.content_sha256 {
                return Err(PayloadError::ContentHashMismatch {
                    expected: hex::encode(self.content_sha256),
                    found: hex::encode(digest),
                });
            }
        }
        let splitter = std::mem::replace(
            &mut self.splitter,
            Splitter::new(Kind::Heartbeat, crate::header::FORMAT_VERSION_1),
        );
        splitter.finish().map(|_| ())
    }
}

impl Iterator for RecordReader<'_> {
    type Item = Result<(usize, Record), PayloadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(record) = self.ready.pop_front() {
                return Some(Ok(record));
            }
            if self.finished {
                return None;
            }
            let step = if self.frame_done {
                self.finished = true;
                self.finish()
            } else {
                self.advance()
            };
            if let Err(refusal) = step {
                self.finished = true;
                self.ready.clear();
                return Some(Err(refusal));
            }
        }
    }
}
