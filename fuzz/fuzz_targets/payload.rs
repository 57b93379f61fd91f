//! The payload decoder: zstd frame checks and bounded decompression (`payload::frame_info`,
//! `payload::decompress`, SPEC.md §4) and record decoding (`payload::decode_records`, §5).
//!
//! Input: byte 0 picks the bundle kind (low 2 bits) and the mode (bit 2); the rest is either a
//! zstd payload (mode 0) or decompressed content, i.e. length-prefixed bincode records (mode 1).
//! In mode 0 the content length is the one the frame declares, and the content hash is
//! taken from the decoder's own hash-mismatch answer so that a frame which decodes reaches the
//! record decoder too.
#![no_main]

use bundle_format::Kind;
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

fuzz_target!(|input: &[u8]| {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    let kind = Kind::ALL[usize::from(selector & 3)];
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
