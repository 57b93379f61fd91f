//! Approved records (wire version 6, format version 8): only a return bundle holds one, a
//! bundle holding one is version 8 (encrypted or not) and every other bundle keeps its old
//! version, an older version's reader refuses one, its shape has limits that name the field,
//! and a malformed one is refused with the reason before anything is allocated for it.

mod common;

use bundle_format::header::{FORMAT_VERSION_6, FORMAT_VERSION_7, FORMAT_VERSION_8};
use bundle_format::payload::{decode_records_of_version, encode_record};
use bundle_format::records::{
    ApprovedRecord, ApprovedState, ApprovedWebsite, MAX_DOMAINS_PER_WEBSITE, MAX_TEXT_BYTES,
    MAX_WEBSITES, Record, wire_config,
};
use bundle_format::{Expectation, Kind, ReadLimits, read_bundle};
use common::bundles::{
    CHANNEL, assert_only_return_bundles_hold, assert_refused_before_its_version,
    assert_return_record_needs_version, config, write_one,
};
use common::samples::filing;
use common::{KeyTable, NOW, TestSigner};
use keys::{ChannelId, Role};

fn inner() -> TestSigner {
    TestSigner::named("inner-return")
}

fn approved() -> ApprovedRecord {
    let filing = filing(1);
    ApprovedRecord {
        event: 7,
        filing_number: "京ICP备2026000001号".into(),
        origin_receipt: "R20261122-00000001".into(),
        filer: "xinghe_admin".into(),
        at: 1_796_000_000,
        state: ApprovedState::Approved {
            subject: filing.subject,
            websites: filing
                .websites
                .into_iter()
                .map(|website| ApprovedWebsite {
                    website_number: "京ICP备2026000001号-1".into(),
                    website,
                })
                .collect(),
        },
    }
}

fn record() -> Record {
    Record::ApprovedRecord(approved())
}

fn expect() -> (KeyTable, Expectation) {
    let keys = KeyTable::default().with(&inner(), Role::InnerReturn, Some(CHANNEL));
    let expect = Expectation {
        role: Role::InnerReturn,
        channel: ChannelId(CHANNEL),
        at: NOW,
    };
    (keys, expect)
}

#[test]
fn a_return_bundle_with_an_approved_record_is_version_8_encrypted_or_not_and_one_without_keeps_its_version()
 {
    assert_return_record_needs_version(record(), FORMAT_VERSION_8, "91110108MA01ABCD2X");
}

#[test]
fn an_approved_record_in_a_bundle_older_than_version_8_is_refused() {
    assert_refused_before_its_version(
        &record(),
        &[FORMAT_VERSION_6, FORMAT_VERSION_7],
        FORMAT_VERSION_8,
    );
}

#[test]
fn a_format_version_newer_than_the_reader_knows_is_refused_at_its_header_naming_it() {
    // What a build from before version 8 says of one: the header names the version it does
    // not read. Here the check runs against a version this build does not know either.
    let (keys, expect) = expect();
    let mut file = write_one(&inner(), config(Kind::Return), &[record()]);
    let bundle = read_bundle(&file, &keys, &expect, &ReadLimits::default()).unwrap();
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_8);
    // The header's version field is inside the signed message: raising it breaks the
    // signature, which the reader checks first (SPEC.md §8.1), so an older reader's refusal is
    // seen on the header parser itself.
    let message_at = file.iter().position(|&b| b == b'\n').unwrap() + 1;
    let message_at = message_at + file[message_at..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut message = file.split_off(message_at);
    let unknown = bundle_format::header::FORMAT_VERSIONS.last().unwrap() + 1;
    message[8..10].copy_from_slice(&unknown.to_le_bytes());
    let refused =
        bundle_format::header::Header::parse(&message, bundle_format::header::MAX_CONTENT_BYTES)
            .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains(&format!("unsupported format version {unknown}")),
        "{refused}"
    );
}

#[test]
fn an_approved_record_smuggled_into_a_submissions_bundle_or_heartbeat_is_refused() {
    assert_only_return_bundles_hold(&record(), FORMAT_VERSION_8);
}

fn shape_field(change: &dyn Fn(&mut ApprovedRecord)) -> String {
    let mut record = approved();
    change(&mut record);
    Record::ApprovedRecord(record).check().unwrap_err().field
}

fn first_website(record: &mut ApprovedRecord) -> &mut ApprovedWebsite {
    let ApprovedState::Approved { websites, .. } = &mut record.state else {
        unreachable!()
    };
    &mut websites[0]
}

