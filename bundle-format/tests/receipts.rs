//! Return receipts (wire version 4, format version 6): where they may travel, how many, and what
//! an older reader or an out-of-range value gets.

mod common;

use bundle_format::header::{FORMAT_VERSION_1, FORMAT_VERSION_4, FORMAT_VERSION_6};
use bundle_format::payload::{decode_records_of_version, encode_record};
use bundle_format::records::{MAX_RETURN_RECEIPTS, Record, ReturnReceipt};
use bundle_format::{BundleWriter, Kind, WriteError};
use common::TestSigner;
use common::bundles::{config, content_of, read_from_outer as read, write_one};
use common::samples::submission;

fn outer() -> TestSigner {
    TestSigner::named("outer-bundle")
}

fn receipt(through: u64) -> Record {
    Record::ReturnReceipt(ReturnReceipt {
        channel: 100,
        epoch: 1,
        through,
    })
}

#[test]
fn a_heartbeat_with_a_receipt_is_version_6_and_one_without_stays_version_1() {
    let file = write_one(&outer(), config(Kind::Heartbeat), &[receipt(7)]);
    let bundle = read(&file);
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_6);
    assert_eq!(bundle.records, vec![receipt(7)]);

    let file = write_one(&outer(), config(Kind::Heartbeat), &[]);
    assert_eq!(read(&file).header.format_version, FORMAT_VERSION_1);
}

#[test]
fn a_receipt_follows_the_submissions_of_a_submissions_bundle() {
    let mut records: Vec<Record> = (0..3).map(submission).collect();
    records.push(receipt(2));
    let file = write_one(&outer(), config(Kind::Submissions), &records);
    let bundle = read(&file);
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_6);
    assert_eq!(bundle.records, records);
}

#[test]
fn a_receipt_in_a_bundle_older_than_version_6_is_refused() {
    let content = content_of(&[submission(0), receipt(1)]);
    let refused =
        decode_records_of_version(&content, Kind::Submissions, FORMAT_VERSION_4).unwrap_err();
    assert_eq!(
        refused.code(),
        "payload.record-newer-than-format",
        "{refused}"
    );
    // In a heartbeat of an older version nothing at all may stand, as before.
    let content = content_of(&[receipt(1)]);
    let refused =
        decode_records_of_version(&content, Kind::Heartbeat, FORMAT_VERSION_4).unwrap_err();
    assert_eq!(refused.code(), "payload.too-many-records", "{refused}");
}

#[test]
fn a_heartbeat_stuffed_with_receipts_is_refused_by_writer_and_reader() {
    let many: Vec<Record> = (0..=MAX_RETURN_RECEIPTS as u64).map(receipt).collect();
    let refused = decode_records_of_version(&content_of(&many), Kind::Heartbeat, FORMAT_VERSION_6)
        .unwrap_err();
    assert_eq!(refused.code(), "payload.too-many-records", "{refused}");

    let signer = outer();
    let mut writer = BundleWriter::new(
        &signer,
        config(Kind::Heartbeat),
        |_: &bundle_format::SealedBundle<'_>| Ok(()),
    )
    .unwrap();
    for record in &many[..MAX_RETURN_RECEIPTS] {
        writer.push(record).unwrap();
    }
    let refused = writer.push(&many[MAX_RETURN_RECEIPTS]).unwrap_err();
    assert!(
        matches!(refused, WriteError::TooManyRecords { .. }),
        "{refused}"
    );
}

#[test]
fn a_receipt_beyond_a_signed_64_bit_sequence_number_breaks_its_shape() {
    let record = Record::ReturnReceipt(ReturnReceipt {
        channel: 100,
        epoch: 1 << 63,
        through: 1,
    });
    let shape = record.check().unwrap_err();
    assert_eq!(shape.field, "return_receipt.epoch");
    let mut content = Vec::new();
    assert!(encode_record(&record, &mut content).is_err());
}

#[test]
fn a_receipt_may_not_travel_in_a_return_bundle() {
    let signer = TestSigner::named("inner-return");
    let mut writer = BundleWriter::new(
        &signer,
        config(Kind::Return),
        |_: &bundle_format::SealedBundle<'_>| Ok(()),
    )
    .unwrap();
    let refused = writer.push(&receipt(1)).unwrap_err();
    assert!(
        matches!(refused, WriteError::RecordNotAllowed { .. }),
        "{refused}"
    );
}
