//! A payload of several zstd frames (format version 10, SPEC.md §4): the writer cuts content of
//! more than one frame's worth into frames that each hold whole records and marks the bundle
//! version 10; a record is read back from its own frame alone; stock `zstd` decodes the frames
//! one after the other; a frame that splits a record, an empty frame, a frame claiming more than
//! the content, or a second frame in a bundle of an older version is refused.

mod common;

use bundle_format::header::{
    FORMAT_VERSION_1, FORMAT_VERSION_9, FORMAT_VERSION_10, HEADER_V1_BYTES, Header,
};
use bundle_format::payload::{
    FRAME_CONTENT_BYTES, PayloadError, RecordReader, compress, compress_frames, decode_payload,
    decompress_version, frame_spans, record_in_frame,
};
use bundle_format::records::Record;
use bundle_format::{BundleError, Kind};
use common::TestSigner;
use common::bundles::{config, content_of, read_from_outer, write_one};
use common::samples::submission;
use sha2::Digest as _;
use testkit::tools::{self, words};

fn outer() -> TestSigner {
    TestSigner::named("outer-bundle")
}

/// Enough sample submissions for more than two frames of content.
fn many() -> Vec<Record> {
    let records: Vec<Record> = (0..6_000).map(submission).collect();
    assert!(content_of(&records).len() > 2 * FRAME_CONTENT_BYTES);
    records
}

/// Where each record of `content` starts.
fn record_starts(content: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = 0;
    while at < content.len() {
        starts.push(at);
        let length = u32::from_le_bytes(content[at..at + 4].try_into().unwrap()) as usize;
        at += 4 + length;
    }
    starts
}

/// The signed message of a bundle file.
fn message_of(file: &[u8]) -> &[u8] {
    bundle_format::envelope::open(file, usize::MAX)
        .unwrap()
        .message
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(bytes).into()
}

/// Every way the library reads a payload, each with its refusal: whole, streamed, record by
/// record, and the frame table.
fn refusals(payload: &[u8], content: &[u8], version: u16) -> [PayloadError; 4] {
    let (length, digest) = (content.len() as u64, sha256(content));
    let whole = decompress_version(payload, length, &digest, version).unwrap_err();
    let streamed =
        decode_payload(payload, length, &digest, Kind::Submissions, version).unwrap_err();
    let reader = RecordReader::new(payload, length, &digest, Kind::Submissions, version)
        .unwrap()
        .find_map(Result::err)
        .expect("the record reader refuses it");
    let spans = frame_spans(payload, length, version).unwrap_err();
    [whole, streamed, reader, spans]
}

#[test]
fn content_of_more_than_one_frame_is_written_as_version_10_and_reads_back() {
    let records = many();
    let file = write_one(&outer(), config(Kind::Submissions), &records);
    let bundle = read_from_outer(&file);
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_10);
    assert_eq!(bundle.records, records);

    let payload = &message_of(&file)[HEADER_V1_BYTES..];
    let spans = frame_spans(
        payload,
        bundle.header.content_length,
        bundle.header.format_version,
    )
    .unwrap();
    assert!(spans.len() >= 3, "{} frames", spans.len());
    assert_eq!(spans[0].payload_offset, 0);
    assert_eq!(spans[0].first_record, 0);
    for pair in spans.windows(2) {
        assert_eq!(
            pair[0].payload_offset + pair[0].payload_length,
            pair[1].payload_offset
        );
        assert!(pair[0].first_record < pair[1].first_record);
    }
    let last = spans.last().unwrap();
    assert_eq!(last.payload_offset + last.payload_length, payload.len());
}

#[test]
fn a_record_is_read_back_from_its_own_frame_alone() {
    let records = many();
    let content = content_of(&records);
    let cuts: Vec<usize> = record_starts(&content).into_iter().step_by(1_000).collect();
    let payload = compress_frames(&content, &cuts).unwrap();
    let spans = frame_spans(&payload, content.len() as u64, FORMAT_VERSION_10).unwrap();
    assert_eq!(spans.len(), cuts.len());
    for index in [0, 1, 999, 1_000, 2_345, 5_999] {
        let span = spans
            .iter()
            .rev()
            .find(|span| span.first_record <= index)
            .unwrap();
        let frame = &payload[span.payload_offset..span.payload_offset + span.payload_length];
        let record = record_in_frame(
            frame,
            index - span.first_record,
            content.len() as u64,
            Kind::Submissions,
            FORMAT_VERSION_10,
        )
        .unwrap();
        assert_eq!(record, records[index], "record {index}");
    }
    // Past the frame's last record: its content ends where the next record's length would be.
    let frame = &payload[..spans[0].payload_length];
    let past = record_in_frame(
        frame,
        1_000,
        content.len() as u64,
        Kind::Submissions,
        FORMAT_VERSION_10,
    )
    .unwrap_err();
    assert!(
        matches!(
            past,
            PayloadError::RecordLengthTruncated { index: 1_000, .. }
        ),
        "{past:?}"
    );
}