#[test]
fn an_oversized_approved_record_breaks_its_shape_and_names_the_field() {
    assert_eq!(
        shape_field(&|r| r.filing_number = "号".repeat(MAX_TEXT_BYTES)),
        "approved_record.filing_number"
    );
    assert_eq!(
        shape_field(&|r| r.filer = "a".repeat(MAX_TEXT_BYTES + 1)),
        "approved_record.filer"
    );
    assert_eq!(
        shape_field(&|r| {
            let website = first_website(r).clone();
            let ApprovedState::Approved { websites, .. } = &mut r.state else {
                unreachable!()
            };
            websites.resize(MAX_WEBSITES + 1, website);
        }),
        "approved_record.state.approved.websites"
    );
    assert_eq!(
        shape_field(&|r| {
            let ApprovedState::Approved { websites, .. } = &mut r.state else {
                unreachable!()
            };
            websites.clear();
        }),
        "approved_record.state.approved.websites"
    );
    assert_eq!(
        shape_field(&|r| {
            first_website(r).website.domains =
                vec!["xinghe.cn".into(); MAX_DOMAINS_PER_WEBSITE + 1];
        }),
        "approved_record.state.approved.websites[0].website.domains"
    );
    assert_eq!(
        shape_field(&|r| {
            let ApprovedState::Approved { subject, .. } = &mut r.state else {
                unreachable!()
            };
            subject.principal.email = "e".repeat(MAX_TEXT_BYTES + 1);
        }),
        "approved_record.state.approved.subject.principal.email"
    );
    assert_eq!(
        shape_field(&|r| {
            r.state = ApprovedState::Withdrawn {
                reason: "r".repeat(MAX_TEXT_BYTES + 1),
            }
        }),
        "approved_record.state.withdrawn.reason"
    );
    // The writer checks the shape before it encodes, and a reader refuses it naming the field.
    let mut record = approved();
    first_website(&mut record).website.domains =
        vec!["xinghe.cn".into(); MAX_DOMAINS_PER_WEBSITE + 1];
    let record = Record::ApprovedRecord(record);
    assert!(encode_record(&record, &mut Vec::new()).is_err());
    let bytes = bincode::encode_to_vec(&record, wire_config()).unwrap();
    let refused =
        decode_records_of_version(&framed(&bytes), Kind::Return, FORMAT_VERSION_8).unwrap_err();
    assert_eq!(refused.code(), "payload.record-shape", "{refused}");
    assert!(
        refused
            .to_string()
            .contains("approved_record.state.approved.websites[0].website.domains"),
        "{refused}"
    );
}

/// `bytes` as the content of a bundle holding that one record (SPEC.md §5.1).
fn framed(bytes: &[u8]) -> Vec<u8> {
    let mut content = u32::try_from(bytes.len()).unwrap().to_le_bytes().to_vec();
    content.extend_from_slice(bytes);
    content
}

#[test]
fn a_malformed_approved_record_is_refused_before_anything_is_allocated_for_it() {
    let withdrawn = Record::ApprovedRecord(ApprovedRecord {
        state: ApprovedState::Withdrawn {
            reason: "filing-revoked".into(),
        },
        ..approved()
    });
    let bytes = bincode::encode_to_vec(&withdrawn, wire_config()).unwrap();
    // The reason's length prefix claims 2^62 bytes.
    let reason_at = bytes.len() - "filing-revoked".len() - 8;
    let mut huge = bytes[..reason_at].to_vec();
    huge.extend_from_slice(&(1u64 << 62).to_le_bytes());
    huge.extend_from_slice(b"filing-revoked");
    let refused =
        decode_records_of_version(&framed(&huge), Kind::Return, FORMAT_VERSION_8).unwrap_err();
    assert_eq!(refused.code(), "payload.record-decode", "{refused}");

    // A state the wire version does not define.
    let state_at = reason_at - 4;
    let mut unknown = bytes.clone();
    unknown[state_at..state_at + 4].copy_from_slice(&2u32.to_le_bytes());
    let refused =
        decode_records_of_version(&framed(&unknown), Kind::Return, FORMAT_VERSION_8).unwrap_err();
    assert_eq!(refused.code(), "payload.record-decode", "{refused}");

    // Cut short.
    let refused = decode_records_of_version(
        &framed(&bytes[..bytes.len() - 3]),
        Kind::Return,
        FORMAT_VERSION_8,
    )
    .unwrap_err();
    assert_eq!(refused.code(), "payload.record-decode", "{refused}");
}

#[test]
fn the_access_providers_are_those_of_the_websites_in_service_each_once() {
    let mut record = approved();
    let website = first_website(&mut record).clone();
    if let ApprovedState::Approved { websites, .. } = &mut record.state {
        websites.push(website.clone());
        let mut other = website;
        other.website.access.provider = "江南接入".into();
        websites.push(other);
    }
    assert_eq!(record.access_providers(), ["华北云接入", "江南接入"]);
    record.state = ApprovedState::Withdrawn {
        reason: "filing-cancelled".into(),
    };
    assert!(record.access_providers().is_empty());
}
