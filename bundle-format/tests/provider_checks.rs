//! An access provider's check of a submission (wire version 7, format version 9): the writer
//! picks version 9 only for a bundle holding one, a bundle of an older version refuses it, only
//! submissions bundles carry it, and its reason's shape limit names the field.

mod common;

use bundle_format::Kind;
use bundle_format::header::{FORMAT_VERSION_1, FORMAT_VERSION_8, FORMAT_VERSION_9};
use bundle_format::payload::{PayloadError, decode_records_of_version, encode_record};
use bundle_format::records::{
    MAX_TEXT_BYTES, ProviderDecision, Record, Submission, SubmissionVersion,
};
use common::TestSigner;
use common::bundles::{carried_verbatim, config, read_from_outer, write_one};
use common::samples::submission;

fn outer() -> TestSigner {
    TestSigner::named("outer-bundle")
}

fn check(decision: ProviderDecision) -> Record {
    let Record::Submission(version) = submission(9) else {
        unreachable!()
    };
    let body = Submission::ProviderCheck {
        receipt: "R20261207-PROVIDER".to_owned(),
        version: 2,
        content_hash: [7; 32],
        decision,
    };
    Record::Submission(SubmissionVersion {
        content_hash: bundle_format::records::content_hash(&body),
        submitter: "provider_1".to_owned(),
        access_provider: Some("provider_1".to_owned()),
        body,
        ..version
    })
}

fn returned(reason: &str) -> ProviderDecision {
    ProviderDecision::Return {
        reason: reason.to_owned(),
    }
}

#[test]
fn a_bundle_with_a_provider_check_is_version_9_and_one_without_keeps_its_version() {
    let records = vec![
        submission(1),
        check(ProviderDecision::Confirm),
        check(returned("IP 203.0.113.9 is not ours")),
    ];
    let bundle = read_from_outer(&write_one(&outer(), config(Kind::Submissions), &records));
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_9);
    assert_eq!(bundle.records, records);

    let plain = vec![submission(1), submission(2)];
    let bundle = read_from_outer(&write_one(&outer(), config(Kind::Submissions), &plain));
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_1);
}

#[test]
fn a_stored_provider_check_carried_verbatim_makes_the_bundle_version_9() {
    let Record::Submission(version) = check(ProviderDecision::Confirm) else {
        unreachable!()
    };
    let (declared, bundle) = carried_verbatim(std::slice::from_ref(&version));
    assert_eq!(declared, [FORMAT_VERSION_9]);
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_9);
    assert_eq!(bundle.records, vec![Record::Submission(version)]);
}

#[test]
fn provider_check_in_a_version_8_bundle_or_a_return_bundle_is_refused() {
    let mut content = Vec::new();
    encode_record(&check(returned("not ours")), &mut content).unwrap();
    assert!(matches!(
        decode_records_of_version(&content, Kind::Submissions, FORMAT_VERSION_8),
        Err(PayloadError::RecordNewerThanFormat { index: 0, .. })
    ));
    assert!(decode_records_of_version(&content, Kind::Submissions, FORMAT_VERSION_9).is_ok());
    assert!(matches!(
        decode_records_of_version(&content, Kind::Return, FORMAT_VERSION_9),
        Err(PayloadError::RecordNotAllowed { .. })
    ));
}

#[test]
fn a_return_reason_over_the_text_limit_is_refused_naming_the_field() {
    let error = check(returned(&"x".repeat(MAX_TEXT_BYTES + 1)))
        .check()
        .unwrap_err();
    assert_eq!(
        error.field, "submission.body.provider_check.reason",
        "{error:?}"
    );
    assert!(check(ProviderDecision::Confirm).check().is_ok());
}
