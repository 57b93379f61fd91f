//! The payload decoder: zstd frame checks and bounded decompression (`payload::frame_info`,
//! `payload::decompress`, SPEC.md §4) and record decoding (`payload::decode_records`, §5).
//!
//! Input: byte 0 picks the bundle kind (low 2 bits) and the mode (bits 2 and 3); the rest is a
//! zstd payload (mode 0), decompressed content, i.e. length-prefixed bincode records (mode 1), or
//! a content length (4 bytes, little-endian) and a payload of format version 10, which may hold
//! several frames (mode 2, SPEC.md §4). In mode 0 the content length is the one the frame
//! declares, and the content hash is taken from the decoder's own hash-mismatch answer so that a
//! frame which decodes reaches the record decoder too. In mode 2 every reader of frames runs on
//! the payload; a payload whose frames are whole (only the made-up hash differs) must give a
//! frame table whose frames each read their first record.
#![no_main]

use bundle_format::Kind;
use bundle_format::header::FORMAT_VERSION_10;
use bundle_format::payload::{self, PayloadError};
use libfuzzer_sys::fuzz_target;

fn records(content: &[u8], kind: Kind) {
    let Ok(records) = payload::decode_records(content, kind) else {
        return;
    };
    // Every accepted record re-encodes, and the encoding decodes to the same record.
    for record in &records {
        assert!(kind.allows(record));
        let mut encoded = Vec::new();
        payload::encode_record(record, &mut encoded).expect("an accepted record re-encodes");
        let again = payload::decode_records(&encoded, kind).expect("a re-encoded record decodes");
        assert_eq!(again.as_slice(), std::slice::from_ref(record));
    }
}

/// Mode 2: a payload of format version 10 claiming `length` bytes of content.
fn frames(length: u64, payload: &[u8], kind: Kind) {
    let length = length.min(1 << 24);
    let whole = payload::decompress_version(payload, length, &[0; 32], FORMAT_VERSION_10);
    let _ = payload::decode_payload(payload, length, &[0; 32], kind, FORMAT_VERSION_10);
    if let Ok(reader) =
        payload::RecordReader::new(payload, length, &[0; 32], kind, FORMAT_VERSION_10)
    {
        for _ in reader {}
    }
    let spans = payload::frame_spans(payload, length, FORMAT_VERSION_10);
    if let Err(PayloadError::ContentHashMismatch { .. }) = whole {
        let spans = spans.expect("frames that decompress whole have a frame table");
        for span in spans {
            let frame = &payload[span.payload_offset..span.payload_offset + span.payload_length];
            let _ = payload::record_in_frame(frame, 0, length, kind, FORMAT_VERSION_10);
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    let kind = Kind::ALL[usize::from(selector & 3)];
    if selector & 8 != 0 {
        if let Some((length, payload)) = rest.split_first_chunk::<4>() {
            frames(u64::from(u32::from_le_bytes(*length)), payload, kind);
        }
        return;
    }
    if selector & 4 != 0 {
        records(rest, kind);
        return;
    }
    let Ok(info) = payload::frame_info(rest) else {
        return;
    };
    match payload::decompress(rest, info.content_size, &[0; 32]) {
        Ok(content) => records(&content, kind),
        Err(PayloadError::ContentHashMismatch { found, .. }) => {
            let mut digest = [0u8; 32];
            hex::decode_to_slice(&found, &mut digest).expect("the decoder reports hex");
            let content = payload::decompress(rest, info.content_size, &digest)
                .expect("the same frame decodes with its own hash");
            assert_eq!(content.len() as u64, info.content_size);
            records(&content, kind);
        }
        Err(_) => {}
    }
});
