//! A payload of several zstd frames (format version 10, SPEC.md §4): writing the content in
//! frames that each hold whole records, the checks made where one frame ends and the next
//! begins, where each frame lies and which record it starts with, and reading one record back
//! from its own frame alone.
//!
//! A bundle of 50,000 filings holds about 60 MB of content; reading its last record back from a
//! single frame decompresses all of it. Cut into frames of about [`FRAME_CONTENT_BYTES`], a
//! record is read back by decompressing at most one frame (SPEC.md §4.1).

use std::io::Read as _;

use zstd::stream::raw::{Decoder, InBuffer};
use zstd::zstd_safe::DParameter;

use super::{
    FORMAT_VERSION_10, MAX_RECORD_BYTES, MAX_WINDOW_LOG, PayloadError, ZstdErrors, compressor,
    decode_one, frame_info,
};
use crate::header::Kind;
use crate::records::Record;

/// Content bytes after which the writer starts a new frame, at the next record boundary
/// (SPEC.md §4.1). Decompressing one frame of this size takes about a millisecond.
pub const FRAME_CONTENT_BYTES: usize = 1 << 20;

/// Compresses `content` into one frame per slice that starts at each offset of `starts` (the
/// first is 0; each is a record boundary), one after the other (SPEC.md §4.1). With one start
/// this is [`compress`](super::compress).
///
/// The frames are independent, so they are compressed on up to four threads (as many as the
/// machine has), each taking a run of consecutive frames, and joined in order: the payload is
/// byte for byte the one a single thread writes.
pub fn compress_frames(content: &[u8], starts: &[usize]) -> std::io::Result<Vec<u8>> {
    let pieces = starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = starts.get(i + 1).copied().unwrap_or(content.len());
            content.get(start..end).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("frame {i} runs from {start} to {end}, outside the content"),
                )
            })
        })
        .collect::<std::io::Result<Vec<&[u8]>>>()?;
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(COMPRESSION_THREADS)
        .min(pieces.len());
    if threads <= 1 {
        return compress_run(&pieces);
    }
    let run = pieces.len().div_ceil(threads);
    let compressed = std::thread::scope(|scope| {
        let workers: Vec<_> = pieces
            .chunks(run)
            .map(|frames| scope.spawn(move || compress_run(frames)))
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect::<std::io::Result<Vec<Vec<u8>>>>()
    })?;
    Ok(compressed.concat())
}

/// Most threads [`compress_frames`] compresses on.
const COMPRESSION_THREADS: usize = 4;

/// The frames of `pieces`, one after the other, with one compressor.
fn compress_run(pieces: &[&[u8]]) -> std::io::Result<Vec<u8>> {
    let mut compressor = compressor()?;
    let mut payload = Vec::new();
    for piece in pieces {
        payload.extend_from_slice(&compressor.compress(piece)?);
    }
    Ok(payload)
}

/// Where one frame of a payload lies and the first record it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSpan {
    /// Offset of the frame in the payload.
    pub payload_offset: usize,
    /// Bytes of the frame.
    pub payload_length: usize,
    /// Index in the content of the first record the frame holds.
    pub first_record: usize,
}

/// After a frame ended at payload offset `end`, with `produced` content bytes so far: whether
/// another frame follows, checked before it is decoded (SPEC.md §4.3). `at_record_start` says
/// whether the content so far ends with a whole record. Before format version 10 nothing may
/// follow the frame.
pub(super) fn next_frame(
    payload: &[u8],
    end: usize,
    produced: u64,
    content_length: u64,
    format_version: u16,
    at_record_start: bool,
) -> Result<bool, PayloadError> {
    let rest = payload.get(end..).unwrap_or_default();
    if rest.is_empty() {
        return Ok(false);
    }
    if format_version < FORMAT_VERSION_10 {
        return Err(PayloadError::TrailingAfterFrame {
            offset: end,
            count: rest.len(),
        });
    }
    let info = frame_info(rest).map_err(|e| match e {
        PayloadError::FrameHeaderTruncated { field, offset } => {
            PayloadError::FrameHeaderTruncated {
                field,
                offset: end + offset,
            }
        }
        other => other,
    })?;
    if info.content_size == 0 {
        return Err(PayloadError::EmptyFrame { offset: end });
    }
    let left = content_length.saturating_sub(produced);
    if info.content_size > left {
        return Err(PayloadError::FrameBeyondContent {
            offset: end,
            frame: info.content_size,
            left,
        });
    }
    if !at_record_start {
        return Err(PayloadError::RecordAcrossFrames {
            offset: end,
            content_offset: produced,
        });
    }
    Ok(true)
}

