//! Whole bundles: writer and reader together, splitting, and the real tools (signify-openbsd,
//! openssl, zstd) agreeing with what the library writes.

// Test sizes are tiny; the casts below cannot truncate.
#![allow(clippy::cast_possible_truncation)]

mod common;

use bundle_format::header::HEADER_V1_BYTES;
use bundle_format::records::{
    EncodedSubmission, EncodedSubmissionError, MAX_TEXT_BYTES, Record, SubmissionVersion,
    wire_config,
};
use bundle_format::{
    BundleError, BundleId, BundleWriter, Expectation, Kind, ReadLimits, VerifiedBundle, WriteError,
    read_bundle,
};
use common::bundles::{CHANNEL, config, write_all, write_all_to, write_one, write_one_to};
use common::samples::{return_records, submission};
use common::{KeyTable, Member, NOW, TestSigner, real_keyset};
use keys::{ChannelId, Role};
use testkit::tools::{self, words};

fn outer() -> TestSigner {
    TestSigner::named("outer-bundle")
}

fn inner() -> TestSigner {
    TestSigner::named("inner-return")
}

fn keyset() -> KeyTable {
    KeyTable::default()
        .with(&outer(), Role::OuterBundle, Some(CHANNEL))
        .with(&inner(), Role::InnerReturn, Some(CHANNEL))
}

fn expect(role: Role) -> Expectation {
    Expectation {
        role,
        channel: ChannelId(CHANNEL),
        at: NOW,
    }
}

/// Reads `file` with the test keyset as a bundle `role` signs, under the default limits.
fn read_as(file: &[u8], role: Role) -> VerifiedBundle {
    read_bundle(file, &keyset(), &expect(role), &ReadLimits::default()).unwrap()
}

#[test]
fn submissions_bundle_round_trips() {
    let records: Vec<Record> = (0..50).map(submission).collect();
    let file = write_one(&outer(), config(Kind::Submissions), &records);
    let bundle = read_as(&file, Role::OuterBundle);
    assert_eq!(bundle.records, records);
    assert_eq!(bundle.signer, outer().key_id);
    assert_eq!(bundle.header.sequence, 1);
    assert_eq!(bundle.header.part_count, 1);
    assert!(bundle.comment.contains("submissions bundle"));
    let message_start = file.len() - HEADER_V1_BYTES - bundle.header.payload_length as usize;
    assert_eq!(bundle.id, BundleId::of_message(&file[message_start..]));
}

#[test]
fn return_and_heartbeat_bundles_round_trip() {
    let records = return_records();
    let file = write_one(&inner(), config(Kind::Return), &records);
    let bundle = read_as(&file, Role::InnerReturn);
    assert_eq!(bundle.records, records);

    let file = write_one(&inner(), config(Kind::Heartbeat), &[]);
    let bundle = read_as(&file, Role::InnerReturn);
    assert!(bundle.records.is_empty());
    assert_eq!(bundle.header.content_length, 0);
}

#[test]
fn large_run_splits_into_chained_parts_that_each_verify() {
    let records: Vec<Record> = (0..200).map(submission).collect();
    let mut cfg = config(Kind::Submissions);
    cfg.part_content_bytes = 20_000;
    let (files, written) = write_all(&outer(), cfg, &records);
    assert!(files.len() >= 5, "{} parts", files.len());
    let mut previous = BundleId::ZERO;
    let mut decoded = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let bundle = read_as(file, Role::OuterBundle);
        assert_eq!(bundle.header.sequence, i as u64 + 1);
        assert_eq!(bundle.header.part_index, i as u32);
        assert_eq!(bundle.header.previous, previous);
        let last = i + 1 == files.len();
        assert_eq!(bundle.header.is_last_part(), last);
        assert_eq!(
            bundle.header.part_count,
            if last { i as u32 + 1 } else { 0 }
        );
        assert!(bundle.header.content_length <= 20_000);
        assert_eq!(written[i].id, bundle.id);
        assert_eq!(written[i].records, bundle.records.len());
        previous = bundle.id;
        decoded.extend(bundle.records);
    }
    assert_eq!(decoded, records);
}