/// The importer reads a bundle's records once to check them; the reader that does it also says
/// where each frame lies, exactly as the frame table does, so the frames need no second
/// decompression. A payload of one frame (before version 10) is one span.
#[test]
fn the_record_reader_finds_the_frames_the_frame_table_finds() {
    let records = many();
    let content = content_of(&records);
    let digest = sha256(&content);
    let cuts: Vec<usize> = record_starts(&content).into_iter().step_by(1_000).collect();
    let several = compress_frames(&content, &cuts).unwrap();
    let one = compress(&content).unwrap();
    for (payload, version) in [(&several, FORMAT_VERSION_10), (&one, FORMAT_VERSION_1)] {
        let mut reader = RecordReader::new(
            payload,
            content.len() as u64,
            &digest,
            Kind::Submissions,
            version,
        )
        .unwrap();
        assert_eq!(reader.by_ref().map(Result::unwrap).count(), records.len());
        assert_eq!(
            reader.frames(),
            frame_spans(payload, content.len() as u64, version)
                .unwrap()
                .as_slice(),
            "version {version}"
        );
    }
}

/// Reading again a payload verified before skips the content digest only: the records are
/// the same, a digest that does not match is not noticed (the first reading noticed it), and a
/// frame that splits a record is still refused.
#[test]
fn a_second_reading_of_a_verified_payload_checks_all_but_the_digest() {
    let records = many();
    let content = content_of(&records);
    let cuts: Vec<usize> = record_starts(&content).into_iter().step_by(1_000).collect();
    let payload = compress_frames(&content, &cuts).unwrap();
    let length = content.len() as u64;
    let wrong = [7; 32];
    let first = RecordReader::new(
        &payload,
        length,
        &wrong,
        Kind::Submissions,
        FORMAT_VERSION_10,
    )
    .unwrap()
    .find_map(Result::err);
    assert!(
        matches!(first, Some(PayloadError::ContentHashMismatch { .. })),
        "{first:?}"
    );
    let again: Vec<Record> =
        RecordReader::verified_before(&payload, length, Kind::Submissions, FORMAT_VERSION_10)
            .unwrap()
            .map(|record| record.unwrap().1)
            .collect();
    assert_eq!(again, records);
    let split_at = record_starts(&content)[1_000] + 5;
    let split = compress_frames(&content, &[0, split_at]).unwrap();
    let refused =
        RecordReader::verified_before(&split, length, Kind::Submissions, FORMAT_VERSION_10)
            .unwrap()
            .find_map(Result::err);
    assert!(
        matches!(refused, Some(PayloadError::RecordAcrossFrames { .. })),
        "{refused:?}"
    );
}

#[test]
fn content_of_one_frame_keeps_its_version_and_one_frame() {
    let records: Vec<Record> = (0..20).map(submission).collect();
    let file = write_one(&outer(), config(Kind::Submissions), &records);
    let bundle = read_from_outer(&file);
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_1);
    let content = content_of(&records);
    assert_eq!(
        &message_of(&file)[HEADER_V1_BYTES..],
        compress(&content).unwrap().as_slice(),
        "one frame, byte for byte as before version 10"
    );
}

#[test]
fn stock_zstd_decodes_a_payload_of_several_frames() {
    let records = many();
    let file = write_one(&outer(), config(Kind::Submissions), &records);
    let bundle = read_from_outer(&file);
    let dir = tempfile::tempdir().unwrap();
    let payload = &message_of(&file)[HEADER_V1_BYTES..];
    std::fs::write(dir.path().join("payload.zst"), payload).unwrap();
    tools::assert_success(
        &tools::zstd(&words("-q -d payload.zst -o content.bin"), dir.path()),
        "zstd -d of a payload of several frames",
    );
    let content = std::fs::read(dir.path().join("content.bin")).unwrap();
    assert_eq!(content.len() as u64, bundle.header.content_length);
    assert_eq!(sha256(&content), bundle.header.content_sha256);
}