/// Checks that each frame after the first starts at a record of `content` (SPEC.md §4.3):
/// `ends` holds, for each frame but the last, the payload offset where it ended and the
/// content bytes before that point. Where a record length is out of bounds the walk stops: the
/// record's own check names that.
pub(super) fn check_frame_ends(content: &[u8], ends: &[(usize, u64)]) -> Result<(), PayloadError> {
    let mut starts = RecordStarts::default();
    let mut walked = 0usize;
    for &(offset, content_offset) in ends {
        let Ok(until) = usize::try_from(content_offset) else {
            return Ok(());
        };
        let Some(piece) = content.get(walked..until) else {
            return Ok(());
        };
        if starts.feed(piece).is_err() {
            return Ok(());
        }
        walked = until;
        if !starts.at_record_start() {
            return Err(PayloadError::RecordAcrossFrames {
                offset,
                content_offset,
            });
        }
    }
    Ok(())
}

/// Follows the length prefixes of the content as it arrives (SPEC.md §5.1), counting the
/// records that start, without decoding them.
#[derive(Default)]
struct RecordStarts {
    /// Records started so far.
    started: usize,
    /// Content bytes seen so far.
    seen: u64,
    /// Bytes of the current record still to come.
    left_in_record: u64,
    /// The length prefix read so far.
    prefix: [u8; 4],
    /// How many of its bytes are read.
    prefix_read: usize,
}

impl RecordStarts {
    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), PayloadError> {
        while !bytes.is_empty() {
            if self.left_in_record > 0 {
                let take = usize::try_from(self.left_in_record)
                    .map_or(bytes.len(), |left| left.min(bytes.len()));
                self.left_in_record -= take as u64;
                self.seen += take as u64;
                bytes = &bytes[take..];
                continue;
            }
            let take = (4 - self.prefix_read).min(bytes.len());
            self.prefix[self.prefix_read..self.prefix_read + take].copy_from_slice(&bytes[..take]);
            self.prefix_read += take;
            self.seen += take as u64;
            bytes = &bytes[take..];
            if self.prefix_read == 4 {
                let length = u32::from_le_bytes(self.prefix);
                if length == 0 || length > MAX_RECORD_BYTES {
                    return Err(PayloadError::RecordLength {
                        index: self.started,
                        offset: usize::try_from(self.seen - 4).unwrap_or(usize::MAX),
                        length,
                        max: MAX_RECORD_BYTES,
                    });
                }
                self.prefix_read = 0;
                self.left_in_record = u64::from(length);
                self.started += 1;
            }
        }
        Ok(())
    }

    fn at_record_start(&self) -> bool {
        self.left_in_record == 0 && self.prefix_read == 0
    }
}

/// Where each frame of a verified payload lies and which record it starts with: one span for
/// a payload before format version 10, one per frame from it. Every frame is decompressed (a
/// chunk at a time) to count its records, and the checks of SPEC.md §4.3 are made again;
/// the content's digest is not (the payload was verified before).
pub fn frame_spans(
    payload: &[u8],
    content_length: u64,
    format_version: u16,
) -> Result<Vec<FrameSpan>, PayloadError> {
    if format_version < FORMAT_VERSION_10 {
        return Ok(vec![FrameSpan {
            payload_offset: 0,
            payload_length: payload.len(),
            first_record: 0,
        }]);
    }
    let corrupt = ZstdErrors { content_length };
    let mut decoder = Decoder::new().map_err(|e| corrupt.map(e))?;
    decoder
        .set_parameter(DParameter::WindowLogMax(MAX_WINDOW_LOG))
        .map_err(|e| corrupt.map(e))?;
    super::check_declared(payload, content_length, format_version)?;
    let mut spans = Vec::new();
    let mut starts = RecordStarts::default();
    let mut chunk = vec![0u8; super::stream::CHUNK_BYTES];
    let mut input = InBuffer::around(payload);
    let mut frame_start = 0usize;
    let mut first_record = 0usize;
    loop {
        let in_before = input.pos();
        let room = super::stream::chunk_room(content_length, starts.seen);
        let (hint, written) =
            super::stream::run_chunk(&mut decoder, &mut input, &mut chunk[..room], corrupt)?;
        starts.feed(&chunk[..written])?;
        if starts.seen > content_length {
            return Err(PayloadError::ContentLongerThanDeclared {
                declared: content_length,
            });
        }
        if hint == 0 {
            let end = input.pos();
            spans.push(FrameSpan {
                payload_offset: frame_start,
                payload_length: end - frame_start,
                first_record,
            });
            let at_start = starts.at_record_start();
            if !next_frame(
                payload,
                end,
                starts.seen,
                content_length,
                format_version,
                at_start,
            )? {
                break;
            }
            frame_start = end;
            first_record = starts.started;
        } else if input.pos() == in_before && written == 0 {
            return Err(PayloadError::FrameTruncated {
                content_so_far: starts.seen,
            });
        }
    }
    if starts.seen != content_length {
        return Err(PayloadError::ContentShorterThanDeclared {
            declared: content_length,
            found: starts.seen,
        });
    }
    Ok(spans)
}