#[test]
fn record_count_target_splits_too_and_push_reports_the_sequence() {
    let mut cfg = config(Kind::Submissions);
    cfg.part_records = 3;
    let mut sequences = Vec::new();
    let mut files = 0;
    let signer = outer();
    let mut writer = BundleWriter::new(&signer, cfg, |_: &bundle_format::SealedBundle<'_>| {
        files += 1;
        Ok(())
    })
    .unwrap();
    for i in 0..7 {
        sequences.push(writer.push(&submission(i)).unwrap());
    }
    let written = writer.finish().unwrap();
    assert_eq!(sequences, vec![1, 1, 1, 2, 2, 2, 3]);
    assert_eq!(
        written.iter().map(|w| w.records).collect::<Vec<_>>(),
        vec![3, 3, 1]
    );
    assert_eq!(files, 3);
}

#[test]
fn writer_refuses_records_that_do_not_belong_in_the_kind() {
    let signer = outer();
    let sink = |_: &bundle_format::SealedBundle<'_>| Ok(());
    let mut writer = BundleWriter::new(&signer, config(Kind::Submissions), sink).unwrap();
    let err = writer.push(&return_records()[0]).unwrap_err();
    assert!(
        matches!(err, WriteError::RecordNotAllowed { record: "ack", .. }),
        "{err}"
    );

    let mut writer = BundleWriter::new(&signer, config(Kind::Heartbeat), sink).unwrap();
    assert!(matches!(
        writer.push(&submission(1)).unwrap_err(),
        WriteError::RecordNotAllowed { .. }
    ));

    let writer = BundleWriter::new(&signer, config(Kind::Keyset), sink).unwrap();
    assert!(matches!(
        writer.finish().unwrap_err(),
        WriteError::MissingKeyset
    ));

    let mut bad = config(Kind::Submissions);
    bad.next_sequence = 2;
    assert!(matches!(
        BundleWriter::new(&signer, bad, sink).err().unwrap(),
        WriteError::Config { .. }
    ));
}

/// The stored encoding of `submission(i)`'s version, as the outer store keeps it.
fn stored(i: u64) -> (SubmissionVersion, Vec<u8>) {
    let Record::Submission(version) = submission(i) else {
        unreachable!("samples::submission makes submissions")
    };
    let bytes = bincode::encode_to_vec(&version, wire_config()).unwrap();
    (version, bytes)
}

#[test]
fn stored_submissions_carried_verbatim_write_the_same_bundles_as_decoded_ones() {
    let signer = outer();
    let mut cfg = config(Kind::Submissions);
    cfg.part_records = 4;
    let versions: Vec<(SubmissionVersion, Vec<u8>)> = (0..9).map(stored).collect();
    let decoded: Vec<Record> = versions
        .iter()
        .map(|(v, _)| Record::Submission(v.clone()))
        .collect();
    let (expected, _) = write_all(&signer, cfg, &decoded);

    let mut files = Vec::new();
    let mut writer = BundleWriter::new(&signer, cfg, |sealed: &bundle_format::SealedBundle<'_>| {
        files.push(sealed.to_vec());
        Ok(())
    })
    .unwrap();
    let mut sequences = Vec::new();
    for (version, bytes) in &versions {
        let checked = EncodedSubmission::new(bytes, &version.receipt, version.version).unwrap();
        sequences.push(writer.push_submission(&checked).unwrap());
    }
    writer.finish().unwrap();
    assert_eq!(sequences, vec![1, 1, 1, 1, 2, 2, 2, 2, 3]);
    assert_eq!(files, expected, "verbatim and re-encoded bundles differ");
}