#[test]
fn a_frame_that_splits_a_record_is_refused() {
    let records: Vec<Record> = (0..40).map(submission).collect();
    let content = content_of(&records);
    let starts = record_starts(&content);
    let inside = starts[20] + 3;
    let payload = compress_frames(&content, &[0, inside]).unwrap();
    let first_frame = compress(&content[..inside]).unwrap().len();
    for refusal in refusals(&payload, &content, FORMAT_VERSION_10) {
        assert_eq!(
            refusal,
            PayloadError::RecordAcrossFrames {
                offset: first_frame,
                content_offset: inside as u64,
            }
        );
        assert_eq!(refusal.code(), "payload.record-across-frames");
    }
    // The same frames at record boundaries are read.
    let payload = compress_frames(&content, &[0, starts[20]]).unwrap();
    let read = decode_payload(
        &payload,
        content.len() as u64,
        &sha256(&content),
        Kind::Submissions,
        FORMAT_VERSION_10,
    )
    .unwrap();
    assert_eq!(read, records);
}

#[test]
fn a_signed_bundle_whose_frame_splits_a_record_is_refused_by_the_reader() {
    let records: Vec<Record> = (0..40).map(submission).collect();
    let content = content_of(&records);
    let inside = record_starts(&content)[7] + 1;
    let payload = compress_frames(&content, &[0, inside]).unwrap();
    let written = write_one(&outer(), config(Kind::Submissions), &records);
    let (header, _) = Header::parse(
        message_of(&written),
        bundle_format::header::MAX_CONTENT_BYTES,
    )
    .unwrap();
    let header = Header {
        format_version: FORMAT_VERSION_10,
        payload_length: payload.len() as u64,
        ..header
    };
    let mut message = header.encode().to_vec();
    message.extend_from_slice(&payload);
    let file = bundle_format::envelope::seal(&outer(), "a split record", &message).unwrap();
    let keys = common::KeyTable::default().with(
        &outer(),
        keys::Role::OuterBundle,
        Some(common::bundles::CHANNEL),
    );
    let expect = bundle_format::Expectation {
        role: keys::Role::OuterBundle,
        channel: keys::ChannelId(common::bundles::CHANNEL),
        at: common::NOW,
    };
    let refused =
        bundle_format::read_bundle(&file, &keys, &expect, &bundle_format::ReadLimits::default())
            .unwrap_err();
    assert!(
        matches!(
            refused,
            BundleError::Payload(PayloadError::RecordAcrossFrames { .. })
        ),
        "{refused:?}"
    );
    assert_eq!(refused.code(), "payload.record-across-frames");
}

#[test]
fn a_second_frame_in_a_bundle_before_version_10_is_refused() {
    let records: Vec<Record> = (0..10).map(submission).collect();
    let content = content_of(&records);
    let cut = record_starts(&content)[5];
    let payload = compress_frames(&content, &[0, cut]).unwrap();
    let first = compress(&content[..cut]).unwrap().len();
    let (length, digest) = (content.len() as u64, sha256(&content));
    // Before version 10 the first frame must hold the whole content.
    assert_eq!(
        decode_payload(
            &payload,
            length,
            &digest,
            Kind::Submissions,
            FORMAT_VERSION_9
        )
        .unwrap_err(),
        PayloadError::FrameContentSizeMismatch {
            frame: cut as u64,
            header: length
        }
    );
    // A whole first frame followed by another is trailing data, as it always was.
    let mut doubled = compress(&content).unwrap();
    doubled.extend_from_slice(&compress(&content[..cut]).unwrap());
    let whole = compress(&content).unwrap().len();
    assert_eq!(
        decode_payload(
            &doubled,
            length,
            &digest,
            Kind::Submissions,
            FORMAT_VERSION_9
        )
        .unwrap_err(),
        PayloadError::TrailingAfterFrame {
            offset: whole,
            count: doubled.len() - whole
        }
    );
    assert!(first < whole);
}

#[test]
fn an_empty_frame_or_one_beyond_the_content_is_refused() {
    let records: Vec<Record> = (0..10).map(submission).collect();
    let content = content_of(&records);
    let cut = record_starts(&content)[5];
    let first = compress(&content[..cut]).unwrap();

    let mut with_empty = first.clone();
    with_empty.extend_from_slice(&compress(&[]).unwrap());
    with_empty.extend_from_slice(&compress(&content[cut..]).unwrap());
    for refusal in refusals(&with_empty, &content, FORMAT_VERSION_10) {
        assert_eq!(
            refusal,
            PayloadError::EmptyFrame {
                offset: first.len()
            }
        );
    }

    // The second frame repeats the whole content: more than the header's length leaves.
    let mut beyond = first.clone();
    beyond.extend_from_slice(&compress(&content).unwrap());
    for refusal in refusals(&beyond, &content, FORMAT_VERSION_10) {
        assert_eq!(
            refusal,
            PayloadError::FrameBeyondContent {
                offset: first.len(),
                frame: content.len() as u64,
                left: (content.len() - cut) as u64,
            }
        );
    }
}
