//! The committed corpus of negative bundles in `tests/vectors/` (SPEC.md §10).
//!
//! Each `NAME.bundle` is named after the attack it stands for and has a sidecar `NAME.expected`
//! whose first line is `expect: accept` or `expect: <error code>` (see `BundleError::code`) and
//! whose second line says what the attack is. The files are made by the deterministic generator
//! below from fixed test keys: zstd frames are assembled by hand from raw and RLE blocks (with a
//! local XXH64 for the frame checksum) so that no compressor version can change a byte.
//!
//! Regenerate (only to add vectors; published ones never change):
//! `SLUICE_BLESS_VECTORS=1 cargo test -p bundle-format --test vectors`

// Block sizes, checksums and vector sizes are small or truncated on purpose (the zstd checksum
// is the low 32 bits of XXH64).
#![allow(clippy::cast_possible_truncation)]

mod common;

use std::path::{Path, PathBuf};

use bundle_format::envelope;
use bundle_format::header::{HEADER_V1_BYTES, Header};
use bundle_format::payload::encode_record;
use bundle_format::records::{Record, Website};
use bundle_format::{BundleId, Expectation, Kind, ReadLimits, read_bundle};
use common::bundles::content_of;
use common::samples::{return_records, submission};
use common::{Member, NOW, TestSigner, real_keyset};
use keys::{ChannelId, Role};
use sha2::{Digest, Sha256};

const CHANNEL: u32 = 1;

fn outer() -> TestSigner {
    TestSigner::named("outer-bundle")
}
fn inner() -> TestSigner {
    TestSigner::named("inner-return")
}
fn expired() -> TestSigner {
    TestSigner::named("outer-bundle-expired")
}
fn stranger() -> TestSigner {
    TestSigner::named("not-in-the-keyset")
}

/// The keyset every vector is judged against, at [`NOW`], as an outer-bundle reader on
/// channel 1: a real `keys::Keyset` signed by the test root key.
fn keyset() -> keys::Keyset {
    let (outer, inner, expired) = (outer(), inner(), expired());
    real_keyset(&[
        Member::new(&outer, Role::OuterBundle, Some(CHANNEL)),
        Member::new(&inner, Role::InnerReturn, Some(CHANNEL)),
        Member {
            window: (0, NOW - 86_400),
            ..Member::new(&expired, Role::OuterBundle, Some(CHANNEL))
        },
    ])
}

fn expectation() -> Expectation {
    Expectation {
        role: Role::OuterBundle,
        channel: ChannelId(CHANNEL),
        at: NOW,
    }
}

// ---------------------------------------------------------------------------------------------
// XXH64 (the zstd frame checksum is its low 32 bits), written from the xxHash specification.

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

fn xxh64_round(acc: u64, lane: u64) -> u64 {
    acc.wrapping_add(lane.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

fn xxh64_merge(acc: u64, v: u64) -> u64 {
    (acc ^ xxh64_round(0, v)).wrapping_mul(P1).wrapping_add(P4)
}

fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().unwrap())
}