#[test]
fn a_stored_submission_whose_body_or_identity_changed_is_not_carried() {
    let (version, bytes) = stored(3);
    let (receipt, number) = (version.receipt.as_str(), version.version);

    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    assert_eq!(
        EncodedSubmission::new(&flipped, receipt, number).unwrap_err(),
        EncodedSubmissionError::ContentHashMismatch
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        EncodedSubmission::new(&longer, receipt, number).unwrap_err(),
        EncodedSubmissionError::ContentHashMismatch
    );
    assert!(matches!(
        EncodedSubmission::new(&bytes, receipt, number + 1).unwrap_err(),
        EncodedSubmissionError::OtherVersion { found_version, .. } if found_version == number
    ));
    assert!(matches!(
        EncodedSubmission::new(&bytes, "R20261122-OTHER", number).unwrap_err(),
        EncodedSubmissionError::OtherVersion { .. }
    ));
    assert!(matches!(
        EncodedSubmission::new(&bytes[..20], receipt, number).unwrap_err(),
        EncodedSubmissionError::Decode(_)
    ));

    let mut long_submitter = version.clone();
    long_submitter.submitter = "x".repeat(MAX_TEXT_BYTES + 1);
    let bytes = bincode::encode_to_vec(&long_submitter, wire_config()).unwrap();
    let err = EncodedSubmission::new(&bytes, receipt, number).unwrap_err();
    assert!(
        matches!(&err, EncodedSubmissionError::Shape(shape) if shape.field == "submission.submitter"),
        "{err}"
    );

    let signer = outer();
    let sink = |_: &bundle_format::SealedBundle<'_>| Ok(());
    let (version, bytes) = stored(4);
    let checked = EncodedSubmission::new(&bytes, &version.receipt, version.version).unwrap();
    let mut writer = BundleWriter::new(&signer, config(Kind::Return), sink).unwrap();
    assert!(matches!(
        writer.push_submission(&checked).unwrap_err(),
        WriteError::RecordNotAllowed {
            record: "submission",
            ..
        }
    ));
}

#[test]
fn a_sink_failure_is_reported_with_the_sequence() {
    let signer = outer();
    let sink = |_: &bundle_format::SealedBundle<'_>| Err(std::io::Error::other("disk full"));
    let mut writer = BundleWriter::new(&signer, config(Kind::Submissions), sink).unwrap();
    writer.push(&submission(1)).unwrap();
    let err = writer.finish().unwrap_err();
    assert!(matches!(err, WriteError::Sink { sequence: 1, .. }), "{err}");
}

#[test]
fn reader_refuses_the_wrong_channel_and_the_wrong_direction() {
    let file = write_one(&outer(), config(Kind::Submissions), &[submission(1)]);
    let keys = keyset().with(&outer(), Role::OuterBundle, Some(9));
    // A table whose first entry for the key binds channel 1: asked for channel 9 it refuses.
    let err = read_bundle(
        &file,
        &keys,
        &Expectation {
            role: Role::OuterBundle,
            channel: ChannelId(9),
            at: NOW,
        },
        &ReadLimits::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "envelope.key-wrong-channel");
    // The outer side applying returns must not accept the outer key's own bundles.
    let err = read_bundle(
        &file,
        &keyset(),
        &expect(Role::InnerReturn),
        &ReadLimits::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "envelope.key-wrong-role");
}

#[test]
fn channel_in_the_header_must_match_the_channel_it_arrived_on() {
    let mut cfg = config(Kind::Submissions);
    cfg.channel = ChannelId(2);
    let file = write_one(&outer(), cfg, &[submission(1)]);
    // A key allowed on channel 1 signed a bundle that says channel 2.
    let err = read_bundle(
        &file,
        &keyset(),
        &expect(Role::OuterBundle),
        &ReadLimits::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        BundleError::ChannelMismatch {
            expected: ChannelId(1),
            found: ChannelId(2)
        }
    );
}

#[test]
fn lower_reader_limits_apply() {
    let file = write_one(&outer(), config(Kind::Submissions), &[submission(1)]);
    let tight = ReadLimits {
        max_file_bytes: 100,
        ..ReadLimits::default()
    };
    let err = read_bundle(&file, &keyset(), &expect(Role::OuterBundle), &tight).unwrap_err();
    assert_eq!(err.code(), "envelope.file-too-large");
    let tight = ReadLimits {
        max_content_bytes: 10,
        ..ReadLimits::default()
    };
    let err = read_bundle(&file, &keyset(), &expect(Role::OuterBundle), &tight).unwrap_err();
    assert_eq!(err.code(), "header.content-too-large");
}