/// Record `skip` of `frame` (counting from the frame's first record), read by decompressing
/// that one frame only as far as the record, under the bounds of the bundle reader: the frame
/// header checked, its content at most `content_bound` bytes (the bundle's content length),
/// the window capped, each record length checked, and the record decoded and checked as a
/// record of a `kind` bundle of `format_version` (SPEC.md §4.1, §5.2).
pub fn record_in_frame(
    frame: &[u8],
    skip: usize,
    content_bound: u64,
    kind: Kind,
    format_version: u16,
) -> Result<Record, PayloadError> {
    let info = frame_info(frame)?;
    if info.content_size > content_bound {
        return Err(PayloadError::FrameBeyondContent {
            offset: 0,
            frame: info.content_size,
            left: content_bound,
        });
    }
    let corrupt = ZstdErrors {
        content_length: info.content_size,
    };
    let mut decoder = zstd::stream::read::Decoder::with_buffer(frame)
        .map_err(|e| corrupt.map(e))?
        .single_frame();
    decoder
        .window_log_max(MAX_WINDOW_LOG)
        .map_err(|e| corrupt.map(e))?;
    let mut content = decoder.take(info.content_size);
    let mut offset = 0usize;
    let mut index = 0usize;
    loop {
        let mut prefix = [0u8; 4];
        read_all(&mut content, &mut prefix, corrupt)
            .ok_or(PayloadError::RecordLengthTruncated { index, offset })??;
        let length = u32::from_le_bytes(prefix);
        if length == 0 || length > MAX_RECORD_BYTES {
            return Err(PayloadError::RecordLength {
                index,
                offset,
                length,
                max: MAX_RECORD_BYTES,
            });
        }
        let record_offset = offset + 4;
        if index == skip {
            let mut bytes = vec![0u8; length as usize];
            read_all(&mut content, &mut bytes, corrupt).ok_or(
                PayloadError::RecordTruncated {
                    index,
                    offset: record_offset,
                    length,
                    available: 0,
                },
            )??;
            return decode_one(&bytes, index, record_offset, kind, format_version);
        }
        let skipped = std::io::copy(
            &mut (&mut content).take(u64::from(length)),
            &mut std::io::sink(),
        )
        .map_err(|e| corrupt.map(e))?;
        if skipped != u64::from(length) {
            return Err(PayloadError::RecordTruncated {
                index,
                offset: record_offset,
                length,
                available: usize::try_from(skipped).unwrap_or(usize::MAX),
            });
        }
        offset = record_offset + length as usize;
        index += 1;
    }
}

/// Fills `buf` from `reader`: `None` when the content ends first, `Some(Err)` when zstd fails.
fn read_all(
    reader: &mut impl std::io::Read,
    buf: &mut [u8],
    corrupt: ZstdErrors,
) -> Option<Result<(), PayloadError>> {
    match reader.read_exact(buf) {
        Ok(()) => Some(Ok(())),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => None,
        Err(e) => Some(Err(corrupt.map(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames compressed on several threads are the frames one thread writes, in order.
    #[test]
    fn frames_compressed_on_several_threads_are_the_single_threaded_payload() {
        let content: Vec<u8> = (0..9u32)
            .flat_map(|i| format!("record {i} ").repeat(5_000).into_bytes())
            .collect();
        let starts: Vec<usize> = (0..9).map(|i| i * content.len() / 9).collect();
        let mut one_by_one = Vec::new();
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(content.len());
            one_by_one.extend_from_slice(&super::super::compress(&content[start..end]).unwrap());
        }
        assert_eq!(compress_frames(&content, &starts).unwrap(), one_by_one);
        assert_eq!(
            compress_run(&[&content[..]]).unwrap(),
            super::super::compress(&content).unwrap()
        );
    }
}
