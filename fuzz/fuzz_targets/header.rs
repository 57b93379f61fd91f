//! The version 1 header parser (`Header::parse`, SPEC.md §3.4) on an arbitrary message `M`.
#![no_main]

use bundle_format::Header;
use bundle_format::header::{HEADER_V1_BYTES, MAX_CONTENT_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|message: &[u8]| {
    let Ok((header, payload)) = Header::parse(message, MAX_CONTENT_BYTES) else {
        return;
    };
    // Flags and reserved bytes must be zero, so an accepted header re-encodes to exactly the
    // bytes it was parsed from, and the payload is the rest of the message.
    assert_eq!(&header.encode()[..], &message[..HEADER_V1_BYTES]);
    assert_eq!(payload, &message[HEADER_V1_BYTES..]);
    assert_eq!(header.payload_length, payload.len() as u64);
    assert!(header.sequence >= 1 && header.expires >= header.created);
});