/// The tools security staff have: signify-openbsd verifies the bundle and extracts M; a comment
/// edit still verifies; openssl verifies the signature over M with the exported PEM key; zstd
/// decodes the payload frame cut out of M to the content the header describes.
#[test]
fn stock_tools_verify_and_decode_what_the_library_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let signer = outer();
    std::fs::write(path("outer.pub"), signer.signify_public_file()).unwrap();
    std::fs::write(path("outer.pem"), signer.openssl_pem()).unwrap();
    let records: Vec<Record> = (0..20).map(submission).collect();
    let file = write_one(&signer, config(Kind::Submissions), &records);
    std::fs::write(path("b.sluice"), &file).unwrap();
    let bundle = read_as(&file, Role::OuterBundle);

    let signify = |sig: &str, out: &str| {
        tools::signify(
            &["-V", "-e", "-p", "outer.pub", "-x", sig, "-m", out],
            b"",
            dir.path(),
        )
    };
    tools::assert_success(&signify("b.sluice", "m.bin"), "signify -V of a bundle");
    let message = std::fs::read(path("m.bin")).unwrap();
    assert_eq!(BundleId::of_message(&message), bundle.id);
    assert_eq!(&file[file.len() - message.len()..], message.as_slice());

    // The comment line is unsigned: editing it keeps the signature valid for signify and us.
    let newline = file.iter().position(|&b| b == b'\n').unwrap();
    let mut edited = b"untrusted comment: relabelled by the carrier".to_vec();
    edited.extend_from_slice(&file[newline..]);
    std::fs::write(path("edited.sluice"), &edited).unwrap();
    tools::assert_success(
        &signify("edited.sluice", "m2.bin"),
        "signify -V of a bundle with an edited comment",
    );
    let again = read_as(&edited, Role::OuterBundle);
    assert_eq!(again.id, bundle.id);

    // openssl: the raw Ed25519 signature from line 2 over M.
    let opened = bundle_format::envelope::open(&file, usize::MAX).unwrap();
    std::fs::write(path("sig.bin"), opened.signature.to_bytes()).unwrap();
    let openssl_verify = |message: &str| {
        tools::openssl(
            &words(&format!(
                "pkeyutl -verify -pubin -inkey outer.pem -rawin -in {message} -sigfile sig.bin"
            )),
            dir.path(),
        )
    };
    tools::assert_success(&openssl_verify("m.bin"), "openssl pkeyutl -verify");
    let mut flipped = message.clone();
    flipped[HEADER_V1_BYTES + 10] ^= 1;
    std::fs::write(path("m-flipped.bin"), &flipped).unwrap();
    assert!(
        !openssl_verify("m-flipped.bin").status.success(),
        "openssl accepted a changed message"
    );

    // zstd: the payload is one ordinary frame whose content has the header's length and hash.
    std::fs::write(path("payload.zst"), &message[HEADER_V1_BYTES..]).unwrap();
    tools::assert_success(
        &tools::zstd(&words("-q -d payload.zst -o content.bin"), dir.path()),
        "zstd -d of a bundle's payload",
    );
    let content = std::fs::read(path("content.bin")).unwrap();
    assert_eq!(content.len() as u64, bundle.header.content_length);
    let digest: [u8; 32] =
        sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&content)).into();
    assert_eq!(digest, bundle.header.content_sha256);
    assert_eq!(
        bundle_format::payload::decode_records(&content, Kind::Submissions).unwrap(),
        records
    );
}