fn xxh64(input: &[u8]) -> u64 {
    let mut rest = input;
    let mut h = if input.len() >= 32 {
        let mut v = [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)];
        while rest.len() >= 32 {
            for (i, acc) in v.iter_mut().enumerate() {
                *acc = xxh64_round(*acc, le64(&rest[i * 8..]));
            }
            rest = &rest[32..];
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for lane in v {
            h = xxh64_merge(h, lane);
        }
        h
    } else {
        P5
    };
    h = h.wrapping_add(input.len() as u64);
    while rest.len() >= 8 {
        h ^= xxh64_round(0, le64(rest));
        h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
        rest = &rest[8..];
    }
    if rest.len() >= 4 {
        let word = u64::from(u32::from_le_bytes(rest[..4].try_into().unwrap()));
        h ^= word.wrapping_mul(P1);
        h = h.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        rest = &rest[4..];
    }
    for &byte in rest {
        h ^= u64::from(byte).wrapping_mul(P5);
        h = h.rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

// ---------------------------------------------------------------------------------------------
// zstd frames by hand (RFC 8878 §3.1.1).

const BLOCK_MAX: usize = 128 * 1024;

#[derive(Clone, Copy)]
struct FrameShape {
    checksum: bool,
    content_size: bool,
    window_log: u8,
    dictionary: bool,
}

const NORMAL: FrameShape = FrameShape {
    checksum: true,
    content_size: true,
    window_log: 23,
    dictionary: false,
};

fn frame_header(shape: FrameShape, content_size: u64) -> Vec<u8> {
    let mut out = 0xFD2F_B528u32.to_le_bytes().to_vec();
    let fcs_flag: u8 = if shape.content_size { 3 } else { 0 };
    let descriptor = (fcs_flag << 6) | (u8::from(shape.checksum) << 2) | u8::from(shape.dictionary);
    out.push(descriptor);
    out.push((shape.window_log - 10) << 3);
    if shape.dictionary {
        out.push(7);
    }
    if shape.content_size {
        out.extend_from_slice(&content_size.to_le_bytes());
    }
    out
}

fn block_header(out: &mut Vec<u8>, last: bool, block_type: u32, size: usize) {
    let value = u32::from(last) | (block_type << 1) | ((size as u32) << 3);
    out.extend_from_slice(&value.to_le_bytes()[..3]);
}

/// One frame of raw blocks holding `content`.
fn raw_frame(content: &[u8], shape: FrameShape) -> Vec<u8> {
    let mut out = frame_header(shape, content.len() as u64);
    let mut chunks = content.chunks(BLOCK_MAX).peekable();
    if chunks.peek().is_none() {
        block_header(&mut out, true, 0, 0);
    }
    while let Some(chunk) = chunks.next() {
        block_header(&mut out, chunks.peek().is_none(), 0, chunk.len());
        out.extend_from_slice(chunk);
    }
    if shape.checksum {
        out.extend_from_slice(&(xxh64(content) as u32).to_le_bytes());
    }
    out
}

/// A frame of RLE blocks that expands to `total` zero bytes while stating `stated_size`. Its
/// checksum is left zero: no honest reader gets far enough to check it.
fn zero_bomb_frame(total: usize, stated_size: u64) -> Vec<u8> {
    let mut out = frame_header(NORMAL, stated_size);
    let blocks = total / BLOCK_MAX;
    for i in 0..blocks {
        block_header(&mut out, i + 1 == blocks, 1, BLOCK_MAX);
        out.push(0);
    }
    out.extend_from_slice(&[0; 4]);
    out
}

fn skippable_frame() -> Vec<u8> {
    let mut out = 0x184D_2A50u32.to_le_bytes().to_vec();
    out.extend_from_slice(&4u32.to_le_bytes());
    out.extend_from_slice(b"hide");
    out
}

// ---------------------------------------------------------------------------------------------
// Bundles by hand.

fn header_for(kind: Kind, content: &[u8], frame: &[u8]) -> Header {
    Header {
        format_version: bundle_format::header::FORMAT_VERSION_1,
        kind,
        channel: ChannelId(CHANNEL),
        epoch: 1,
        sequence: 1,
        previous: BundleId::ZERO,
        created: NOW - 3600,
        expires: NOW + 7 * 86_400,
        encrypted: false,
        payload_length: frame.len() as u64,
        content_length: content.len() as u64,
        content_sha256: Sha256::digest(content).into(),
        part_index: 0,
        part_count: 1,
    }
}

fn message(header: &Header, frame: &[u8]) -> Vec<u8> {
    let mut m = header.encode().to_vec();
    m.extend_from_slice(frame);
    m
}

fn seal(signer: &TestSigner, m: &[u8]) -> Vec<u8> {
    envelope::seal(signer, "sluice test vector", m).unwrap()
}

/// A well-formed submissions bundle from `content`, with `frame` as its payload and the header
/// describing `content`; then `patch` may change M before it is signed.
fn signed(
    signer: &TestSigner,
    kind: Kind,
    content: &[u8],
    frame: &[u8],
    patch: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let mut m = message(&header_for(kind, content, frame), frame);
    patch(&mut m);
    seal(signer, &m)
}

fn put(m: &mut [u8], offset: usize, bytes: &[u8]) {
    m[offset..offset + bytes.len()].copy_from_slice(bytes);
}

fn record_bytes(record: &Record) -> Vec<u8> {
    let mut out = Vec::new();
    encode_record(record, &mut out).unwrap();
    out
}

struct Vector {
    name: &'static str,
    expect: &'static str,
    attack: &'static str,
    bytes: Vec<u8>,
}

fn generate() -> Vec<Vector> {
    let outer = outer();
    let good_records: Vec<Record> = (0..3).map(submission).collect();
    let good_content = content_of(&good_records);
    let good_frame = raw_frame(&good_content, NORMAL);
    let valid = signed(
        &outer,
        Kind::Submissions,
        &good_content,
        &good_frame,
        |_| {},
    );
    let message_at = envelope::open(&valid, usize::MAX).unwrap().message_offset;
    let payload_at = message_at + HEADER_V1_BYTES;

    let mut v = Vec::new();
    let mut add = |name, expect, attack, bytes| {
        v.push(Vector {
            name,
            expect,
            attack,
            bytes,
        })
    };
    let flipped = |at: usize| {
        let mut b = valid.clone();
        b[at] ^= 0x01;
        b
    };
    // Signature and envelope.
    add(
        "valid_submissions",
        "accept",
        "none: a well-formed bundle (control)",
        valid.clone(),
    );
    add(
        "bitflip_in_header",
        "envelope.bad-signature",
        "one bit of the header's sequence number flipped after signing",
        flipped(message_at + 32),
    );
    add(
        "bitflip_in_payload",
        "envelope.bad-signature",
        "one bit of the zstd payload flipped after signing",
        flipped(payload_at + 200),
    );
    {
        let opened = envelope::open(&valid, usize::MAX).unwrap();
        let mut sig = opened.signature.to_bytes();
        sig[40] ^= 0x80;
        let mut blob = b"Ed".to_vec();
        blob.extend_from_slice(&opened.key_id.0);
        blob.extend_from_slice(&sig);
        use base64::Engine as _;
        let mut forged = b"untrusted comment: sluice test vector\n".to_vec();
        forged.extend_from_slice(
            base64::engine::general_purpose::STANDARD
                .encode(blob)
                .as_bytes(),
        );
        forged.push(b'\n');
        forged.extend_from_slice(opened.message);
        add(
            "bitflip_in_signature",
            "envelope.bad-signature",
            "one bit of the Ed25519 signature flipped (line 2 re-encoded canonically)",
            forged,
        );
    }
    add(
        "truncated_bundle",
        "envelope.bad-signature",
        "the last 100 bytes of the file cut off",
        valid[..valid.len() - 100].to_vec(),
    );
    add(
        "truncated_in_signature_line",
        "envelope.signature-line-length",
        "the file cut off in the middle of the signature line",
        valid[..message_at - 40].to_vec(),
    );
    add(
        "appended_bytes",
        "envelope.bad-signature",
        "bytes appended after the signed message",
        [valid.as_slice(), b"extra records"].concat(),
    );
    add(
        "unknown_key",
        "envelope.key-unknown",
        "a well-formed bundle signed by a key the keyset does not hold",
        signed(
            &stranger(),
            Kind::Submissions,
            &good_content,
            &good_frame,
            |_| {},
        ),
    );
    add(
        "return_key_signed_submissions",
        "envelope.key-wrong-role",
        "the inner-return (ack) key signed a submissions bundle",
        signed(
            &inner(),
            Kind::Submissions,
            &good_content,
            &good_frame,
            |_| {},
        ),
    );
    {
        let content = content_of(&return_records());
        let frame = raw_frame(&content, NORMAL);
        add(
            "outer_key_signed_return_bundle",
            "bundle.kind-not-allowed-for-signer",
            "the outer-bundle key signed a return bundle (forged acks)",
            signed(&outer, Kind::Return, &content, &frame, |_| {}),
        );
    }
    add(
        "expired_key",
        "envelope.key-expired",
        "signed by an outer-bundle key whose window ended a day before",
        signed(
            &expired(),
            Kind::Submissions,
            &good_content,
            &good_frame,
            |_| {},
        ),
    );
    add(
        "wrong_channel_in_header",
        "bundle.channel-mismatch",
        "a channel-1 key signed a bundle whose header names channel 2",
        signed(&outer, Kind::Submissions, &good_content, &good_frame, |m| {
            put(m, 12, &2u32.to_le_bytes())
        }),
    );
    // Header.
    let header_case = |patch: &dyn Fn(&mut Vec<u8>)| {
        signed(&outer, Kind::Submissions, &good_content, &good_frame, patch)
    };
    add(
        "bad_magic",
        "header.bad-magic",
        "the magic is not \\x89SLUICE\\n",
        header_case(&|m| put(m, 1, b"SLOICE")),
    );
    add(
        "unknown_version",
        "header.unsupported-version",
        "format version 2",
        header_case(&|m| put(m, 8, &2u16.to_le_bytes())),
    );
    add(
        "unknown_kind",
        "header.unknown-kind",
        "kind code 9",
        header_case(&|m| put(m, 16, &[9])),
    );
    add(
        "nonzero_flags",
        "header.unknown-flags",
        "a flag bit set",
        header_case(&|m| put(m, 10, &[0x01])),
    );
    add(
        "nonzero_reserved",
        "header.reserved-not-zero",
        "a reserved byte at offset 150 set",
        header_case(&|m| put(m, 150, &[0xFF])),
    );
    add(
        "payload_length_near_u64_max",
        "header.payload-too-large",
        "payload length u64::MAX - 1",
        header_case(&|m| put(m, 88, &(u64::MAX - 1).to_le_bytes())),
    );
    add(
        "payload_length_off_by_one",
        "header.payload-length-mismatch",
        "payload length one more than the bytes present",
        header_case(&|m| {
            let n = u64::from_le_bytes(m[88..96].try_into().unwrap()) + 1;
            put(m, 88, &n.to_le_bytes())
        }),
    );
    add(
        "content_length_near_u64_max",
        "header.content-too-large",
        "content length u64::MAX",
        header_case(&|m| put(m, 96, &u64::MAX.to_le_bytes())),
    );
    add(
        "truncated_header",
        "header.truncated",
        "a signed message of only 100 bytes",
        header_case(&|m| m.truncate(100)),
    );
    // Payload.
    const GIB: usize = 1 << 30;
    add(
        "zstd_bomb_1gib_zeros",
        "header.content-too-large",
        "a 32 KiB frame of 1 GiB of zeros, honestly declared",
        {
            let frame = zero_bomb_frame(GIB, GIB as u64);
            let mut h = header_for(Kind::Submissions, &[], &frame);
            h.content_length = GIB as u64;
            seal(&outer, &message(&h, &frame))
        },
    );
    add(
        "zstd_bomb_understated_content_length",
        "payload.frame-content-size-mismatch",
        "1 GiB of zeros in a frame that says so, under a header that declares 4 KiB",
        {
            let frame = zero_bomb_frame(GIB, GIB as u64);
            let mut h = header_for(Kind::Submissions, &[], &frame);
            h.content_length = 4096;
            seal(&outer, &message(&h, &frame))
        },
    );
    add(
        "zstd_bomb_frame_lies_about_size",
        "payload.content-longer-than-declared",
        "1 GiB of zeros in a frame whose content size field claims 4 KiB",
        {
            let frame = zero_bomb_frame(GIB, 4096);
            let mut h = header_for(Kind::Submissions, &[], &frame);
            h.content_length = 4096;
            seal(&outer, &message(&h, &frame))
        },
    );
    {
        let wide = FrameShape {
            window_log: 27,
            ..NORMAL
        };
        let frame = raw_frame(&good_content, wide);
        add(
            "zstd_window_too_large",
            "payload.window-too-large",
            "a frame asking for a 128 MiB window",
            signed(&outer, Kind::Submissions, &good_content, &frame, |_| {}),
        );
    }
    {
        let frame = [good_frame.clone(), raw_frame(b"second", NORMAL)].concat();
        add(
            "two_zstd_frames",
            "payload.trailing-after-frame",
            "a second frame after the first",
            signed(&outer, Kind::Submissions, &good_content, &frame, |_| {}),
        );
        let frame = [skippable_frame(), good_frame.clone()].concat();
        add(
            "skippable_frame_first",
            "payload.skippable-frame",
            "a skippable frame before the real one",
            signed(&outer, Kind::Submissions, &good_content, &frame, |_| {}),
        );
        let frame = [good_frame.clone(), skippable_frame()].concat();
        add(
            "skippable_frame_after",
            "payload.trailing-after-frame",
            "a skippable frame hiding data after the real one",
            signed(&outer, Kind::Submissions, &good_content, &frame, |_| {}),
        );
    }
    {
        let mut frame = good_frame.clone();
        let last = frame.len() - 1;
        frame[last] ^= 0xFF;
        add(
            "bad_zstd_checksum",
            "payload.frame-checksum-mismatch",
            "the frame's content checksum does not match",
            signed(&outer, Kind::Submissions, &good_content, &frame, |_| {}),
        );
    }
    for (name, expect, attack, shape) in [
        (
            "zstd_frame_without_checksum",
            "payload.frame-checksum-missing",
            "a frame without a content checksum",
            FrameShape {
                checksum: false,
                ..NORMAL
            },
        ),
        (
            "zstd_frame_without_content_size",
            "payload.frame-content-size-missing",
            "a frame that does not state its content size",
            FrameShape {
                content_size: false,
                ..NORMAL
            },
        ),
        (
            "zstd_frame_with_dictionary",
            "payload.frame-dictionary",
            "a frame that needs dictionary 7",
            FrameShape {
                dictionary: true,
                ..NORMAL
            },
        ),
    ] {
        let frame = raw_frame(&good_content, shape);
        add(
            name,
            expect,
            attack,
            signed(&outer, Kind::Submissions, &good_content, &frame, |_| {}),
        );
    }
    {
        let frame = [b"PK\x03\x04".as_slice(), &good_frame[4..]].concat();
        add(
            "payload_not_zstd",
            "payload.not-zstd",
            "a payload that is not a zstd frame",
            signed(&outer, Kind::Submissions, &good_content, &frame, |_| {}),
        );
        let mut frame = good_frame.clone();
        frame[4] |= 0x08;
        add(
            "zstd_frame_reserved_bit",
            "payload.frame-reserved-bit",
            "the frame header descriptor's reserved bit set",
            signed(&outer, Kind::Submissions, &good_content, &frame, |_| {}),
        );
        let frame = good_frame[..7].to_vec();
        add(
            "zstd_frame_header_truncated",
            "payload.frame-header-truncated",
            "a payload that ends inside the frame header",
            signed(&outer, Kind::Submissions, &good_content, &frame, |_| {}),
        );
        let frame = good_frame[..good_frame.len() / 2].to_vec();
        add(
            "zstd_frame_truncated",
            "payload.frame-truncated",
            "a frame cut off in the middle of its block (payload length matches the cut)",
            signed(&outer, Kind::Submissions, &good_content, &frame, |_| {}),
        );
        // A frame and header that both claim 100 bytes more than the blocks hold.
        let mut frame = raw_frame(&good_content, NORMAL);
        let stated = good_content.len() as u64 + 100;
        put(&mut frame, 6, &stated.to_le_bytes());
        let mut h = header_for(Kind::Submissions, &good_content, &frame);
        h.content_length = stated;
        add(
            "content_shorter_than_declared",
            "payload.frame-corrupt",
            "frame and header declare 100 more content bytes than the frame holds",
            seal(&outer, &message(&h, &frame)),
        );
    }
    {
        let mut h = header_for(Kind::Submissions, &good_content, &good_frame);
        h.content_sha256[0] ^= 1;
        add(
            "content_hash_mismatch",
            "payload.content-hash-mismatch",
            "the header's content SHA-256 does not match the content",
            seal(&outer, &message(&h, &good_frame)),
        );
    }
    // Records.
    let with_content = |content: Vec<u8>, kind: Kind| {
        let frame = raw_frame(&content, NORMAL);
        signed(&outer, kind, &content, &frame, |_| {})
    };
    {
        // Record::Submission is variant 0 (u32), then the receipt's u64 length.
        let mut record = record_bytes(&submission(1));
        put(&mut record, 8, &(1u64 << 62).to_le_bytes());
        add(
            "bincode_length_bomb",
            "payload.record-decode",
            "a record whose receipt string claims 2^62 bytes",
            with_content(record, Kind::Submissions),
        );
    }
    {
        let mut content = record_bytes(&submission(1));
        content.extend_from_slice(&u32::MAX.to_le_bytes());
        content.extend_from_slice(&[0; 16]);
        add(
            "record_length_over_limit",
            "payload.record-length",
            "a record length prefix of 4 GiB - 1",
            with_content(content, Kind::Submissions),
        );
        let mut content = record_bytes(&submission(1));
        content.extend_from_slice(&0u32.to_le_bytes());
        add(
            "record_length_zero",
            "payload.record-length",
            "an empty record",
            with_content(content, Kind::Submissions),
        );
        let mut content = record_bytes(&submission(1));
        content.extend_from_slice(&100u32.to_le_bytes());
        content.extend_from_slice(&[0; 10]);
        add(
            "record_truncated",
            "payload.record-truncated",
            "the last record's bytes end early",
            with_content(content, Kind::Submissions),
        );
        let mut content = record_bytes(&submission(1));
        content.extend_from_slice(&[1, 0]);
        add(
            "record_length_truncated",
            "payload.record-length-truncated",
            "two bytes after the last record",
            with_content(content, Kind::Submissions),
        );
    }
    {
        let mut record = record_bytes(&submission(1));
        let len = u32::from_le_bytes(record[..4].try_into().unwrap()) + 3;
        put(&mut record, 0, &len.to_le_bytes());
        record.extend_from_slice(&[0; 3]);
        add(
            "record_trailing_bytes",
            "payload.record-trailing-bytes",
            "three bytes inside a record's length after its value",
            with_content(record, Kind::Submissions),
        );
        let mut record = record_bytes(&submission(1));
        put(&mut record, 4, &99u32.to_le_bytes());
        add(
            "record_unknown_variant",
            "payload.record-decode",
            "record variant 99",
            with_content(record, Kind::Submissions),
        );
        let mut record = record_bytes(&submission(1));
        put(&mut record, 16, &[0xFF]);
        add(
            "record_invalid_utf8",
            "payload.record-decode",
            "a receipt that is not UTF-8",
            with_content(record, Kind::Submissions),
        );
    }
    add(
        "ack_in_submissions_bundle",
        "payload.record-not-allowed",
        "an ack smuggled into a submissions bundle",
        with_content(content_of(&return_records()[..1]), Kind::Submissions),
    );
    {
        let mut record = submission(1);
        if let Record::Submission(version) = &mut record
            && let bundle_format::records::Submission::NewFiling(filing) = &mut version.body
        {
            let site: &mut Website = &mut filing.websites[0];
            site.domains = (0..300).map(|i| format!("d{i}.cn")).collect();
        }
        // encode_record refuses shapes out of bounds, so encode the value directly.
        let body = bincode::encode_to_vec(&record, bundle_format::records::wire_config()).unwrap();
        let mut content = (body.len() as u32).to_le_bytes().to_vec();
        content.extend_from_slice(&body);
        add(
            "too_many_domains",
            "payload.record-shape",
            "a website listing 300 domains (limit 256)",
            with_content(content, Kind::Submissions),
        );
    }
    add(
        "heartbeat_with_record",
        "payload.too-many-records",
        "a heartbeat carrying a submission",
        with_content(record_bytes(&submission(1)), Kind::Heartbeat),
    );
    add(
        "keyset_bundle_without_keyset",
        "payload.missing-keyset",
        "a keyset bundle with no records",
        with_content(Vec::new(), Kind::Keyset),
    );
    v
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn sidecar(vector: &Vector) -> String {
    format!("expect: {}\nattack: {}\n", vector.expect, vector.attack)
}

fn outcome(bytes: &[u8]) -> String {
    match read_bundle(bytes, &keyset(), &expectation(), &ReadLimits::default()) {
        Ok(_) => "accept".to_owned(),
        Err(e) => e.code().to_owned(),
    }
}

/// The generator reproduces the committed files byte for byte (or writes them when
/// `SLUICE_BLESS_VECTORS=1`), and every generated vector has the outcome it names.
#[test]
fn generator_reproduces_the_committed_vectors() {
    let dir = vectors_dir();
    let bless = std::env::var_os("SLUICE_BLESS_VECTORS").is_some_and(|v| v == "1");
    for vector in generate() {
        assert_eq!(
            outcome(&vector.bytes),
            vector.expect,
            "generated vector {} does not have its expected outcome",
            vector.name
        );
        let bundle = dir.join(format!("{}.bundle", vector.name));
        let expected = dir.join(format!("{}.expected", vector.name));
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&bundle, &vector.bytes).unwrap();
            std::fs::write(&expected, sidecar(&vector)).unwrap();
        }
        let committed = std::fs::read(&bundle).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run SLUICE_BLESS_VECTORS=1 to create it",
                bundle.display()
            )
        });
        assert!(
            committed == vector.bytes,
            "{} differs from what the generator makes; published vectors never change",
            vector.name
        );
        assert_eq!(
            std::fs::read_to_string(&expected).unwrap(),
            sidecar(&vector)
        );
    }
}

/// Every committed vector, read from disk, is rejected with the error its sidecar names, and
/// none panics. This test does not use the generator: it holds the committed corpus to account
/// even if the generator changes.
#[test]
fn every_committed_vector_has_its_expected_outcome() {
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bundle"))
        .collect();
    entries.sort();
    for path in entries {
        let sidecar = std::fs::read_to_string(path.with_extension("expected")).unwrap();
        let expect = sidecar
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("expect: "))
            .unwrap_or_else(|| panic!("{}: sidecar has no expect line", path.display()));
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(outcome(&bytes), expect, "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 50, "only {seen} vectors committed");
}

#[test]
fn hand_built_frames_are_ordinary_zstd() {
    // The local XXH64 and frame assembly agree with libzstd, so the corpus tests our checks and
    // not a mistake in the generator.
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let frame = raw_frame(&content, NORMAL);
    assert_eq!(
        zstd::bulk::decompress(&frame, content.len()).unwrap(),
        content
    );
    assert_eq!(xxh64(b""), 0xEF46_DB37_51D8_E999);
}
