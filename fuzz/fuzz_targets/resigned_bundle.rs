//! Structure-aware: the fuzzer's bytes become a bundle that is signed with a fixture key the
//! fixture keyset trusts, so every input gets past the signature into `read_bundle`'s header,
//! payload and record decoding (SPEC.md §8).
//!
//! Input: byte 0 picks the mode (bit 0) and the signer's role (bit 1: outer-bundle or
//! inner-return).
//! - Mode 0: the rest is the message `M` itself, signed as is.
//! - Mode 1: the rest is a 160-byte header template followed by uncompressed content
//!   (length-prefixed bincode records). The content is compressed with the library's
//!   compressor and its true payload length, content length and SHA-256 are written into the
//!   template, so mutations of header fields and record bytes reach the record decoder instead
//!   of dying at a length or hash check.
#![no_main]

use bundle_format::bundle::ReadLimits;
use bundle_format::header::HEADER_V1_BYTES;
use bundle_format::{BundleId, read_bundle};
use keys::Role;
use libfuzzer_sys::fuzz_target;
use sluice_fuzz::{expectation, fixture, message_from_parts, seal};

fuzz_target!(|input: &[u8]| {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    let role = if selector & 2 == 0 {
        Role::OuterBundle
    } else {
        Role::InnerReturn
    };
    let message = if selector & 1 == 0 {
        rest.to_vec()
    } else {
        let Some((header, content)) = rest.split_first_chunk::<HEADER_V1_BYTES>() else {
            return;
        };
        message_from_parts(header, content)
    };
    let file = seal(fixture().bundle_key(role), &message);
    let Ok(bundle) = read_bundle(
        &file,
        &fixture().keyset,
        &expectation(role),
        &ReadLimits::default(),
    ) else {
        return;
    };
    // What the reader accepted is consistent with what it was given.
    assert_eq!(bundle.id, BundleId::of_message(&message));
    assert_eq!(bundle.header.encode()[..], message[..HEADER_V1_BYTES]);
    assert!(bundle.header.kind.allowed_signer(role));
    for record in &bundle.records {
        assert!(bundle.header.kind.allows(record));
        assert!(record.check().is_ok());
    }
});