/// Against a real `keys::Keyset` signed by a root key: the channel's keys verify, a revoked key
/// is refused from its revocation on, and a root key cannot sign bundles.
#[test]
fn real_keyset_decides_which_bundles_verify() {
    let (outer, inner, revoked, root) = (
        outer(),
        inner(),
        TestSigner::named("outer-bundle-revoked"),
        TestSigner::named("root"),
    );
    let keyset = real_keyset(&[
        Member::new(&outer, Role::OuterBundle, Some(CHANNEL)),
        Member::new(&inner, Role::InnerReturn, Some(CHANNEL)),
        Member {
            revoked_at: Some(NOW - 60),
            ..Member::new(&revoked, Role::OuterBundle, Some(CHANNEL))
        },
    ]);
    let limits = ReadLimits::default();
    let file = write_one(&outer, config(Kind::Submissions), &[submission(1)]);
    read_bundle(&file, &keyset, &expect(Role::OuterBundle), &limits).unwrap();
    let file = write_one(&inner, config(Kind::Return), &return_records());
    read_bundle(&file, &keyset, &expect(Role::InnerReturn), &limits).unwrap();

    let file = write_one(&revoked, config(Kind::Submissions), &[submission(1)]);
    let err = read_bundle(&file, &keyset, &expect(Role::OuterBundle), &limits).unwrap_err();
    assert_eq!(err.code(), "envelope.key-revoked");
    let earlier = Expectation {
        at: NOW - 120,
        ..expect(Role::OuterBundle)
    };
    read_bundle(&file, &keyset, &earlier, &limits).unwrap();

    let file = write_one(&root, config(Kind::Heartbeat), &[]);
    let err = read_bundle(&file, &keyset, &expect(Role::OuterBundle), &limits).unwrap_err();
    assert_eq!(err.code(), "envelope.key-wrong-role");
}

#[test]
fn sink_writes_the_same_bytes_as_to_vec_and_peek_shows_the_unverified_header() {
    let signer = outer();
    let mut streamed = Vec::new();
    let mut copied = Vec::new();
    let mut writer = BundleWriter::new(
        &signer,
        config(Kind::Submissions),
        |sealed: &bundle_format::SealedBundle<'_>| {
            copied.push(sealed.to_vec());
            sealed.write_to(&mut streamed)
        },
    )
    .unwrap();
    writer.push(&submission(1)).unwrap();
    let written = writer.finish().unwrap();
    assert_eq!(streamed, copied[0]);
    assert_eq!(written[0].file_bytes, streamed.len());

    let (opened, header) =
        bundle_format::peek_unverified(&streamed, &ReadLimits::default()).unwrap();
    assert_eq!(header, written[0].header);
    assert_eq!(opened.key_id, signer.key_id);
}

#[test]
fn reading_a_file_stops_one_byte_past_the_limit() {
    let file = write_one(&outer(), config(Kind::Heartbeat), &[]);
    let read = bundle_format::read_file_limited(&mut file.as_slice(), file.len()).unwrap();
    assert_eq!(read, file);
    let err = bundle_format::read_file_limited(&mut file.as_slice(), file.len() - 1).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    // An endless source is not read to its end.
    let err = bundle_format::read_file_limited(&mut std::io::repeat(0), 1 << 20).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn decompress_refuses_a_content_length_over_the_ceiling_without_allocating_it() {
    let err = bundle_format::payload::decompress(&[], u64::MAX, &[0; 32]).unwrap_err();
    assert_eq!(err.code(), "payload.content-too-large");
}

/// A range ack (wire version 2) makes its bundle format version 3; every other bundle is
/// still version 1, and a version 1 ack still reads. Content of a version 1 bundle that holds a
/// range ack is refused: the record is newer than the format.
#[test]
fn a_range_ack_needs_format_version_3_and_an_old_ack_still_reads() {
    use bundle_format::header::{FORMAT_VERSION_1, FORMAT_VERSION_3};
    use bundle_format::payload::{PayloadError, decode_records_of_version, encode_record};
    use bundle_format::records::RangeAck;

    let old = return_records();
    let file = write_one(&inner(), config(Kind::Return), &old);
    let bundle = read_as(&file, Role::InnerReturn);
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_1);
    assert_eq!(bundle.records, old);
    let Record::Ack(ack) = &old[0] else {
        panic!("the sample return records open with an ack")
    };

    let range = Record::RangeAck(RangeAck::of_ack(ack));
    let mut records = old.clone();
    records.push(range.clone());
    let file = write_one(&inner(), config(Kind::Return), &records);
    let bundle = read_as(&file, Role::InnerReturn);
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_3);
    assert_eq!(bundle.records, records);
    let Record::RangeAck(decoded) = &bundle.records[old.len()] else {
        panic!("range ack lost")
    };
    assert_eq!(decoded.members, 1);
    assert!(
        decoded.exceptions.is_empty(),
        "a plain applied entry is no exception"
    );
    assert_eq!(
        decoded.members_digest,
        bundle_format::records::members_digest(ack.receipts.iter().map(|r| (
            r.receipt.as_str(),
            r.version,
            &r.content_hash
        )))
    );

    let mut content = Vec::new();
    encode_record(&range, &mut content).unwrap();
    assert!(matches!(
        decode_records_of_version(&content, Kind::Return, FORMAT_VERSION_1),
        Err(PayloadError::RecordNewerThanFormat { index: 0, .. })
    ));
    assert_eq!(
        decode_records_of_version(&content, Kind::Return, FORMAT_VERSION_3).unwrap(),
        vec![range.clone()]
    );
    assert!(matches!(
        decode_records_of_version(&content, Kind::Submissions, FORMAT_VERSION_3),
        Err(PayloadError::RecordNotAllowed { .. })
    ));
}

/// A record of a later wire version (`record`) makes its return bundle `format_version` beside
/// the older records, which still read there; a reader refuses it in the content of the version
/// before, and in any bundle but a return bundle.
fn needs_format_version_in_a_return_bundle(record: Record, format_version: u16) {
    use bundle_format::payload::{PayloadError, decode_records_of_version, encode_record};

    let mut records = return_records();
    records.push(record.clone());
    let file = write_one(&inner(), config(Kind::Return), &records);
    let bundle = read_as(&file, Role::InnerReturn);
    assert_eq!(bundle.header.format_version, format_version);
    assert_eq!(bundle.records, records);

    let mut content = Vec::new();
    encode_record(&record, &mut content).unwrap();
    assert!(matches!(
        decode_records_of_version(&content, Kind::Return, format_version - 1),
        Err(PayloadError::RecordNewerThanFormat { index: 0, .. })
    ));
    assert!(matches!(
        decode_records_of_version(&content, Kind::Submissions, format_version),
        Err(PayloadError::RecordNotAllowed { .. })
    ));
}

#[test]
fn a_bundle_refusal_needs_format_version_4_and_older_records_still_read() {
    needs_format_version_in_a_return_bundle(
        Record::BundleRefusal(bundle_format::records::BundleRefusal {
            bundle_id: [7; 32],
            channel: CHANNEL,
            epoch: 1,
            sequence: 3,
            code: "envelope.key-revoked".into(),
            reason: "signed by a revoked outer-bundle key".into(),
        }),
        bundle_format::header::FORMAT_VERSION_4,
    );
}

#[test]
fn a_certificate_revocation_needs_format_version_4_and_only_a_return_bundle_holds_it() {
    needs_format_version_in_a_return_bundle(
        Record::CertificateRevocation(bundle_format::records::CertificateRevocation {
            filing_number: "京ICP备2026000001号".into(),
            receipt: "R-0001".into(),
            revoked_at: 1_796_000_000,
            reason: "filing-cancelled".into(),
        }),
        bundle_format::header::FORMAT_VERSION_4,
    );
}

/// A range ack that says when its bundle arrived (wire version 8) makes its return bundle
/// format version 11; a version 10 reader's content refuses it, and only a return bundle
/// holds it.
#[test]
fn an_arrival_ack_needs_format_version_11_and_only_a_return_bundle_holds_it() {
    let Record::Ack(ack) = &return_records()[0] else {
        panic!("the sample return records open with an ack")
    };
    needs_format_version_in_a_return_bundle(
        Record::ArrivalAck(bundle_format::records::ArrivalAck {
            ack: bundle_format::records::RangeAck::of_ack(ack),
            imported_at: 1_796_000_000,
        }),
        bundle_format::header::FORMAT_VERSION_11,
    );
}

fn register_entry() -> Record {
    Record::RegisterEntry(bundle_format::records::RegisterEntry {
        event: 7,
        filing_number: "京ICP备2026000001号".into(),
        subject_name: "北京示例科技有限公司".into(),
        subject_nature: "enterprise".into(),
        websites: vec![bundle_format::records::RegisterWebsite {
            website_number: "京ICP备2026000001号-1".into(),
            name: "示例商城".into(),
            domains: vec!["example.cn".into(), "www.example.cn".into()],
        }],
        approved_at: 1_796_000_000,
    })
}

/// A record of wire version 4 makes its return bundle format version 6 beside the older
/// records, which still read there; a reader refuses it in the content of version 5 or older
/// and in any bundle but a return bundle.
#[test]
fn register_records_need_format_version_6_and_only_a_return_bundle_holds_them() {
    let removal = Record::RegisterRemoval(bundle_format::records::RegisterRemoval {
        event: 8,
        filing_number: "京ICP备2026000001号".into(),
        removed_at: 1_796_000_100,
        reason: "filing-revoked".into(),
    });
    for record in [register_entry(), removal] {
        needs_format_version_in_a_return_bundle(record, bundle_format::header::FORMAT_VERSION_6);
    }
}

#[test]
fn a_register_entry_with_too_many_websites_is_refused_by_its_shape() {
    let Record::RegisterEntry(mut entry) = register_entry() else {
        unreachable!()
    };
    let website = entry.websites[0].clone();
    entry.websites = vec![website; bundle_format::records::MAX_WEBSITES + 1];
    let shape = Record::RegisterEntry(entry).check().unwrap_err();
    assert_eq!(shape.field, "register_entry.websites");
}

#[test]
fn an_encrypted_return_bundle_with_a_register_entry_is_format_version_6() {
    use bundle_format::encryption::Identity;
    use bundle_format::header::FORMAT_VERSION_6;

    let identity = Identity::generate();
    let records = vec![register_entry()];
    let signer = inner();
    let (files, _) = write_all_to(
        &signer,
        config(Kind::Return),
        &records,
        Some(&identity.to_public()),
    );
    let bundle = bundle_format::read_bundle_with(
        &files[0],
        &keyset(),
        &expect(Role::InnerReturn),
        &ReadLimits::default(),
        std::slice::from_ref(&identity),
    )
    .unwrap();
    assert!(bundle.header.encrypted);
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_6);
    assert_eq!(bundle.records, records);
}

#[test]
fn an_encrypted_bundle_reads_back_only_with_the_recipients_identity() {
    use bundle_format::encryption::Identity;
    use bundle_format::header::FORMAT_VERSION_5;

    let identity = Identity::generate();
    let records: Vec<Record> = (0..20).map(submission).collect();
    let signer = outer();
    let (mut files, _) = write_all_to(
        &signer,
        config(Kind::Submissions),
        &records,
        Some(&identity.to_public()),
    );
    let file = files.remove(0);
    let limits = ReadLimits::default();
    let with = |identities: &[Identity]| {
        bundle_format::read_bundle_with(
            &file,
            &keyset(),
            &expect(Role::OuterBundle),
            &limits,
            identities,
        )
    };

    let bundle = with(std::slice::from_ref(&identity)).unwrap();
    assert_eq!(bundle.records, records);
    assert!(bundle.header.encrypted);
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_5);
    let frame = bundle.opened_frame.as_deref().expect("the decrypted frame");
    assert_eq!(
        bundle_format::payload::decompress(
            frame,
            bundle.header.content_length,
            &bundle.header.content_sha256
        )
        .unwrap()
        .len() as u64,
        bundle.header.content_length
    );

    assert_eq!(
        read_bundle(&file, &keyset(), &expect(Role::OuterBundle), &limits)
            .unwrap_err()
            .code(),
        "encryption.no-identity"
    );
    assert_eq!(
        with(&[Identity::generate()]).unwrap_err().code(),
        "encryption.no-matching-identity"
    );

    // Clearing the flag (to make a reader take the ciphertext for a zstd frame) breaks the
    // signature, which covers the header.
    let mut tampered = file.clone();
    let message_start = file.len() - HEADER_V1_BYTES - bundle.header.payload_length as usize;
    tampered[message_start + 10] = 0;
    let err = bundle_format::read_bundle_with(
        &tampered,
        &keyset(),
        &expect(Role::OuterBundle),
        &limits,
        std::slice::from_ref(&identity),
    )
    .unwrap_err();
    assert_eq!(err.code(), "envelope.bad-signature");
}

#[test]
fn heartbeats_and_keysets_are_never_encrypted() {
    let identity = bundle_format::encryption::Identity::generate();
    let signer = outer();
    let sink = |_: &bundle_format::SealedBundle<'_>| Ok(());
    let err = BundleWriter::new(&signer, config(Kind::Heartbeat), sink)
        .unwrap()
        .encrypt_to(vec![identity.to_public()])
        .err()
        .unwrap();
    assert!(matches!(err, WriteError::Config { .. }), "{err}");
}

/// A receiver that owns the file reads it in the file's own buffer: the message it keeps is the
/// signed message for a plain bundle and the header with the decrypted frame for an encrypted
/// one (SPEC.md §4.5), the same records as the borrowing reader, and a refusal before the
/// payload hands the file back untouched.
#[test]
fn an_owned_file_becomes_the_message_it_carries() {
    use bundle_format::encryption::Identity;

    let identity = Identity::generate();
    let records: Vec<Record> = (0..40).map(submission).collect();
    let signer = outer();
    let limits = ReadLimits::default();
    for encrypted in [false, true] {
        let recipient = encrypted.then(|| identity.to_public());
        let file = write_one_to(
            &signer,
            config(Kind::Submissions),
            &records,
            recipient.as_ref(),
        );
        let borrowed = bundle_format::read_bundle_with(
            &file,
            &keyset(),
            &expect(Role::OuterBundle),
            &limits,
            std::slice::from_ref(&identity),
        )
        .unwrap();
        let signed_message = bundle_format::envelope::open(&file, usize::MAX)
            .unwrap()
            .message
            .to_vec();

        let signed = bundle_format::check_signed(
            file.clone(),
            &keyset(),
            &expect(Role::OuterBundle),
            &limits,
        )
        .unwrap();
        assert_eq!(signed.id(), borrowed.id);
        assert_eq!(*signed.header(), borrowed.header);
        let (owned, message) = signed
            .open(std::slice::from_ref(&identity), &mut |_| true)
            .unwrap();
        assert_eq!(owned.records, records);
        assert_eq!(owned.id, borrowed.id);
        assert_eq!(message, borrowed.opened_message(&signed_message));
        assert_eq!(message.len() == signed_message.len(), !encrypted);

        // A key the keyset does not list: refused before the payload, the file comes back.
        let (error, returned) = bundle_format::check_signed(
            file.clone(),
            &keyset(),
            &expect(Role::InnerReturn),
            &limits,
        )
        .unwrap_err();
        assert!(error.code().starts_with("envelope."), "{}", error.code());
        assert_eq!(returned, file);
    }
}

/// An encrypted file opened in place with a wrong identity, or none, is refused with the
/// reason the borrowing reader gives.
#[test]
fn an_owned_encrypted_file_without_its_identity_is_refused() {
    use bundle_format::encryption::Identity;

    let identity = Identity::generate();
    let file = write_one_to(
        &outer(),
        config(Kind::Submissions),
        &[submission(1)],
        Some(&identity.to_public()),
    );
    let open = |file: Vec<u8>, identities: &[Identity]| {
        bundle_format::check_signed(
            file,
            &keyset(),
            &expect(Role::OuterBundle),
            &ReadLimits::default(),
        )
        .unwrap()
        .open(identities, &mut |_| true)
        .map(drop)
        .unwrap_err()
        .code()
    };
    assert_eq!(
        open(file.clone(), &[Identity::generate()]),
        "encryption.no-matching-identity"
    );
    assert_eq!(open(file, &[]), "encryption.no-identity");
}
